//! For whom? One patient's own counts after alemtuzumab, and what they say about starting cladribine.
//!
//! Run: `cargo run --release --example forecast_one_patient`
//!
//! The seed's story: a patient with highly active relapsing MS, still active after two alemtuzumab courses, for
//! whom cladribine tablets are considered. The counts below are **synthetic** (made up for this example, not the
//! case report's): ALC and CD4 at four visits over the 18 months after the first course.
//!
//! What to look at: the population's answer for a patient of this age and weight (the prior), the patient's own
//! answer once their counts are taken into account (the posterior), and how far apart they are. This patient's CD4
//! stays low (150 and 135 cells/µL a year and a half out), so their risk after cladribine is higher than the
//! population's, and — unlike the average patient's — it does not fall with waiting. Read the numbers as the model's
//! statement about a synthetic history, not as advice (docs/forecast.md says what the forecast can and cannot do).

use lymphosim::forecast::{
    earliest_meeting, forecast, parse_history, ForecastOptions, PatientData, ResidualModel, Risk,
};
use lymphosim::population::PatientCovariates;
use lymphosim::prelude::*;

const HISTORY: &str = include_str!("data/history-after-alemtuzumab.csv");

fn main() -> lymphosim::Result<()> {
    let labs = parse_history(HISTORY).map_err(|e| lymphosim::Error::invalid("history", "", e.to_string()))?;
    let population = PopulationModel::shipped();
    let covariates = PatientCovariates {
        age_years: 38.0,
        weight_kg: 68.0,
        crcl_ml_min: 100.0,
        neutralising_antibodies: false,
    };
    let regimen = presets::alemtuzumab_label();
    let residual = ResidualModel::default();
    let data = PatientData {
        population: &population,
        covariates: &covariates,
        regimen: &regimen,
        labs: &labs,
        residual: &residual,
    };

    // The whole chain in one call: the patient's most probable random effects given their counts (the
    // population is the prior), draws from their posterior and from the prior, and the risks after cladribine
    // planned 0, 6, 12 and 24 months after the last visit (day 550), under the label's rules.
    let f = forecast(
        &data,
        &ForecastOptions {
            start_days: vec![550.0, 733.0, 915.0, 1280.0],
            seed: 1,
            ..ForecastOptions::default()
        },
    )?;
    let (table, posterior) = (&f.table, f.posterior.as_ref().expect("the history has labs"));

    println!("synthetic patient, 38 years, 68 kg, two alemtuzumab courses; counts on days 30, 183, 365 and 550");
    println!(
        "posterior: {} draws (effective sample size {:.0} of {} proposals)\n",
        posterior.z.len(),
        posterior.ess,
        posterior.proposals
    );
    println!(
        "{:>22} {:>24} {:>24}",
        "cladribine from", "P(grade >= 3): patient", "P(CD4 < 200): patient"
    );
    for r in table {
        let pct = |p: Option<f64>| p.map_or("-".into(), |x| format!("{:.0}%", 100.0 * x));
        println!(
            "{:>22} {:>24} {:>24}",
            format!("day {:.0}", r.start_day),
            format!("{} (population {})", pct(r.p_grade_ge3), pct(r.prior_p_grade_ge3)),
            format!(
                "{} (population {})",
                pct(r.p_cd4_below_200),
                pct(r.prior_p_cd4_below_200)
            ),
        );
    }
    let show = |d: Option<f64>| d.map_or("none of these days".to_string(), |x| format!("day {x:.0}"));
    println!(
        "\nearliest start keeping P(grade >= 3) at or below 30 %: {} for this patient, {} for the population",
        show(earliest_meeting(table, Risk::GradeGe3, 0.30, false)),
        show(earliest_meeting(table, Risk::GradeGe3, 0.30, true))
    );
    Ok(())
}
