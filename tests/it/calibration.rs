//! Calibration: a deterministic loss, a reproducible fit, the report.

use lymphosim::calibration::fit::{calibrate, contribution, evaluate, parse_weight, FitParam, LossSpec};
use lymphosim::calibration::{targets, EMBEDDED_TARGETS};
use lymphosim::cohort::summary::ArmSummary;
use lymphosim::population::paramset::ParamSet;

fn spec(patients: u64) -> LossSpec {
    LossSpec {
        loss: Default::default(),
        targets: targets::parse(EMBEDDED_TARGETS).unwrap(),
        patients,
        seed: 11,
        sim: Default::default(),
        weights: Vec::new(),
    }
}

/// The `inside` loss adds exactly one unit per target outside its tolerance to the squared loss.
#[test]
fn the_inside_loss_counts_each_miss_once_more() {
    use lymphosim::calibration::fit::LossKind;
    let s = spec(0);
    let (squared, rows) = evaluate(&s, &ParamSet::default()).unwrap();
    let (inside, _) = evaluate(
        &LossSpec {
            loss: LossKind::Inside,
            ..s
        },
        &ParamSet::default(),
    )
    .unwrap();
    let misses = rows.iter().filter(|r| r.within == Some(false)).count();
    assert!(misses > 0, "the first guesses miss some targets");
    assert!(
        (inside - squared - misses as f64).abs() < 1e-9 * inside,
        "{inside} vs {squared} + {misses}"
    );
    assert!("nope".parse::<LossKind>().is_err());
}

#[test]
fn a_weight_multiplies_its_target_contribution_and_bad_weights_are_named() {
    let s = spec(0);
    let (base, rows) = evaluate(&s, &ParamSet::default()).unwrap();
    // The target with the largest contribution under the first guesses.
    let worst = rows
        .iter()
        .max_by(|a, b| contribution(a).total_cmp(&contribution(b)))
        .unwrap();
    let c = contribution(worst);
    assert!(c > 0.0);
    let weighted = LossSpec {
        weights: vec![(worst.target.id.clone(), 3.0)],
        ..spec(0)
    };
    let (w, _) = evaluate(&weighted, &ParamSet::default()).unwrap();
    assert!((w - (base + 2.0 * c)).abs() < 1e-9 * base, "{w} vs {base} + 2 * {c}");

    let unknown = LossSpec {
        weights: vec![("Z99".into(), 2.0)],
        ..spec(0)
    };
    let e = evaluate(&unknown, &ParamSet::default()).unwrap_err().to_string();
    assert!(e.contains("Z99"), "{e}");
    let negative = LossSpec {
        weights: vec![("C16".into(), -1.0)],
        ..spec(0)
    };
    let e = evaluate(&negative, &ParamSet::default()).unwrap_err().to_string();
    assert!(e.contains("C16") && e.contains("-1"), "{e}");
    assert!(parse_weight("C16").unwrap_err().to_string().contains("C16"));
    assert_eq!(parse_weight(" C16 = 4 ").unwrap(), ("C16".to_string(), 4.0));
}

#[test]
fn the_loss_is_deterministic_for_a_fixed_seed() {
    let s = spec(60);
    let (a, rows) = evaluate(&s, &ParamSet::default()).unwrap();
    let (b, _) = evaluate(&s, &ParamSet::default()).unwrap();
    assert_eq!(a.to_bits(), b.to_bits());
    assert!(a > 0.0);
    // Cohort targets were evaluated, not skipped.
    assert!(rows.iter().any(|r| r.target.id == "C18" && r.model.is_some()));
    // A different seed gives a different cohort, so (almost surely) a different loss.
    let (c, _) = evaluate(&LossSpec { seed: 12, ..s }, &ParamSet::default()).unwrap();
    assert_ne!(a.to_bits(), c.to_bits());
}

