//! [`Cohort`]: a cohort study built in code.
//!
//! ```
//! use lymphosim::prelude::*;
//!
//! # fn main() -> lymphosim::Result<()> {
//! let run = Cohort::new(PopulationModel::shipped())
//!     .arm("cladribine", |p: &Patient| presets::cladribine_label(p.weight_kg))
//!     .label_rules(LabelRules::default())
//!     .patients(40)
//!     .horizon_years(3.0)
//!     .seed(7)
//!     .run()?;
//! let arm = &run.summary()[0];
//! println!("P(grade >= 3) = {:.3} over {} patients", arm.p_grade_ge3.value, arm.analysed);
//! # Ok(())
//! # }
//! ```
//!
//! Everything but the arms has a default: 1000 patients, seed 1, ten years, bands every 7 days, outcomes
//! counted from the switch ([`OutcomeConfig::default`]), the default integrator, exact lab counts, the current
//! rayon pool.

use std::sync::Arc;

use super::summary::ArmSummary;
use super::{run_cohort, Arm, ArmRegimen, CohortResult, CohortSpec, Shard};
use crate::error::{Error, Result};
use crate::outcome::OutcomeConfig;
use crate::population::{Patient, PopulationModel};
use crate::regimen::{LabelRules, Regimen, RegimenError};
use crate::simulate::{SimOptions, MAX_HORIZON_DAYS, MAX_LAB_NOISE_CV};
use crate::units::DAYS_PER_YEAR;

/// Most patients one run accepts (per shard): 10⁹.
pub const MAX_PATIENTS: u64 = 1_000_000_000;
/// Most worker threads one run accepts.
pub const MAX_THREADS: usize = 1024;

/// Something an arm can be made from: a [`Regimen`] (the same for everyone), an [`ArmRegimen`], or a function
/// from the sampled patient to its regimen.
pub trait IntoArmRegimen {
    /// The arm's regimen.
    fn into_arm_regimen(self) -> ArmRegimen;
}

impl IntoArmRegimen for Regimen {
    fn into_arm_regimen(self) -> ArmRegimen {
        ArmRegimen::Fixed(self)
    }
}

impl IntoArmRegimen for ArmRegimen {
    fn into_arm_regimen(self) -> ArmRegimen {
        self
    }
}

impl<F> IntoArmRegimen for F
where
    F: Fn(&Patient) -> Result<Regimen, RegimenError> + Send + Sync + 'static,
{
    fn into_arm_regimen(self) -> ArmRegimen {
        ArmRegimen::PerPatient(Arc::new(self))
    }
}

/// A cohort study under construction: population, arms and settings; [`Cohort::run`] simulates it.
pub struct Cohort {
    spec: CohortSpec,
    threads: Option<usize>,
    per_patient: bool,
    shard: Shard,
    progress: Option<Box<dyn Fn(u64) + Sync>>,
}

impl Cohort {
    /// A study of `population` with every default and no arm yet.
    pub fn new(population: PopulationModel) -> Self {
        Cohort {
            spec: CohortSpec {
                arms: Vec::new(),
                population,
                patients: 1000,
                seed: 1,
                horizon_days: 10.0 * DAYS_PER_YEAR,
                band_step_days: 7.0,
                outcomes: OutcomeConfig::default(),
                sim: SimOptions::default(),
                noise_cv: 0.0,
            },
            threads: None,
            per_patient: false,
            shard: Shard::ALL,
            progress: None,
        }
    }

    /// A study from a complete specification (what a scenario file translates into).
    pub fn from_spec(spec: CohortSpec) -> Self {
        Cohort {
            spec,
            ..Cohort::new(PopulationModel::reference_v1())
        }
    }

    /// Adds an arm: a name (unique in the study) and a regimen, or a function making each patient's regimen.
    pub fn arm(mut self, name: impl Into<String>, regimen: impl IntoArmRegimen) -> Self {
        self.spec.arms.push(Arm {
            name: name.into(),
            regimen: regimen.into_arm_regimen(),
            label_rules: None,
            param_factors: Vec::new(),
            sweep: None,
        });
        self
    }

    /// Puts the cladribine label's lymphocyte rules on the last arm added (no effect before the first arm).
    pub fn label_rules(mut self, rules: LabelRules) -> Self {
        if let Some(a) = self.spec.arms.last_mut() {
            a.label_rules = Some(rules);
        }
        self
    }

    /// Number of patients (1 to [`MAX_PATIENTS`]).
    pub fn patients(mut self, n: u64) -> Self {
        self.spec.patients = n;
        self
    }

    /// Seed of the run: patient `i` draws from the stream `(seed, i)`.
    pub fn seed(mut self, seed: u64) -> Self {
        self.spec.seed = seed;
        self
    }

    /// Horizon in days.
    pub fn horizon_days(mut self, days: f64) -> Self {
        self.spec.horizon_days = days;
        self
    }

    /// Horizon in years (365.25 days).
    pub fn horizon_years(self, years: f64) -> Self {
        self.horizon_days(years * DAYS_PER_YEAR)
    }

