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

use super::study::{curves, Bound, Sweep, SweepCurve};
use super::summary::ArmSummary;
use super::{run_cohort, Arm, ArmRegimen, CohortResult, CohortSpec, Shard};
use crate::error::{Error, Result};
use crate::outcome::OutcomeConfig;
use crate::population::{Patient, PopulationModel};
use crate::regimen::{LabelRules, Regimen, RegimenError, Rules};
use crate::simulate::{SimOptions, MAX_HORIZON_DAYS, MAX_LAB_NOISE_CV};
use crate::units::DAYS_PER_YEAR;

/// Patients of a study unless set.
pub const DEFAULT_PATIENTS: u64 = 1000;
/// Seed of a study unless set.
pub const DEFAULT_SEED: u64 = 1;
/// Horizon of a study unless set (years).
pub const DEFAULT_HORIZON_YEARS: f64 = 10.0;
/// Spacing of the bands and grade distributions unless set (days).
pub const DEFAULT_BAND_STEP_DAYS: f64 = 7.0;

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
    sweep: Option<Sweep>,
    bound: Option<Bound>,
    reference: Option<Arm>,
    reference_last: bool,
    threads: Option<usize>,
    per_patient: bool,
    shard: Shard,
    progress: Option<Box<dyn Fn(u64) + Sync + Send>>,
}

impl Cohort {
    /// A study of `population` with every default and no arm yet.
    pub fn new(population: PopulationModel) -> Self {
        Cohort::from_spec(CohortSpec {
            arms: Vec::new(),
            population,
            patients: DEFAULT_PATIENTS,
            seed: DEFAULT_SEED,
            horizon_days: DEFAULT_HORIZON_YEARS * DAYS_PER_YEAR,
            band_step_days: DEFAULT_BAND_STEP_DAYS,
            outcomes: OutcomeConfig::default(),
            sim: SimOptions::default(),
            noise_cv: 0.0,
        })
    }

    /// A study from a complete specification (arms as run).
    pub fn from_spec(spec: CohortSpec) -> Self {
        Cohort {
            spec,
            sweep: None,
            bound: None,
            reference: None,
            reference_last: false,
            threads: None,
            per_patient: false,
            shard: Shard::ALL,
            progress: None,
        }
    }

    /// Adds an arm: a name (unique in the study) and a regimen, or a function making each patient's regimen.
    pub fn arm(mut self, name: impl Into<String>, regimen: impl IntoArmRegimen) -> Self {
        self.spec.arms.push(Arm {
            name: name.into(),
            regimen: regimen.into_arm_regimen(),
            rules: None,
            param_factors: Vec::new(),
            sweep: None,
        });
        self.reference_last = false;
        self
    }

    /// Puts the cladribine label's lymphocyte rules on the last arm added (the reference arm if it was added
    /// last; no effect before the first arm).
    pub fn label_rules(self, rules: LabelRules) -> Self {
        self.rules(Rules::Label(rules))
    }

    /// Puts lymphocyte rules — the label's, or a trial's protocol ([`crate::regimen::TrialProtocol`]) — on the
    /// last arm added (as [`Cohort::label_rules`]).
    pub fn rules(mut self, rules: impl Into<Rules>) -> Self {
        let rules = rules.into();
        let last = match self.reference.as_mut() {
            Some(r) if self.reference_last => Some(r),
            _ => self.spec.arms.last_mut(),
        };
        if let Some(a) = last {
            a.rules = Some(rules);
        }
        self
    }

    /// Runs every arm at every value of `sweep` (arms named `"{arm} {parameter}={value}"`).
    pub fn sweep(mut self, sweep: Sweep) -> Self {
        self.sweep = Some(sweep);
        self
    }

    /// A risk limit over the sweep (see [`Bound`]).
    pub fn bound(mut self, bound: Bound) -> Self {
        self.bound = Some(bound);
        self
    }