#[test]
fn a_fit_lowers_the_loss_and_is_reproducible() {
    let s = spec(0);
    let fit = vec![
        FitParam::parse("clad_kd_per_day").unwrap(),
        FitParam::parse("floor_memory_cd4").unwrap(),
    ];
    let a = calibrate(&s, &ParamSet::default(), &fit, 40, 1).unwrap();
    let b = calibrate(&s, &ParamSet::default(), &fit, 40, 1).unwrap();
    assert!(a.loss_final < a.loss_initial, "{} -> {}", a.loss_initial, a.loss_final);
    assert_eq!(a.set, b.set);
    assert_eq!(a.sensitivity.len(), 2);
    // A refit never carries the start set's posterior: it belonged to another fit.
    assert!(ParamSet::shipped().uncertainty.is_some());
    let refit = calibrate(&s, &ParamSet::shipped(), &fit[..1], 2, 0).unwrap();
    assert_eq!(refit.set.uncertainty, None);
    assert!(FitParam::parse("no_such").is_err());
    assert!(FitParam::parse("variability.no_such").is_err());
    assert!(FitParam::parse("variability.clad_sensitivity_cv").is_ok());
}

#[test]
fn the_shipped_set_is_valid_and_records_its_provenance() {
    let s = ParamSet::shipped();
    lymphosim::model::Model::new(s.typical.clone()).unwrap();
    assert!(
        !s.provenance.fitted.is_empty(),
        "the shipped set must say what was fitted"
    );
    assert!(s.provenance.loss_final <= s.provenance.loss_initial);
}

/// `set` against every target, with 2000-patient cohorts at its fit's seed (what `lymphosim calibration-report
/// --cohort` shows). Fails if a known miss starts passing (update the list and docs/calibration.md) or if any
/// other target starts missing.
fn meets_all_targets_but(set: &ParamSet, known_misses: &[(&str, &str)]) -> (usize, usize) {
    let s = LossSpec {
        patients: 2000,
        seed: set.provenance.seed,
        ..spec(0)
    };
    let (_, rows) = evaluate(&s, set).unwrap();
    for r in &rows {
        let known = known_misses.iter().find(|(id, _)| *id == r.target.id);
        match (r.within, known) {
            (Some(false), None) => panic!(
                "{} ({}) now misses: model {:?} vs {} {}",
                r.target.id, set.model, r.model, r.target.value, r.target.tolerance
            ),
            (Some(true), Some((_, why))) => panic!(
                "{} ({}) now passes (known miss: {why}); update the known misses and docs/calibration.md",
                r.target.id, set.model
            ),
            (None, _) => panic!("{} was not evaluated: {}", r.target.id, r.note),
            _ => {}
        }
    }
    let met = rows.iter().filter(|r| r.within == Some(true)).count();
    assert_eq!(met + known_misses.len(), rows.len());
    (met, rows.len())
}

/// The shipped set (model v3, fitted to all 62 shared rows) meets all but two; each miss is listed with its reason.
#[test]
fn the_shipped_v3_set_meets_all_targets_but_the_known_misses() {
    const KNOWN_MISSES: [(&str, &str); 2] = [
        ("C17", "CD8 year-1 nadir at week 12.6, before the published week 16-24 window: CD4 and CD8 share one damage signal"),
        ("C20", "too many patients still at grade 0 six weeks after the first course (0.555 vs 0.459 +- 0.08): the early grade spread after one course is narrower than in the EMA cohort"),
    ];
    let set = ParamSet::shipped();
    assert_eq!(set.model, "v3");
    let (met, all) = meets_all_targets_but(&set, &KNOWN_MISSES);
    assert_eq!(all, 62, "the embedded table has the 62 shared rows");
    assert!(met >= 60, "{met} of {all}");
}