    /// Spacing of the percentile bands and grade distributions over time (whole days ≥ 1).
    pub fn band_step_days(mut self, days: f64) -> Self {
        self.spec.band_step_days = days;
        self
    }

    /// What to measure for each patient.
    pub fn outcomes(mut self, cfg: OutcomeConfig) -> Self {
        self.spec.outcomes = cfg;
        self
    }

    /// How to integrate.
    pub fn sim(mut self, opts: SimOptions) -> Self {
        self.spec.sim = opts;
        self
    }

    /// Coefficient of variation of lab measurement noise at gate visits (0 = exact).
    pub fn lab_noise_cv(mut self, cv: f64) -> Self {
        self.spec.noise_cv = cv;
        self
    }

    /// Worker threads (a pool of its own); default: the current rayon pool.
    pub fn threads(mut self, n: usize) -> Self {
        self.threads = Some(n);
        self
    }

    /// Keep one outcome row per patient and arm ([`CohortResult::rows`]).
    pub fn per_patient(mut self, keep: bool) -> Self {
        self.per_patient = keep;
        self
    }

    /// Run only one shard of the patients (merge shards with [`CohortResult::merge`]).
    pub fn shard(mut self, shard: Shard) -> Self {
        self.shard = shard;
        self
    }

    /// Called with the number of patients finished, after every block of patients.
    pub fn progress(mut self, f: impl Fn(u64) + Sync + 'static) -> Self {
        self.progress = Some(Box::new(f));
        self
    }

    /// The specification as built so far.
    pub fn spec(&self) -> &CohortSpec {
        &self.spec
    }

    /// Checks every setting; the error names the setting and its value.
    pub fn validate(&self) -> Result<()> {
        let s = &self.spec;
        if s.arms.is_empty() {
            return Err(Error::invalid("arms", 0, "a cohort needs at least one arm"));
        }
        for (i, a) in s.arms.iter().enumerate() {
            if s.arms[..i].iter().any(|b| b.name == a.name) {
                return Err(Error::invalid(
                    format!("arms[{i}].name"),
                    format!("{:?}", a.name),
                    "arm names must be unique",
                ));
            }
        }
        if !(1..=MAX_PATIENTS).contains(&s.patients) {
            return Err(Error::invalid(
                "patients",
                s.patients,
                format!("must be between 1 and {MAX_PATIENTS}"),
            ));
        }
        if !(s.horizon_days.is_finite() && s.horizon_days >= 1.0 && s.horizon_days <= MAX_HORIZON_DAYS) {
            return Err(Error::invalid(
                "horizon_days",
                s.horizon_days,
                format!("must be between 1 and {MAX_HORIZON_DAYS} days"),
            ));
        }
        let step = s.band_step_days;
        if !(step.is_finite() && step >= 1.0 && step.fract() == 0.0 && step <= s.horizon_days) {
            return Err(Error::invalid(
                "band_step_days",
                step,
                "must be a whole number of days >= 1, at most the horizon",
            ));
        }
        if !(s.noise_cv.is_finite() && (0.0..=MAX_LAB_NOISE_CV).contains(&s.noise_cv)) {
            return Err(Error::invalid(
                "lab_noise_cv",
                s.noise_cv,
                format!("must be a coefficient of variation in [0, {MAX_LAB_NOISE_CV}]"),
            ));
        }
        if let Some(t) = self.threads {
            if !(1..=MAX_THREADS).contains(&t) {
                return Err(Error::invalid(
                    "threads",
                    t,
                    format!("must be between 1 and {MAX_THREADS}"),
                ));
            }
        }
        s.sim.solver.validate()?;
        Ok(())
    }

    /// Simulates every patient on every arm. One failed patient is recorded and never aborts the run.
    pub fn run(self) -> Result<CohortRun> {
        self.validate()?;
        let progress = |k: u64| {
            if let Some(f) = &self.progress {
                f(k)
            }
        };
        let go = || run_cohort(&self.spec, self.shard, self.per_patient, &progress);
        let result = match self.threads {
            None => go(),
            Some(n) => rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build()
                .map_err(|e| Error::invalid("threads", n, format!("could not start the pool: {e}")))?
                .install(go),
        };
        Ok(CohortRun {
            spec: self.spec,
            result,
        })
    }
}

/// A finished cohort run: the specification and the merged result.
#[derive(Debug, Clone)]
pub struct CohortRun {
    /// What was run.
    pub spec: CohortSpec,
    /// Accumulators, rows and failures.
    pub result: CohortResult,
}

impl CohortRun {
    /// One summary per arm: risks with Wilson intervals and what they count from, quantiles, recoveries.
    pub fn summary(&self) -> Vec<ArmSummary> {
        let names: Vec<String> = self.spec.outcomes.recoveries.iter().map(|r| r.label()).collect();
        self.result
            .arms
            .iter()
            .map(|a| ArmSummary::from_accumulator(a, &names))
            .collect()
    }
}
