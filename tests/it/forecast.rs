//! The personal forecast's estimation core: lab histories are parsed with units and clear errors; the MAP estimate
//! of a patient's random effects predicts that patient's future counts better as their labs accumulate.

use lymphosim::forecast::{log_likelihood, map_estimate, parse_history, LabObservation, PatientData, ResidualModel};
use lymphosim::population::PatientCovariates;
use lymphosim::prelude::*;
use rand_distr::{Distribution, StandardNormal};

#[test]
fn a_history_states_its_units_and_bad_rows_name_line_and_column() {
    let h = parse_history("day,count,value,unit\n30,CD4,0.12,10^9/L\n10,alc,850,cells/uL\n\n").unwrap();
    assert_eq!(h.len(), 2);
    assert_eq!((h[0].day, h[0].count, h[0].cells_per_ul), (10.0, Count::Alc, 850.0));
    assert_eq!((h[1].count, h[1].cells_per_ul), (Count::Cd4, 120.0));
    for (text, line, column) in [
        ("", 0, "header"),
        ("day,count,value\n1,CD4,100\n", 1, "header"),
        ("day,count,value,unit\n1,IgG,100,cells/uL\n", 2, "count"),
        ("day,count,value,unit\n1,CD4,-5,cells/uL\n", 2, "value"),
        ("day,count,value,unit\n1,CD4,850000000,cells/uL\n", 2, "value"),
        ("day,count,value,unit\n1,CD4,100,cells/L\n", 2, "unit"),
        ("day,count,value,unit\n-1,CD4,100,cells/uL\n", 2, "day"),
        ("day,count,value,unit\nsoon,CD4,100,cells/uL\n", 2, "day"),
        ("day,count,value,unit\n1,CD4,100\n", 2, "row"),
    ] {
        let e = parse_history(text).expect_err(text);
        assert_eq!((e.line, e.column), (line, column), "{e} for {text:?}");
    }
}

/// Synthetic labs of a virtual patient: CD4 and ALC at `days`, with the residual model's log-normal noise.
fn labs_of(
    patient: &Patient,
    regimen: &Regimen,
    days: &[f64],
    residual: &ResidualModel,
    seed: u64,
) -> Vec<LabObservation> {
    let model = Model::new(patient.params.clone()).unwrap();
    let p = Problem::new(model.clone(), regimen, *days.last().unwrap())
        .unwrap()
        .with_observation_days(days.to_vec())
        .unwrap();
    let t = simulate(&p, &SimOptions::default()).unwrap();
    let mut rng = patient_rng(seed, patient.id);
    let mut out = Vec::new();
    for (d, y) in t.days.iter().zip(&t.states) {
        let o = model.observe(y);
        for (count, cv) in [(Count::Cd4, residual.cv[1]), (Count::Alc, residual.cv[0])] {
            let sd = (1.0 + cv * cv).ln().sqrt();
            let z: f64 = StandardNormal.sample(&mut rng);
            out.push(LabObservation {
                day: *d,
                count,
                cells_per_ul: count.of(&o) * (sd * z).exp(),
            });
        }
    }
    out
}

/// CD4 of `patient` on `day` under `regimen`.
fn cd4_on(patient: &Patient, regimen: &Regimen, day: f64) -> f64 {
    let model = Model::new(patient.params.clone()).unwrap();
    let p = Problem::new(model.clone(), regimen, day).unwrap();
    let t = simulate(&p, &SimOptions::default()).unwrap();
    model.observe(t.states.last().unwrap()).cd4
}