/// The calibrated v2 set (the default until v3; fitted to the original 44 rows, evaluated on all 62, the CLARITY
/// cohort under the trial's protocol): its misses are v2's structure's.
#[test]
fn the_calibrated_v2_set_meets_all_targets_but_its_known_misses() {
    const KNOWN_MISSES: [(&str, &str); 9] = [
        ("A16", "too many patients still below the LLN a year after alemtuzumab: first-year T-cell regrowth after alemtuzumab too slow (v2 changes only the cladribine side)"),
        ("C17", "CD8 year-1 nadir before the published week 16-24 window: CD4 and CD8 share one damage signal"),
        ("C25", "memory CD4 falls 32 % instead of 54 %: the kill split spares memory CD4 (v3 fits it)"),
        ("C26", "memory CD4 falls 31 % instead of 63 % at week 23: the same sparing"),
        ("C27", "the memory share of CD4 rises 1.5-fold instead of staying flat: naive CD4 is killed, memory spared"),
        ("C30", "NK back to baseline by week 23 (2 % residual vs 29 %): NK output does not depend on the marrow (v3 ties it)"),
        ("C31", "NK fully back by week 47 (0 % vs 23 % residual): the same NK kinetics"),
        ("A25", "between-patient CD4 SD a month after alemtuzumab too wide (71 vs 40 cells/uL): the spread of the depletion floor is not fitted"),
        ("A27", "between-patient CD8 SD at month 12 too narrow (111 vs 160): heterogeneous CD8 recovery is not in v2"),
    ];
    let set = ParamSet::shipped_v2();
    assert_eq!(set.model, "v2");
    let (met, all) = meets_all_targets_but(&set, &KNOWN_MISSES);
    // The bar set for the original 44 rows (A1-A21, C1-C23) still holds on them.
    let original_misses = KNOWN_MISSES.iter().filter(|(id, _)| is_original(id)).count();
    assert!(
        10 * (44 - original_misses) >= 9 * 44,
        "the v2 set must meet at least 90 % of the original 44 targets"
    );
    assert!(met >= 53, "{met} of {all}");
}

/// Whether a target id belongs to the original 44-row table (A1-A21, C1-C23).
fn is_original(id: &str) -> bool {
    let n: u32 = id[1..].parse().unwrap_or(u32::MAX);
    (id.starts_with('A') && n <= 21) || (id.starts_with('C') && n <= 23)
}

/// The calibrated v1 set, kept beside v2: its misses are the v1 structure's.
#[test]
fn the_calibrated_v1_set_meets_all_targets_but_its_known_misses() {
    const KNOWN_MISSES: [(&str, &str); 13] = [
        ("A16", "too many patients still below the LLN a year after alemtuzumab: T-cell regrowth in the first year too slow"),
        ("C4", "ALC back to 1000 too early after cladribine: T-cell recovery too fast (v1 structure)"),
        ("C7", "CD4 back to 350 too early after cladribine: the same v1 weakness"),
        ("C16", "CD4 year-1 nadir a few days after the published week 13-16 window"),
        ("C17", "CD8 year-1 nadir before the published week 16-24 window"),
        ("C25", "memory CD4 spared by the kill split"),
        ("C26", "memory CD4 spared by the kill split"),
        ("C27", "the memory share of CD4 rises instead of staying flat"),
        ("C30", "NK back to baseline too soon"),
        ("C31", "NK back to baseline too soon"),
        ("C33", "class-switched memory B back too far by month 12 (v1 marrow recovery)"),
        ("A25", "between-patient CD4 SD after alemtuzumab too wide"),
        ("A27", "between-patient CD8 SD at month 12 too narrow"),
    ];
    let set = ParamSet::shipped_v1();
    assert_eq!(set.model, "v1");
    meets_all_targets_but(&set, &KNOWN_MISSES);
}

