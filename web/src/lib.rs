//! The teaching page's bridge to lymphosim: two calls, JSON in and JSON out.
//!
//! [`typical`] simulates the typical patient exactly as `lymphosim patient` does (the same parameter set, preset
//! regimen and outcome engine), so the page and the command line give the same numbers. [`cohort`] runs a small
//! cohort with the library's cohort engine under the label's lymphocyte rules, as `lymphosim run` does. The
//! mechanism knobs scale three parameters of the population's typical patient before anything runs. No model
//! logic lives here: this file only reads the page's inputs, calls the library and shapes its answers.

use lymphosim::cohort::Cohort;
use lymphosim::model::{Count, GradeScale, Model};
use lymphosim::outcome::{OutcomeConfig, PatientOutcome};
use lymphosim::population::paramset::ParamSet;
use lymphosim::regimen::presets::{self, PresetOptions};
use lymphosim::regimen::LabelRules;
use lymphosim::simulate::{simulate, Problem, SimOptions};
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;

/// What the page's controls set. Every field is checked; a bad one is an error naming it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Inputs {
    /// `alemtuzumab-label`, `cladribine-label` or `sequence` (see `lymphosim presets`).
    pub regimen: String,
    /// For `sequence`: months from the last alemtuzumab infusion to the first cladribine dose.
    pub interval_months: f64,
    /// Body weight (kg): sets the cladribine dose of the typical patient.
    pub weight_kg: f64,
    /// Age (years) of the typical patient: sets thymic output.
    pub age_years: f64,
    /// Multiplier of thymic output (`thymic_fraction`), 1 = the shipped value.
    pub thymic_output: f64,
    /// Multiplier of lymphopenia-induced proliferation of memory T cells (`kappa_memory`), 1 = shipped.
    pub lip_strength: f64,
    /// Multiplier of the lymphopenia signal's boost of B-cell production (`feedback_gain`), 1 = shipped.
    pub b_overshoot: f64,
    /// Simulated years (1 to 10).
    pub years: f64,
    /// Cohort size (10 to 2000); ignored by [`typical`].
    #[serde(default = "default_patients")]
    pub patients: u64,
    /// Cohort seed; ignored by [`typical`].
    #[serde(default = "default_seed")]
    pub seed: u64,
}

fn default_patients() -> u64 {
    300
}

fn default_seed() -> u64 {
    1
}

/// The defaults of the page: the typical patient of the shipped set, the sequence at 12 months.
impl Default for Inputs {
    fn default() -> Self {
        Inputs {
            regimen: "sequence".into(),
            interval_months: 12.0,
            weight_kg: 70.0,
            age_years: ParamSet::shipped().typical.age_years,
            thymic_output: 1.0,
            lip_strength: 1.0,
            b_overshoot: 1.0,
            years: 10.0,
            patients: default_patients(),
            seed: default_seed(),
        }
    }
}

fn check(name: &str, v: f64, lo: f64, hi: f64) -> Result<(), String> {
    if v.is_finite() && (lo..=hi).contains(&v) {
        Ok(())
    } else {
        Err(format!("{name}: must be between {lo} and {hi}, got {v}"))
    }
}

impl Inputs {
    /// Checks every field.
    pub fn validate(&self) -> Result<(), String> {
        if !["alemtuzumab-label", "cladribine-label", "sequence"].contains(&self.regimen.as_str()) {
            return Err(format!(
                "regimen: must be alemtuzumab-label, cladribine-label or sequence, got {:?}",
                self.regimen
            ));
        }
        check("interval_months", self.interval_months, 0.0, 60.0)?;
        check("weight_kg", self.weight_kg, 40.0, 150.0)?;
        check("age_years", self.age_years, 18.0, 80.0)?;
        check("thymic_output", self.thymic_output, 0.0, 5.0)?;
        check("lip_strength", self.lip_strength, 0.0, 5.0)?;
        check("b_overshoot", self.b_overshoot, 0.0, 5.0)?;
        check("years", self.years, 1.0, 10.0)?;
        if !(10..=2000).contains(&self.patients) {
            return Err(format!("patients: must be between 10 and 2000, got {}", self.patients));
        }
        Ok(())
    }

    /// The shipped parameter set with the knobs applied.
    fn params(&self) -> ParamSet {
        let mut set = ParamSet::shipped();
        set.typical.thymic_fraction = (set.typical.thymic_fraction * self.thymic_output).min(1.0);
        set.typical.kappa_memory *= self.lip_strength;
        set.typical.feedback_gain *= self.b_overshoot;
        set
    }

    fn preset(&self, weight_kg: f64) -> Result<lymphosim::regimen::Regimen, String> {
        presets::build(
            &self.regimen,
            &PresetOptions {
                weight_kg,
                interval_months: self.interval_months,
            },
        )
        .map_err(|e| e.to_string())
    }

    fn horizon_days(&self) -> f64 {
        (self.years * lymphosim::units::DAYS_PER_YEAR).round()
    }
}

