//! `lymphosim forecast`: one patient from their own labs (in progress: no figure and no bands yet).

use anyhow::{bail, Context};
use lymphosim::forecast::{
    earliest_meeting, map_estimate, parse_history, posterior_draws, prior_draws, start_date_table, PatientData,
    ResidualModel,
};
use lymphosim::output::write_atomic;
use lymphosim::population::rng::patient_rng;
use lymphosim::population::{PatientCovariates, PopulationModel};
use lymphosim::regimen::presets::{self, PresetOptions};
use lymphosim::units::DAYS_PER_MONTH;

use super::ForecastArgs;

pub(super) fn forecast(a: &ForecastArgs) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&a.history).with_context(|| format!("reading {}", a.history.display()))?;
    let labs = parse_history(&text).with_context(|| format!("in {}", a.history.display()))?;
    for (name, v, lo, hi) in [
        ("--age", a.age, 1.0, 110.0),
        ("--weight", a.weight, 20.0, 250.0),
        ("--crcl", a.crcl, 5.0, 300.0),
        ("--bound", a.bound, 0.0, 1.0),
    ] {
        if !(v.is_finite() && (lo..=hi).contains(&v)) {
            bail!("{name}: must be between {lo} and {hi}, got {v}");
        }
    }
    if !(10..=5000).contains(&a.draws) {
        bail!("--draws: must be between 10 and 5000, got {}", a.draws);
    }
    if !(1..=120).contains(&a.months) {
        bail!("--months: must be between 1 and 120, got {}", a.months);
    }
    let set = super::load_params(a.params.as_deref())?;
    let population: PopulationModel = set.population(Default::default())?;
    let regimen = presets::build(
        &a.preset,
        &PresetOptions {
            weight_kg: a.weight,
            ..PresetOptions::default()
        },
    )?;
    let covariates = PatientCovariates {
        age_years: a.age,
        weight_kg: a.weight,
        crcl_ml_min: a.crcl,
        neutralising_antibodies: false,
    };
    let residual = ResidualModel::default();
    let data = PatientData {
        population: &population,
        covariates: &covariates,
        regimen: &regimen,
        labs: &labs,
        residual: &residual,
    };
    let map = map_estimate(&data, 4000)?;
    // Separate streams for the posterior's proposals and the prior's draws.
    let post = if labs.is_empty() {
        None
    } else {
        Some(posterior_draws(
            &data,
            &map,
            4 * a.draws,
            a.draws,
            &mut patient_rng(a.seed, 0),
        )?)
    };
    let prior = prior_draws(a.draws, &mut patient_rng(a.seed, 1));
    let from = labs.last().map_or(0.0, |o| o.day);
    let days: Vec<f64> = (0..=a.months)
        .map(|m| (from + m as f64 * DAYS_PER_MONTH).round())
        .collect();
    // With no labs the posterior is the prior.
    let draws = post.as_ref().map_or(&prior, |p| &p.z);
    let ess = post.as_ref().map(|p| p.ess);
    let table = start_date_table(&data, draws, &prior, &days, 730.0)?;
    let earliest = earliest_meeting(&table, a.bound, false);
    let earliest_prior = earliest_meeting(&table, a.bound, true);
    println!(
        "lymphosim forecast (in progress): {} labs to day {from:.0}; MAP after {} evaluations{}",
        labs.len(),
        map.evaluations,
        ess.map_or(String::new(), |e| format!(
            "; posterior: {} draws, effective sample size {e:.0} of {}",
            a.draws,
            4 * a.draws
        ))
    );
    println!(
        "{:>10} {:>22} {:>22}",
        "start day", "P(G>=3) you [prior]", "P(CD4<200) you [prior]"
    );
    let show = |p: Option<f64>| p.map_or("-".to_string(), |x| format!("{:.0}%", 100.0 * x));
    for r in &table {
        println!(
            "{:>10.0} {:>22} {:>22}",
            r.start_day,
            format!("{} [{}]", show(r.p_grade_ge3), show(r.prior_p_grade_ge3)),
            format!("{} [{}]", show(r.p_cd4_below_200), show(r.prior_p_cd4_below_200))
        );
    }
    let day = |d: Option<f64>| d.map_or("none in the window".to_string(), |x| format!("day {x:.0}"));
    println!(
        "earliest start with P(G>=3) <= {:.0}% from then on: {} (the population's answer for these covariates: {})",
        100.0 * a.bound,
        day(earliest),
        day(earliest_prior)
    );
    let json = serde_json::json!({
        "status": "in progress: the posterior sampler's effective sample size is low; no bands or figure yet",
        "labs": labs.len(),
        "map_z": map.z,
        "map_objective": map.objective,
        "effective_sample_size": ess,
        "draws": a.draws,
        "bound_p_grade_ge3": a.bound,
        "earliest_start_day": earliest,
        "earliest_start_day_prior": earliest_prior,
        "table": table.iter().map(|r| serde_json::json!({
            "start_day": r.start_day,
            "p_grade_ge3": r.p_grade_ge3,
            "p_cd4_below_200": r.p_cd4_below_200,
            "prior_p_grade_ge3": r.prior_p_grade_ge3,
            "prior_p_cd4_below_200": r.prior_p_cd4_below_200,
        })).collect::<Vec<_>>(),
    });
    if let Some(dir) = a.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("--out {}: cannot create its folder", a.out.display()))?;
    }
    write_atomic(&a.out, serde_json::to_string_pretty(&json)?.as_bytes())?;
    println!("wrote {}", a.out.display());
    Ok(())
}