/// `set` on the validation table with 2000-patient cohorts at the report's seed; fails if a known miss starts
/// passing or a met row starts missing — never to make the model look better — and if the rows off by more than a
/// factor of two are not exactly `far`.
fn validation_misses_are(set: &ParamSet, known_misses: &[(&str, &str)], far: &[&str]) {
    use lymphosim::calibration::EMBEDDED_VALIDATION;
    let s = LossSpec {
        targets: targets::parse(EMBEDDED_VALIDATION).unwrap(),
        patients: 2000,
        seed: 20261124,
        ..spec(0)
    };
    let (_, rows) = evaluate(&s, set).unwrap();
    for r in &rows {
        let known = known_misses.iter().find(|(id, _)| *id == r.target.id);
        match (r.within, known) {
            (Some(false), None) => panic!("{} ({}) now misses: model {:?}", r.target.id, set.model, r.model),
            (Some(true), Some((_, why))) => panic!(
                "{} ({}) now passes (known miss: {why}); update the list and docs",
                r.target.id, set.model
            ),
            (None, _) => panic!("{} was not evaluated: {}", r.target.id, r.note),
            _ => {}
        }
    }
    assert_eq!(rows.len(), 12);
    // Cossburn's means (V7-V9) are read at the trials' quarterly visits, and say what they would be read
    // continuously.
    for r in rows
        .iter()
        .filter(|r| ["V7", "V8", "V9"].contains(&r.target.id.as_str()))
    {
        assert!(
            r.note.contains("quarterly visit") && r.note.contains("read continuously"),
            "{}: {}",
            r.target.id,
            r.note
        );
    }
    let off: Vec<&str> = rows
        .iter()
        .filter(|r| r.fold_off().is_some_and(|f| f > 2.0))
        .map(|r| r.target.id.as_str())
        .collect();
    assert_eq!(off, far, "rows off by more than 2x ({})", set.model);
    // The factor is undefined, not small, where a figure has no single positive value.
    for r in &rows {
        if r.target.id == "V10" || r.target.id == "V12" {
            assert_eq!(r.fold_off(), None, "{}", r.target.id);
        }
    }
}

/// The validation table is reported apart from the calibration table and never fitted: its rows (figures from
/// other cohorts, long follow-up and real-world use) are evaluated with cohorts, and each miss is pinned with its
/// reason, for the shipped v3 set and for v2 before it. No id of the validation table appears in the calibration
/// table.
#[test]
fn the_validation_table_is_kept_apart_and_its_misses_are_explained() {
    use lymphosim::calibration::EMBEDDED_VALIDATION;
    let validation = targets::parse(EMBEDDED_VALIDATION).unwrap();
    let calibration = targets::parse(EMBEDDED_TARGETS).unwrap();
    assert!(validation.iter().all(|v| calibration.iter().all(|c| c.id != v.id)));
    validation_misses_are(
        &ParamSet::shipped(),
        &[
            ("V1", "ALC back at the LLN after one course in 6.2 months (geometric mean) vs 12.7: this progressive-MS series recovered about twice as slowly as the model, which is fitted to the label regimen's trial cohorts (its dose may also differ)"),
            ("V2", "B cells back at the LLN in 2.4 months vs 7.1: the same series; the calibration rows (A17, A24) want B cells back early"),
            ("V3", "CD8 back at the LLN in 7.5 months vs 20"),
            ("V4", "CD4 back at the LLN in 19 months vs 35"),
            ("V10", "real-world grades a month after alemtuzumab: grade 2 in 4.9 % vs 13.5 % (largest deviation 0.086 vs 0.08)"),
        ],
        &["V1", "V2", "V3"],
    );
    validation_misses_are(
        &ParamSet::shipped_v2(),
        &[
            ("V1", "ALC back at the LLN after one course in 6.9 months (geometric mean) vs 12.7: within 2x"),
            ("V2", "B cells back at the LLN in 2.4 months vs 7.1"),
            ("V3", "CD8 back at the LLN in 11 months vs 20"),
            ("V4", "CD4 back at the LLN in 24 months vs 35"),
            ("V5", "no patient regains baseline CD8 within 10 years (30 % published): T cells approach their own baseline only asymptotically in v2"),
            ("V6", "no patient regains baseline CD4 within 10 years (21 % published): the same"),
        ],
        &["V2", "V5", "V6"],
    );
}