/// Virtual patients drawn from the population get noisy CD4 and ALC labs after alemtuzumab; their CD4 two years
/// on is predicted from the MAP with no labs (the typical patient of their covariates), with the first two
/// visits, and with all five. The error of the prediction (log scale, averaged over patients) falls as the labs
/// accumulate. With no labs the MAP is exactly the typical patient.
#[test]
fn the_map_predicts_a_patient_better_as_labs_accumulate() {
    let pop = PopulationModel::shipped();
    let regimen = presets::alemtuzumab_label();
    let residual = ResidualModel::default();
    let visits = [30.0, 91.0, 183.0, 274.0, 365.0];
    let mut err = [0.0; 3];
    let n = 6;
    for i in 0..n {
        let truth = pop.sample(i, &mut patient_rng(77, i));
        let cov = truth.covariates();
        let labs = labs_of(&truth, &regimen, &visits, &residual, 78);
        let future = cd4_on(&truth, &regimen, 730.0).ln();
        for (k, used) in [0usize, 4, 10].into_iter().enumerate() {
            let data = PatientData {
                population: &pop,
                covariates: &cov,
                regimen: &regimen,
                labs: &labs[..used],
                residual: &residual,
            };
            let m = map_estimate(&data, 3000).unwrap();
            if used == 0 {
                assert!(m.z.iter().all(|z| *z == 0.0) && m.evaluations == 0);
            } else {
                // The estimate fits the labs at least as well as the typical patient does.
                let typical = pop.patient(0, &cov, &[0.0; PopulationModel::RANDOM_EFFECTS]);
                let ll0 = log_likelihood(&typical, &regimen, &labs[..used], &residual, &SimOptions::default()).unwrap();
                assert!(
                    m.objective <= -ll0 + 1e-9,
                    "MAP objective {} vs typical {}",
                    m.objective,
                    -ll0
                );
            }
            err[k] += (cd4_on(&m.patient, &regimen, 730.0).ln() - future).abs() / n as f64;
        }
    }
    eprintln!("mean |log error| of CD4 at day 730 with 0, 2 and 5 visits: {err:?}");
    assert!(
        err[2] < err[0],
        "mean |log error| of CD4 at day 730: {err:?} (no labs, 2 visits, 5 visits)"
    );
    assert!(err[1] < err[0], "{err:?}");
}

/// The posterior by sampling importance resampling from the Laplace proposal: after five visits the CD4
/// two years on is far less uncertain than under the prior, the effective sample size is reported and sane, and
/// the truth falls inside the posterior's 90 % predictive interval for most patients (a small-sample check; the
/// coverage study belongs to the full forecast).
#[test]
fn the_posterior_narrows_the_prediction_and_covers_the_truth() {
    use lymphosim::forecast::{posterior_draws, prior_draws};
    let pop = PopulationModel::shipped();
    let regimen = presets::alemtuzumab_label();
    let residual = ResidualModel::default();
    let visits = [30.0, 91.0, 183.0, 274.0, 365.0];
    let quantiles = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        let q = |p: f64| v[((p * (v.len() - 1) as f64).round()) as usize];
        (q(0.05), q(0.95))
    };
    let (mut covered, mut narrower) = (0u64, 0u64);
    let n = 6u64;
    for i in 0..n {
        let truth = pop.sample(i, &mut patient_rng(91, i));
        let cov = truth.covariates();
        let labs = labs_of(&truth, &regimen, &visits, &residual, 92);
        let data = PatientData {
            population: &pop,
            covariates: &cov,
            regimen: &regimen,
            labs: &labs,
            residual: &residual,
        };
        let map = map_estimate(&data, 3000).unwrap();
        let post = posterior_draws(&data, &map, 400, 100, &mut patient_rng(93, i)).unwrap();
        assert_eq!(post.z.len(), 100);
        assert!(post.ess >= 1.0 && post.ess <= 400.0, "ESS {}", post.ess);
        let cd4 = |z: &[f64]| cd4_on(&pop.patient(0, &cov, z), &regimen, 730.0);
        let (lo, hi) = quantiles(post.z.iter().map(|z| cd4(z)).collect());
        let prior: Vec<f64> = prior_draws(100, &mut patient_rng(94, i))
            .iter()
            .map(|z| cd4(z))
            .collect();
        let (plo, phi) = quantiles(prior);
        let t = cd4_on(&truth, &regimen, 730.0);
        eprintln!(
            "patient {i}: ESS {:.0}, CD4 day 730 truth {t:.0}, posterior 90 % {lo:.0}-{hi:.0}, prior {plo:.0}-{phi:.0}",
            post.ess
        );
        covered += u64::from(lo <= t && t <= hi);
        narrower += u64::from((hi / lo).ln() < 0.5 * (phi / plo).ln());
    }
    assert!(covered >= n - 2, "truth inside the 90 % interval for {covered} of {n}");
    assert_eq!(
        narrower, n,
        "the posterior interval was not narrower than half the prior's for every patient"
    );
}