/// A nadir: the lowest value and its day.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct NadirOut {
    /// cells/µL.
    pub value: f64,
    /// Days from the first dose.
    pub day: f64,
}

/// The typical patient's run.
#[derive(Debug, Clone, Serialize)]
pub struct TypicalOut {
    /// Observation days (daily).
    pub days: Vec<f64>,
    /// Counts by day (cells/µL).
    pub alc: Vec<f64>,
    /// CD4 T cells.
    pub cd4: Vec<f64>,
    /// CD8 T cells.
    pub cd8: Vec<f64>,
    /// B cells.
    pub cd19: Vec<f64>,
    /// NK cells.
    pub nk: Vec<f64>,
    /// Dose days and drugs.
    pub doses: Vec<(f64, String)>,
    /// Nadirs over the whole run, by count (ALC, CD4, CD8, CD19, NK).
    pub nadir: Vec<(String, NadirOut)>,
    /// Worst CTCAE grade over the run.
    pub worst_grade: u8,
    /// Time with CD4 < 200 cells/µL (days, fractional).
    pub days_cd4_below_200: f64,
    /// ALC lower limit of normal (cells/µL), for the grade bands.
    pub lln: f64,
    /// For the sequence: the same from the first cladribine dose on (`None` for one drug).
    pub after_switch: Option<AfterSwitch>,
}

/// What happens from the switch to the second drug on.
#[derive(Debug, Clone, Serialize)]
pub struct AfterSwitch {
    /// Day of the first dose of the second drug.
    pub day: f64,
    /// CD4 nadir from that day on.
    pub cd4_nadir: NadirOut,
    /// ALC nadir from that day on.
    pub alc_nadir: NadirOut,
    /// Worst CTCAE grade from that day on.
    pub worst_grade: u8,
}

/// Simulates the typical patient (see the crate documentation).
pub fn run_typical(inputs: &Inputs) -> Result<TypicalOut, String> {
    inputs.validate()?;
    let mut set = inputs.params();
    set.typical.age_years = inputs.age_years;
    let model = Model::new(set.typical).map_err(|e| e.to_string())?;
    let regimen = inputs.preset(inputs.weight_kg)?;
    let problem = Problem::new(model.clone(), &regimen, inputs.horizon_days()).map_err(|e| e.to_string())?;
    let traj = simulate(&problem, &SimOptions::default()).map_err(|e| e.to_string())?;
    let scale = GradeScale::default();
    let outcome = PatientOutcome::from_trajectory(&model, &traj, &OutcomeConfig::whole_run(scale), problem.regimen());
    let w = outcome.window.ok_or("no observation was made")?;
    let after_switch = if inputs.regimen == "sequence" {
        let cfg = OutcomeConfig {
            reference: lymphosim::outcome::Reference::Switch,
            ..OutcomeConfig::whole_run(scale)
        };
        PatientOutcome::from_trajectory(&model, &traj, &cfg, problem.regimen())
            .window
            .map(|s| {
                let n = |c: Count| NadirOut {
                    value: s.nadir(c).value,
                    day: s.nadir(c).day,
                };
                AfterSwitch {
                    day: s.reference_day,
                    cd4_nadir: n(Count::Cd4),
                    alc_nadir: n(Count::Alc),
                    worst_grade: s.worst_grade.value(),
                }
            })
    } else {
        None
    };
    let obs = traj.observables(&model);
    Ok(TypicalOut {
        days: traj.days.clone(),
        alc: obs.iter().map(|o| o.alc).collect(),
        cd4: obs.iter().map(|o| o.cd4).collect(),
        cd8: obs.iter().map(|o| o.cd8).collect(),
        cd19: obs.iter().map(|o| o.cd19).collect(),
        nk: obs.iter().map(|o| o.nk).collect(),
        doses: traj
            .run
            .administrations
            .iter()
            .map(|a| (a.day, a.drug.to_string()))
            .collect(),
        nadir: Count::ALL
            .iter()
            .map(|c| {
                let n = w.nadir(*c);
                (
                    c.name().to_string(),
                    NadirOut {
                        value: n.value,
                        day: n.day,
                    },
                )
            })
            .collect(),
        worst_grade: w.worst_grade.value(),
        days_cd4_below_200: w.days_cd4_below_200,
        lln: scale.lln(),
        after_switch,
    })
}

/// A risk with its Wilson 95 % interval; `None` (JSON `null`) when no patient was analysed.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct RiskOut {
    /// The proportion.
    pub value: Option<f64>,
    /// Its 95 % interval.
    pub ci95: Option<[f64; 2]>,
}