/// Morris screening: a quantity that cannot act on the cohort (alemtuzumab clearance when only cladribine is
/// given) has no effect at all — the cohorts share their patients — while cladribine's potency has a large one.
#[test]
fn screening_finds_what_the_answer_depends_on_and_not_what_it_does_not() {
    use lymphosim::calibration::screening::{morris, ScreeningSpec};
    let spec = ScreeningSpec {
        params: ["alem_clearance_l_per_day", "clad_zref"]
            .iter()
            .map(|n| FitParam::parse(n).unwrap())
            .collect(),
        range: 2.0,
        trajectories: 3,
        regimen: lymphosim::cohort::ArmRegimen::Preset {
            name: "cladribine-label".into(),
            interval_months: 0.0,
        },
        patients: 60,
        seed: 7,
        horizon_years: 3.0,
    };
    let e = morris(&spec, &ParamSet::shipped()).unwrap();
    assert_eq!(e[0].mu_star, [0.0; 3], "{:?}", e[0]);
    assert!(e[1].mu_star[0] > 0.05 && e[1].mu_star[2] > 10.0, "{:?}", e[1]);
    let bad = ScreeningSpec {
        range: 0.5,
        ..spec.clone()
    };
    assert!(morris(&bad, &ParamSet::shipped())
        .unwrap_err()
        .to_string()
        .contains("range"));
    // A fraction whose doubled value would pass 1 (the niche share, 0.67 in the shipped set) is screened up to its
    // bound, not rejected mid-design (the default screen of every fitted quantity failed on it once).
    let bounded = ScreeningSpec {
        params: vec![FitParam::parse("memory_niche_share").unwrap()],
        trajectories: 4,
        ..spec.clone()
    };
    let e = morris(&bounded, &ParamSet::shipped()).unwrap();
    assert!(e[0].mu_star.iter().all(|m| m.is_finite()), "{:?}", e[0]);
}

/// The Laplace posterior: a quantity no target depends on keeps exactly its prior spread (the thymus's decline with
/// age does nothing to the typical patient, who is 35, the age it is counted from); one the CD4 targets depend on
/// strongly is pinned well below it.
#[test]
fn identifiability_separates_what_the_data_pin_from_what_they_do_not() {
    use lymphosim::calibration::uncertainty::{laplace, sample_sets, CurvatureSpec};
    let set = ParamSet::shipped();
    let fit = vec![
        FitParam::parse("clad_kill_n4").unwrap(),
        FitParam::parse("thymic_decline_per_year").unwrap(),
    ];
    let spec = CurvatureSpec {
        loss: spec(0),
        step: 0.1,
        prior_factor: 2.0,
    };
    let r = laplace(&spec, &set, &fit, &|| {}).unwrap();
    assert_eq!(r.evaluations, 1 + 4 + 4);
    let (kill, rate) = (&r.rows[0], &r.rows[1]);
    assert!((rate.sd_ratio - 1.0).abs() < 1e-9, "{rate:?}");
    assert!(kill.sd_ratio < 0.5, "{kill:?}");
    assert!(
        kill.partner.as_ref().unwrap().1.abs() < 1e-9,
        "independent quantities do not trade off"
    );
    // The posterior can be stored in the set and sampled from.
    let mut with = set.clone();
    with.uncertainty = Some(r.uncertainty);
    let back = ParamSet::from_toml(&with.to_toml()).unwrap();
    assert_eq!(back.uncertainty, with.uncertainty);
    assert_eq!(sample_sets(&back, 5, 1).unwrap().len(), 5);
}