/// The start-date table: a patient's risks after cladribine planned on each candidate day, under their posterior
/// and under the prior, each a proportion of the draws; starting soon after alemtuzumab puts CD4 below 200 at
/// least as often as starting two years later. `earliest_meeting` reads the table from the last failing day.
#[test]
fn the_start_date_table_gives_a_patients_risks_by_start_day() {
    use lymphosim::forecast::{earliest_meeting, posterior_draws, prior_draws, start_date_table, StartDateRow};
    let pop = PopulationModel::shipped();
    let regimen = presets::alemtuzumab_label();
    let residual = ResidualModel::default();
    let truth = pop.sample(3, &mut patient_rng(95, 3));
    let cov = PatientCovariates {
        weight_kg: truth.weight_kg.max(45.0),
        ..truth.covariates()
    };
    let labs = labs_of(&truth, &regimen, &[30.0, 183.0, 365.0, 400.0, 500.0], &residual, 96);
    let data = PatientData {
        population: &pop,
        covariates: &cov,
        regimen: &regimen,
        labs: &labs,
        residual: &residual,
    };
    let map = map_estimate(&data, 3000).unwrap();
    let post = posterior_draws(&data, &map, 300, 40, &mut patient_rng(97, 3)).unwrap();
    let prior = prior_draws(40, &mut patient_rng(98, 3));
    let days = [560.0, 730.0, 1095.0, 1460.0];
    let table = start_date_table(&data, &post.z, &prior, &days, 730.0).unwrap();
    assert_eq!(table.len(), days.len());
    for r in &table {
        eprintln!(
            "start day {}: P(G>=3) {:?} (prior {:?}), P(CD4<200) {:?} (prior {:?})",
            r.start_day, r.p_grade_ge3, r.prior_p_grade_ge3, r.p_cd4_below_200, r.prior_p_cd4_below_200
        );
    }
    for r in &table {
        for p in [
            r.p_grade_ge3,
            r.p_cd4_below_200,
            r.prior_p_grade_ge3,
            r.prior_p_cd4_below_200,
        ] {
            let p = p.expect("every draw reaches the start");
            assert!((0.0..=1.0).contains(&p) && (p * 40.0).fract() == 0.0, "{r:?}");
        }
    }
    assert!(table[0].p_cd4_below_200 >= table[3].p_cd4_below_200, "{table:?}");
    assert!(start_date_table(&data, &post.z, &prior, &[-1.0], 730.0).is_err());
    let row = |d: f64, p: f64| StartDateRow {
        start_day: d,
        p_grade_ge3: Some(p),
        p_cd4_below_200: None,
        prior_p_grade_ge3: Some(0.5),
        prior_p_cd4_below_200: None,
    };
    let t = [
        row(1.0, 0.2),
        row(2.0, 0.05),
        row(3.0, 0.2),
        row(4.0, 0.05),
        row(5.0, 0.01),
    ];
    assert_eq!(earliest_meeting(&t, 0.1, false), Some(4.0));
    assert_eq!(earliest_meeting(&t, 0.1, true), None);
    assert_eq!(earliest_meeting(&t, 0.9, true), Some(1.0));
}