    /// The reference arm (e.g. cladribine alone), run last on the same patients and never swept; a relative
    /// bound compares with it.
    pub fn reference_arm(mut self, name: impl Into<String>, regimen: impl IntoArmRegimen) -> Self {
        self.reference = Some(Arm {
            name: name.into(),
            regimen: regimen.into_arm_regimen(),
            rules: None,
            param_factors: Vec::new(),
            sweep: None,
        });
        self.reference_last = true;
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
    pub fn progress(mut self, f: impl Fn(u64) + Sync + Send + 'static) -> Self {
        self.progress = Some(Box::new(f));
        self
    }

    /// The specification as built so far.
    pub fn spec(&self) -> &CohortSpec {
        &self.spec
    }

    /// The arms as run: the base arms expanded over the sweep, then the reference arm.
    fn arms_as_run(&self) -> Result<Vec<Arm>> {
        let mut arms = match &self.sweep {
            Some(sw) => sw.expand(&self.spec.arms, &self.spec.population)?,
            None => self.spec.arms.clone(),
        };
        arms.extend(self.reference.clone());
        Ok(arms)
    }

    /// Checks every setting; the error names the setting and its value.
    pub fn validate(&self) -> Result<()> {
        let s = &self.spec;
        if s.arms.is_empty() {
            return Err(Error::invalid("arms", 0, "a cohort needs at least one arm"));
        }
        let arms = self.arms_as_run()?;
        for (i, a) in arms.iter().enumerate() {
            if arms[..i].iter().any(|b| b.name == a.name) {
                return Err(Error::invalid(
                    format!("arms[{i}].name"),
                    format!("{:?}", a.name),
                    "arm names must be unique",
                ));
            }
        }
        if let Some(b) = &self.bound {
            if self.sweep.is_none() {
                return Err(Error::invalid("bound", b.endpoint, "a bound needs a sweep"));
            }
            if b.max_above_reference.is_some() && self.reference.is_none() {
                return Err(Error::invalid(
                    "bound.max_above_reference",
                    b.max_above_reference.unwrap_or_default(),
                    "needs a reference arm",
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

    /// Simulates every patient on every arm (the study can be run again). One failed patient is recorded and
    /// never aborts the run.
    pub fn run(&self) -> Result<CohortRun> {
        self.validate()?;
        let spec = CohortSpec {
            arms: self.arms_as_run()?,
            ..self.spec.clone()
        };
        let progress = |k: u64| {
            if let Some(f) = &self.progress {
                f(k)
            }
        };
        let go = || run_cohort(&spec, self.shard, self.per_patient, &progress);
        let result = match self.threads {
            None => go(),
            Some(n) => rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build()
                .map_err(|e| Error::invalid("threads", n, format!("could not start the pool: {e}")))?
                .install(go),
        };
        Ok(CohortRun {
            reference_arm: self.reference.as_ref().map(|_| spec.arms.len() - 1),
            base_names: self.spec.arms.iter().map(|a| a.name.clone()).collect(),
            sweep: self.sweep.clone(),
            bound: self.bound,
            spec,
            result,
        })
    }
}

/// A finished cohort run: the specification as run and the merged result.
#[derive(Debug, Clone)]
pub struct CohortRun {
    /// What was run (arms expanded over the sweep, the reference arm last).
    pub spec: CohortSpec,
    /// Accumulators, rows and failures.
    pub result: CohortResult,
    /// The sweep, if any.
    pub sweep: Option<Sweep>,
    /// The bound, if any.
    pub bound: Option<Bound>,
    /// Names of the base arms (before the sweep).
    pub base_names: Vec<String>,
    /// Index of the reference arm in `spec.arms`, if any.
    pub reference_arm: Option<usize>,
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

    /// The sweep curves with the bound evaluated (empty without a sweep).
    pub fn curves(&self) -> Vec<SweepCurve> {
        let Some(sweep) = &self.sweep else {
            return Vec::new();
        };
        let sums = self.summary();
        let reference = self.reference_arm.map(|i| &sums[i]);
        curves(
            &self.spec.arms,
            &sums,
            &self.base_names,
            sweep,
            self.bound.as_ref(),
            reference,
        )
    }
}