/// The sampled posterior, on the typical-patient targets (fast): the quantity no target depends on keeps its prior
/// spread, the one the CD4 targets depend on is narrower; the draws are stored in the set, survive a round trip
/// through TOML, and `run --uncertainty N` takes N distinct draws of them, never more than stored.
#[test]
fn the_posterior_sampler_stores_draws_that_uncertainty_runs_use() {
    use lymphosim::calibration::posterior::{metropolis, SamplerSpec};
    use lymphosim::calibration::uncertainty::{laplace, sample_sets, CurvatureSpec};
    let set = ParamSet::shipped();
    let fit = vec![
        FitParam::parse("clad_kill_n4").unwrap(),
        FitParam::parse("thymic_decline_per_year").unwrap(),
    ];
    let curvature = CurvatureSpec {
        loss: spec(0),
        step: 0.1,
        prior_factor: 2.0,
    };
    let mut start = set.clone();
    start.uncertainty = Some(laplace(&curvature, &set, &fit, &|| {}).unwrap().uncertainty);
    let sampler = SamplerSpec {
        loss: spec(0),
        prior_factor: 2.0,
        chains: 2,
        burn_in: 100,
        steps: 400,
        keep: 50,
        seed: 9,
    };
    let r = metropolis(&sampler, &start, &|| {}).unwrap();
    assert_eq!(r.evaluations, 2 * (1 + 100 + 400));
    let (kill, rate) = (&r.rows[0], &r.rows[1]);
    // Prior SD of the log: ln 2 = 0.69; the free quantity's sample SD is near it, the pinned one's well below.
    assert!((rate.log_sd / 2f64.ln() - 1.0).abs() < 0.35, "{rate:?}");
    assert!(kill.log_sd < 0.5 * rate.log_sd, "{kill:?} vs {rate:?}");
    assert!(kill.range.0 < kill.median && kill.median < kill.range.1);
    // The trace holds every kept step of every chain; its values are the ones the table summarises.
    assert_eq!(r.trace.len(), 2 * 400);
    assert!(r
        .trace
        .iter()
        .all(|t| t.log_posterior.is_finite() && t.values.len() == 2));
    assert_eq!((r.trace[400].chain, r.trace[400].step), (1, 0));
    let mut kills: Vec<f64> = r.trace.iter().map(|t| t.values[0]).collect();
    kills.sort_by(f64::total_cmp);
    assert!(kills[0] <= kill.range.0 && kill.range.1 <= kills[kills.len() - 1]);
    assert!(kills[399] <= kill.median * (1.0 + 1e-9) && kill.median <= kills[400] * (1.0 + 1e-9));
    let u = r.uncertainty.clone();
    assert_eq!(u.draws.len(), 50);
    assert_eq!(
        metropolis(&sampler, &start, &|| {}).unwrap().uncertainty,
        u,
        "reproducible"
    );
    let mut with = set.clone();
    with.uncertainty = Some(u.clone());
    let back = ParamSet::from_toml(&with.to_toml()).unwrap();
    assert_eq!(back.uncertainty, with.uncertainty);
    let sets = sample_sets(&back, 50, 1).unwrap();
    // Every stored draw once: the drawn sets' clad_kill_n4 are the draws' values, in some order.
    let mut got: Vec<f64> = sets
        .iter()
        .map(|s| (s.typical.clad_kill_n4 / set.typical.clad_kill_n4).ln())
        .collect();
    let mut want: Vec<f64> = u.draws.iter().map(|d| d[0]).collect();
    got.sort_by(f64::total_cmp);
    want.sort_by(f64::total_cmp);
    assert!(got.iter().zip(&want).all(|(a, b)| (a - b).abs() < 1e-9));
    assert_eq!(sample_sets(&back, 7, 3).unwrap(), sample_sets(&back, 7, 3).unwrap());
    let e = sample_sets(&back, 51, 1).unwrap_err().to_string();
    assert!(e.contains("50 posterior draws"), "{e}");
    // A stored draw of the wrong length is refused when the set is read, naming the field.
    let broken = with.to_toml().replacen("draws = [[", "draws = [[0.1, ", 1);
    let e = ParamSet::from_toml(&broken).unwrap_err().to_string();
    assert!(e.contains("uncertainty.draws"), "{e}");
}

