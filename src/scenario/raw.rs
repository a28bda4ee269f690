//! The scenario file as written: serde structs mirroring the TOML, every field optional where the file may leave
//! it out. Nothing here is validated; `validate` turns it into a study, with defaults from the domain types.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::regimen::{Drug, OnFail};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawScenario {
    pub(super) name: String,
    pub(super) patients: Option<u64>,
    pub(super) seed: Option<u64>,
    pub(super) horizon_years: Option<f64>,
    pub(super) horizon_days: Option<f64>,
    pub(super) band_step_days: Option<f64>,
    #[serde(default)]
    pub(super) method: RawMethod,
    #[serde(default)]
    pub(super) outcomes: RawOutcomes,
    #[serde(default)]
    pub(super) rules: RawRules,
    #[serde(default)]
    pub(super) population: RawPopulation,
    pub(super) arms: Vec<RawArm>,
    pub(super) sweep: Option<RawSweep>,
    pub(super) bound: Option<RawBound>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMethod {
    pub(super) name: Option<String>,
    pub(super) pk: Option<String>,
    pub(super) rtol: Option<f64>,
    pub(super) atol: Option<f64>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawOutcomes {
    pub(super) lln: Option<f64>,
    pub(super) reference: Option<toml::Value>,
    pub(super) recoveries: Option<Vec<String>>,
    pub(super) visit_days: Option<Vec<f64>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRules {
    pub(super) label: Option<bool>,
    /// `"label"` (the default) or `"clarity"` (the CLARITY trial's own protocol).
    pub(super) protocol: Option<String>,
    pub(super) year1_max_wait_months: Option<f64>,
    pub(super) year2_min_alc: Option<f64>,
    pub(super) year2_max_delay_months: Option<f64>,
    pub(super) visit_every_months: Option<f64>,
    pub(super) noise_cv: Option<f64>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPopulation {
    #[serde(default)]
    pub(super) parameters: BTreeMap<String, f64>,
    #[serde(default)]
    pub(super) covariates: BTreeMap<String, f64>,
    #[serde(default)]
    pub(super) variability: BTreeMap<String, f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawArm {
    pub(super) name: String,
    pub(super) preset: Option<String>,
    pub(super) interval_months: Option<f64>,
    pub(super) rules: Option<bool>,
    pub(super) courses: Option<Vec<RawCourse>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCourse {
    pub(super) name: Option<String>,
    pub(super) drug: Drug,
    pub(super) at_day: Option<f64>,
    pub(super) after_previous_start_days: Option<f64>,
    pub(super) after_previous_end_days: Option<f64>,
    pub(super) after_previous_end_months: Option<f64>,
    /// Oral: daily doses in mg.
    pub(super) doses_mg: Option<Vec<f64>>,
    /// Infusions: mg per day, number of days, hours per infusion.
    pub(super) daily_mg: Option<f64>,
    pub(super) days: Option<u32>,
    pub(super) infusion_hours: Option<f64>,
    pub(super) gate: Option<RawGate>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawGate {
    pub(super) observable: String,
    pub(super) min: f64,
    /// A held course resumes only at this count (cells/µL; default `min`).
    pub(super) resume: Option<f64>,
    pub(super) recheck_months: Option<f64>,
    pub(super) max_delay_months: f64,
    pub(super) on_fail: Option<OnFail>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSweep {
    pub(super) parameter: String,
    pub(super) values: Vec<f64>,
    /// The reference arm's preset (default for interval sweeps: `cladribine-label`; `"none"` for none).
    pub(super) reference: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawBound {
    pub(super) endpoint: String,
    pub(super) max: Option<f64>,
    pub(super) max_above_reference: Option<f64>,
}