/// A small cohort's answer.
#[derive(Debug, Clone, Serialize)]
pub struct CohortOut {
    /// Patients simulated, analysed (reference day reached), excluded by the regimen, failed.
    pub patients: u64,
    /// See [`CohortOut::patients`].
    pub analysed: u64,
    /// See [`CohortOut::patients`].
    pub excluded: u64,
    /// See [`CohortOut::patients`].
    pub failed: u64,
    /// P(worst grade ≥ 3) from the switch (from the first dose for one drug).
    pub p_grade_ge3: RiskOut,
    /// P(CD4 < 200 on at least one day) from the same day.
    pub p_cd4_below_200: RiskOut,
    /// Band days.
    pub days: Vec<f64>,
    /// ALC quantiles 5, 25, 50, 75, 95 % per band day (`null` where none can be computed).
    pub alc: Vec<[Option<f64>; 5]>,
    /// CD4 quantiles, as ALC.
    pub cd4: Vec<[Option<f64>; 5]>,
}

const QUANTILES: [f64; 5] = [0.05, 0.25, 0.5, 0.75, 0.95];

/// Runs the small cohort (see the crate documentation): the population of the shipped set with the knobs
/// applied, each patient with their own weight (which sets their cladribine dose) and age.
pub fn run_cohort(inputs: &Inputs) -> Result<CohortOut, String> {
    inputs.validate()?;
    let population = inputs
        .params()
        .population(Default::default())
        .map_err(|e| e.to_string())?;
    let name = inputs.regimen.clone();
    let i2 = inputs.clone();
    let run = Cohort::new(population)
        .arm(name, move |p: &lymphosim::population::Patient| {
            presets::build(
                &i2.regimen,
                &PresetOptions {
                    weight_kg: p.weight_kg,
                    interval_months: i2.interval_months,
                },
            )
        })
        .label_rules(LabelRules::default())
        .patients(inputs.patients)
        .horizon_years(inputs.years)
        .band_step_days(14.0)
        .seed(inputs.seed)
        .run()
        .map_err(|e| e.to_string())?;
    let s = &run.summary()[0];
    let acc = &run.result.arms[0];
    let risk = |p: &lymphosim::cohort::summary::Proportion| RiskOut {
        value: p.value.is_finite().then_some(p.value),
        ci95: p.ci95.iter().all(|x| x.is_finite()).then_some(p.ci95),
    };
    let q = |subset: usize| -> Vec<[Option<f64>; 5]> {
        acc.bands
            .iter()
            .map(|hs| QUANTILES.map(|p| hs[subset].quantile(p)))
            .collect()
    };
    Ok(CohortOut {
        patients: s.patients,
        analysed: s.analysed,
        excluded: s.excluded,
        failed: s.failed,
        p_grade_ge3: risk(&s.p_grade_ge3),
        p_cd4_below_200: risk(&s.p_cd4_below_200),
        days: acc.band_days.clone(),
        alc: q(0),
        cd4: q(1),
    })
}

fn js<T: Serialize>(r: Result<T, String>) -> Result<String, JsError> {
    r.and_then(|v| serde_json::to_string(&v).map_err(|e| e.to_string()))
        .map_err(|e| JsError::new(&e))
}

fn parse(json: &str) -> Result<Inputs, String> {
    serde_json::from_str(json).map_err(|e| format!("inputs: {e}"))
}

/// The page's defaults as JSON.
#[wasm_bindgen]
pub fn defaults() -> Result<String, JsError> {
    let i = Inputs::default();
    js(Ok(serde_json::json!({
        "regimen": i.regimen,
        "interval_months": i.interval_months,
        "weight_kg": i.weight_kg,
        "age_years": i.age_years,
        "thymic_output": i.thymic_output,
        "lip_strength": i.lip_strength,
        "b_overshoot": i.b_overshoot,
        "years": i.years,
        "patients": i.patients,
        "seed": i.seed,
    })))
}

/// The typical patient: [`Inputs`] as JSON in, [`TypicalOut`] as JSON out; an error names the bad field.
#[wasm_bindgen]
pub fn typical(inputs_json: &str) -> Result<String, JsError> {
    js(parse(inputs_json).and_then(|i| run_typical(&i)))
}

/// A small cohort: [`Inputs`] as JSON in, [`CohortOut`] as JSON out.
#[wasm_bindgen]
pub fn cohort(inputs_json: &str) -> Result<String, JsError> {
    js(parse(inputs_json).and_then(|i| run_cohort(&i)))
}

/// The library's version.
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate_and_bad_fields_are_named() {
        Inputs::default().validate().unwrap();
        let bad = Inputs {
            lip_strength: -1.0,
            ..Inputs::default()
        };
        assert!(bad.validate().unwrap_err().starts_with("lip_strength"));
        assert!(parse(r#"{"regimen":"sequence","nonsense":1}"#)
            .unwrap_err()
            .contains("nonsense"));
    }

    #[test]
    fn the_typical_patient_has_a_cd4_nadir_and_the_cohort_a_risk() {
        let t = run_typical(&Inputs::default()).unwrap();
        assert_eq!(t.days.len(), t.cd4.len());
        assert!(t.nadir[1].1.value > 0.0 && t.nadir[1].1.value < 851.0);
        let c = run_cohort(&Inputs {
            patients: 20,
            ..Inputs::default()
        })
        .unwrap();
        assert_eq!(c.patients + c.excluded + c.failed, 20);
        assert!(c.p_grade_ge3.value.is_some());
    }
}