/// The what-if set `data/params-v3-stress-slow-cd4.toml` makes CD4 regrow after alemtuzumab as slowly as validation
/// rows V4 and V9 say (it was fitted to them, so they test nothing here). Pinned: it meets V4, which the shipped
/// set misses, at the costs `docs/calibration.md` states (calibration rows A16 and C27, validation row V6); and on
/// the same patients the switch question's answer moves the way the docs say — less CD4 at the switch, more
/// patients below 200 after cladribine at every interval on the grid, and a wider grade ≥ 3 gap to cladribine
/// alone from 12 months on.
#[test]
fn the_slow_cd4_stress_set_trades_what_the_docs_say() {
    let stress = ParamSet::from_toml(include_str!("../../data/params-v3-stress-slow-cd4.toml")).unwrap();
    assert_eq!(stress.uncertainty, None, "a what-if set carries no posterior");
    meets_all_targets_but(
        &stress,
        &[
            (
                "A16",
                "ALC below the LLN a year after the label's first course: 0.30 vs 0.20 +- 0.10",
            ),
            (
                "C17",
                "CD8 year-1 nadir before the published window (as the shipped set)",
            ),
            ("C20", "grade spread after one cladribine course (as the shipped set)"),
            ("C27", "memory share of CD4 under cladribine falls below the tolerance"),
        ],
    );
    validation_misses_are(
        &stress,
        &[
            ("V1", "ALC back at the LLN after one course in 6.6 months vs 12.7"),
            ("V2", "B cells back at the LLN in 2.4 months vs 7.1"),
            ("V3", "CD8 back at the LLN in 7.1 months vs 20"),
            (
                "V6",
                "only 3.5 % back at baseline CD4 within ten years (21 % published): slow regrowth for all",
            ),
        ],
        &["V2", "V3", "V6"],
    );
    let answer = |set: &ParamSet| {
        let text = lymphosim::scenario::PRESETS[0].2;
        let mut s = lymphosim::scenario::parse_with(text, set).unwrap();
        s.spec.patients = 1000;
        let r = lymphosim::cohort::run_cohort(&s.spec, lymphosim::cohort::Shard::ALL, false, &|_| {});
        let names: Vec<String> = s.spec.outcomes.recoveries.iter().map(|r| r.label()).collect();
        r.arms
            .iter()
            .map(|a| lymphosim::cohort::summary::ArmSummary::from_accumulator(a, &names))
            .collect::<Vec<_>>()
    };
    let (shipped, slow) = (answer(&ParamSet::shipped()), answer(&stress));
    // The last arm is the reference, cladribine alone.
    let reference = shipped.len() - 1;
    let gap = |a: &[ArmSummary], i: usize| a[i].p_grade_ge3.value - a[reference].p_grade_ge3.value;
    for i in 0..reference {
        let cd4 = |a: &ArmSummary| a.at_reference[1].1.p50.unwrap();
        assert!(cd4(&slow[i]) < cd4(&shipped[i]), "{}", shipped[i].name);
        assert!(
            slow[i].p_cd4_below_200.value > shipped[i].p_cd4_below_200.value + 0.02,
            "{}: {} vs {}",
            shipped[i].name,
            slow[i].p_cd4_below_200.value,
            shipped[i].p_cd4_below_200.value
        );
        if shipped[i].name.contains("interval_months=6") || shipped[i].name.contains("interval_months=9") {
            continue;
        }
        assert!(gap(&slow, i) > gap(&shipped, i), "{}", shipped[i].name);
    }
}
