//! Monte Carlo cohorts: many virtual patients, every arm, summarised as lymphopenia risk.
//!
//! [`run_cohort`] draws patient `i` from its own random stream ([`crate::population::rng`]), runs it on every
//! arm (the same virtual patient in each arm: common random numbers, so arms differ by their regimen, not by
//! sampling noise), tracks its outcomes while it is simulated, and adds them to per-arm accumulators of
//! integer counts ([`summary::ArmAccumulator`]). Patients are processed in parallel (rayon) in blocks;
//! because the accumulators only add integers, the result is identical for any thread count and for any split
//! into shards merged afterwards.
//!
//! A patient whose simulation fails is recorded with its id, parameters and error and never aborts the run; a
//! patient the regimen refuses (cladribine below 40 kg) is excluded and counted.

mod builder;
pub mod histogram;
pub mod report;
pub mod study;
pub mod summary;

use std::fmt;
use std::sync::{Arc, Mutex};

use rayon::prelude::*;

use crate::model::{Grade, Model, ModelParams, ParamId};
use crate::outcome::{self, Counts, OutcomeConfig, OutcomeTracker, PatientOutcome};
use crate::population::rng::{patient_rng, PatientRng};
use crate::population::{Patient, PopulationModel};
use crate::regimen::presets::{self, PresetOptions};
use crate::regimen::{Regimen, RegimenError, Rules};
use crate::simulate::{solve_batch, Problem, SimOptions};
use summary::ArmAccumulator;

pub use builder::{
    Cohort, CohortRun, IntoArmRegimen, DEFAULT_BAND_STEP_DAYS, DEFAULT_HORIZON_YEARS, DEFAULT_PATIENTS, DEFAULT_SEED,
    MAX_PATIENTS, MAX_THREADS,
};

/// Makes a patient's regimen from the sampled patient (covariates and parameters).
pub type RegimenFn = dyn Fn(&Patient) -> Result<Regimen, RegimenError> + Send + Sync;

/// How an arm's regimen is made for a patient.
#[derive(Clone)]
pub enum ArmRegimen {
    /// A named preset, built for the patient's weight.
    Preset {
        /// Preset name.
        name: String,
        /// Months from the last alemtuzumab infusion to cladribine (for `sequence`).
        interval_months: f64,
    },
    /// The same regimen for every patient.
    Fixed(Regimen),
    /// A regimen made for each patient by a function (its weight, age, parameters …).
    PerPatient(Arc<RegimenFn>),
}

impl fmt::Debug for ArmRegimen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArmRegimen::Preset { name, interval_months } => f
                .debug_struct("Preset")
                .field("name", name)
                .field("interval_months", interval_months)
                .finish(),
            ArmRegimen::Fixed(r) => f.debug_tuple("Fixed").field(r).finish(),
            ArmRegimen::PerPatient(_) => f.write_str("PerPatient(..)"),
        }
    }
}

impl PartialEq for ArmRegimen {
    /// Presets and fixed regimens compare by value; functions by identity.
    fn eq(&self, o: &Self) -> bool {
        match (self, o) {
            (
                ArmRegimen::Preset { name, interval_months },
                ArmRegimen::Preset {
                    name: n2,
                    interval_months: i2,
                },
            ) => name == n2 && interval_months == i2,
            (ArmRegimen::Fixed(a), ArmRegimen::Fixed(b)) => a == b,
            (ArmRegimen::PerPatient(a), ArmRegimen::PerPatient(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

impl From<Regimen> for ArmRegimen {
    fn from(r: Regimen) -> Self {
        ArmRegimen::Fixed(r)
    }
}

/// One arm of a cohort.
#[derive(Debug, Clone, PartialEq)]
pub struct Arm {
    /// Name shown in outputs.
    pub name: String,
    /// The regimen.
    pub regimen: ArmRegimen,
    /// The lymphocyte rules the arm runs under (the label's, or a trial's protocol), if any.
    pub rules: Option<Rules>,
    /// Model parameters scaled in this arm: (name, factor). A sweep over a parameter sets its typical value
    /// to `factor ×` the population's; each patient's value is scaled by the same factor, so the patient keeps
    /// its own random effect.
    pub param_factors: Vec<(ParamId, f64)>,
    /// Where this arm sits in a sweep (`None` for an arm that is not swept).
    pub sweep: Option<study::SweepPoint>,
}

impl Arm {
    /// The regimen for `patient`, with the arm's rules.
    pub fn regimen_for(&self, patient: &Patient) -> Result<Regimen, RegimenError> {
        let r = match &self.regimen {
            ArmRegimen::Preset { name, interval_months } => presets::build(
                name,
                &PresetOptions {
                    weight_kg: patient.weight_kg,
                    interval_months: *interval_months,
                },
            )?,
            ArmRegimen::Fixed(r) => r.clone(),
            ArmRegimen::PerPatient(f) => f(patient)?,
        };
        match &self.rules {
            Some(rules) => rules.apply(r),
            None => Ok(r),
        }
    }
}

/// Everything a cohort run needs.
#[derive(Debug, Clone)]
pub struct CohortSpec {
    /// The arms.
    pub arms: Vec<Arm>,
    /// The population.
    pub population: PopulationModel,
    /// Number of patients.
    pub patients: u64,
    /// Seed of the run.
    pub seed: u64,
    /// Horizon (days).
    pub horizon_days: f64,
    /// Spacing of the percentile bands and grade distribution over time (days).
    pub band_step_days: f64,
    /// Outcome settings.
    pub outcomes: OutcomeConfig,
    /// Integration settings.
    pub sim: SimOptions,
    /// Coefficient of variation of lab measurement noise at gate visits (0 = exact).
    pub noise_cv: f64,
}

impl CohortSpec {
    /// An upper estimate of a run's peak memory (bytes): one set of accumulators per worker thread and one for
    /// the merge, plus the per-patient rows if they are kept.
    pub fn estimated_peak_bytes(&self, threads: usize, per_patient: bool, shard: Shard) -> u64 {
        let accumulators = CohortResult::empty(self)
            .arms
            .iter()
            .map(|a| a.heap_bytes() as u64)
            .sum::<u64>();
        let rows = if per_patient {
            let per_row = (std::mem::size_of::<PatientRow>()
                + std::mem::size_of::<outcome::Window>()
                + self.outcomes.recoveries.len() * std::mem::size_of::<outcome::RecoveryOutcome>()
                // and its line of patients.csv
                + 300) as u64;
            shard.range(self.patients).count() as u64 * self.arms.len() as u64 * per_row
        } else {
            0
        };
        (threads as u64 + 2) * accumulators + rows
    }

    /// Arms whose last planned dose, for the population's typical patient with gates passing, leaves less than
    /// `follow_up_days` before the horizon: (arm index, day of the last planned dose). Outcomes of such arms are
    /// partly censored by the horizon.
    pub fn arms_short_of_follow_up(&self, follow_up_days: f64) -> Vec<(usize, f64)> {
        let typical = self.population.typical();
        let patient = Patient {
            id: 0,
            age_years: typical.age_years,
            weight_kg: self.population.covariates().weight_median_kg,
            crcl_ml_min: typical.creatinine_clearance_ml_min,
            neutralising_antibodies: false,
            params: typical.clone(),
        };
        self.arms
            .iter()
            .enumerate()
            .filter_map(|(i, arm)| {
                let admins = arm.regimen_for(&patient).ok()?.administrations().ok()?;
                let last = admins.iter().map(|a| a.end_day()).fold(f64::NEG_INFINITY, f64::max);
                (last.is_finite() && last + follow_up_days > self.horizon_days).then_some((i, last))
            })
            .collect()
    }
}

/// A contiguous part of the cohort: shard `index` of `count` takes patients `[index·n/count, (index+1)·n/count)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// 0-based shard index.
    pub index: u64,
    /// Number of shards.
    pub count: u64,
}

impl Shard {
    /// The whole cohort.
    pub const ALL: Shard = Shard { index: 0, count: 1 };

    /// Patient ids of this shard.
    pub fn range(&self, n: u64) -> std::ops::Range<u64> {
        let lo = (self.index as u128 * n as u128 / self.count as u128) as u64;
        let hi = ((self.index + 1) as u128 * n as u128 / self.count as u128) as u64;
        lo..hi
    }
}

/// A patient that could not be simulated.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// Arm name.
    pub arm: String,
    /// Patient id.
    pub id: u64,
    /// The error.
    pub error: String,
    /// The patient's parameters.
    pub params: ModelParams,
}

/// One row of the per-patient table.
#[derive(Debug, Clone, PartialEq)]
pub struct PatientRow {
    /// Arm index.
    pub arm: usize,
    /// The patient (covariates and parameters).
    pub patient: Patient,
    /// Outcomes, or `None` if excluded.
    pub outcome: Option<PatientOutcome>,
}

/// The result of a cohort run (or shard).
#[derive(Debug, Clone)]
pub struct CohortResult {
    /// One accumulator per arm.
    pub arms: Vec<ArmAccumulator>,
    /// Per-patient rows, sorted by patient then arm (when requested).
    pub rows: Vec<PatientRow>,
    /// Failed patients, sorted by patient then arm.
    pub failures: Vec<Failure>,
}

impl CohortResult {
    fn empty(spec: &CohortSpec) -> Self {
        let band_days = band_days(spec);
        let horizon = spec.horizon_days.floor() as usize;
        CohortResult {
            arms: spec
                .arms
                .iter()
                .map(|a| {
                    let acc = ArmAccumulator::new(&a.name, horizon, spec.outcomes.recoveries.len(), band_days.clone());
                    match spec.outcomes.visit_days.is_empty() {
                        true => acc,
                        false => acc.reading_visits(),
                    }
                })
                .collect(),
            rows: Vec::new(),
            failures: Vec::new(),
        }
    }

    /// Adds another result of the same spec.
    pub fn merge(mut self, o: CohortResult) -> Self {
        for (a, b) in self.arms.iter_mut().zip(&o.arms) {
            a.merge(b);
        }
        self.rows.extend(o.rows);
        self.failures.extend(o.failures);
        self
    }
}

/// The band days of a spec: 0, step, 2·step, … up to the horizon.
pub fn band_days(spec: &CohortSpec) -> Vec<f64> {
    let n = (spec.horizon_days / spec.band_step_days).floor() as usize;
    (0..=n).map(|k| k as f64 * spec.band_step_days).collect()
}

const BLOCK: u64 = 256;

/// Patients prepared and solved together ([`solve_batch`]: four at a time in SIMD lanes). Bounds the memory of
/// the outcome trackers waiting for their lane.
const LANE_CHUNK: u64 = 32;

/// Runs the patients of `shard`, in parallel on the current rayon pool. `progress` is called with the number of
/// patients finished by each block.
pub fn run_cohort(spec: &CohortSpec, shard: Shard, per_patient: bool, progress: &(dyn Fn(u64) + Sync)) -> CohortResult {
    let ids = shard.range(spec.patients);
    // Outcomes are read from the integration steps; the only observation days are the band days and the lab
    // visits.
    let mut days = band_days(spec);
    let n_bands = days.len();
    days.extend(
        spec.outcomes
            .visit_days
            .iter()
            .copied()
            .filter(|&d| d <= spec.horizon_days),
    );
    days.sort_by(f64::total_cmp);
    days.dedup();
    let obs: Arc<[f64]> = days.into();
    let blocks = (ids.end - ids.start).div_ceil(BLOCK);
    // Accumulators are reused from a free list: at most one per concurrently running worker exists, whatever
    // the number of patients, and they are merged at the end. Merging adds integer counts, so the order in
    // which workers took blocks does not change the result.
    let free: Mutex<Vec<CohortResult>> = Mutex::new(Vec::new());
    let take = || {
        free.lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop()
            .unwrap_or_else(|| CohortResult::empty(spec))
    };
    (0..blocks).into_par_iter().for_each(|b| {
        let mut acc = take();
        let lo = ids.start + b * BLOCK;
        let hi = (lo + BLOCK).min(ids.end);
        // Band values wait for the end of the block, laid out by band day, and are added day by day
        // (cache-friendly).
        let mut bands: Vec<Vec<Vec<(Counts, Grade)>>> = vec![vec![Vec::new(); n_bands]; spec.arms.len()];
        let mut id = lo;
        while id < hi {
            let to = (id + LANE_CHUNK).min(hi);
            run_patients(spec, id..to, &obs, per_patient, &mut acc, &mut bands);
            id = to;
        }
        for (arm, by_day) in acc.arms.iter_mut().zip(&bands) {
            arm.add_bands(by_day);
        }
        free.lock().unwrap_or_else(|e| e.into_inner()).push(acc);
        progress(hi - lo);
    });
    let mut result = free
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .reduce(CohortResult::merge)
        .unwrap_or_else(|| CohortResult::empty(spec));
    result.rows.sort_by_key(|r| (r.patient.id, r.arm));
    result.failures.sort_by(|a, b| (a.id, &a.arm).cmp(&(b.id, &b.arm)));
    result
}

/// One patient-arm ready to solve: the patient's index in the chunk and the arm; its problem and its copy of
/// the patient's stream are kept beside it.
struct Job {
    patient: usize,
    arm: usize,
}

/// Records a failed patient-arm.
fn record_failure(acc: &mut CohortResult, spec: &CohortSpec, arm: usize, patient: &Patient, error: String) {
    acc.arms[arm].failed += 1;
    acc.failures.push(Failure {
        arm: spec.arms[arm].name.clone(),
        id: patient.id,
        error,
        params: patient.params.clone(),
    });
}

/// Runs the patients `ids` on every arm into `acc`: each patient-arm's problem is built, all of them are solved
/// together ([`solve_batch`]), and each successful arm's band values go to `bands[arm][band day]`, in patient
/// then arm order.
fn run_patients(
    spec: &CohortSpec,
    ids: std::ops::Range<u64>,
    obs: &Arc<[f64]>,
    per_patient: bool,
    acc: &mut CohortResult,
    bands: &mut [Vec<Vec<(Counts, Grade)>>],
) {
    let mut patients = Vec::with_capacity((ids.end - ids.start) as usize);
    let mut jobs = Vec::new();
    for id in ids {
        let mut rng = patient_rng(spec.seed, id);
        let patient = spec.population.sample(id, &mut rng);
        let pi = patients.len();
        prepare_patient(spec, &patient, pi, &rng, obs, per_patient, acc, &mut jobs);
        patients.push(patient);
    }
    let (jobs, rest): (Vec<Job>, Vec<(Problem, PatientRng)>) = jobs.into_iter().map(|(j, p, r)| (j, (p, r))).unzip();
    let (problems, mut rngs): (Vec<Problem>, Vec<PatientRng>) = rest.into_iter().unzip();
    let mut trackers: Vec<OutcomeTracker> = problems
        .iter()
        .map(|p| OutcomeTracker::new(p.model(), &spec.outcomes, p.regimen()).with_bands(spec.band_step_days))
        .collect();
    let results = match solve_batch(&problems, &mut rngs, &mut trackers, &spec.sim) {
        Ok(r) => r,
        Err(e) => {
            for job in &jobs {
                record_failure(acc, spec, job.arm, &patients[job.patient], e.to_string());
            }
            return;
        }
    };
    for ((job, tracker), result) in jobs.iter().zip(trackers).zip(results) {
        let ai = job.arm;
        match result {
            Ok(_) => {
                let mut outcome = tracker.finish();
                acc.arms[ai].add_outcome(&outcome);
                // The band values go to the accumulator at the end of the block, by band day; a per-patient row
                // does not keep them.
                for (day, v) in bands[ai].iter_mut().zip(std::mem::take(&mut outcome.bands)) {
                    day.push(v);
                }
                if per_patient {
                    acc.rows.push(PatientRow {
                        arm: ai,
                        patient: patients[job.patient].clone(),
                        outcome: Some(outcome),
                    });
                }
            }
            Err(e) => record_failure(acc, spec, ai, &patients[job.patient], e.to_string()),
        }
    }
}

/// Builds one patient's problem on every arm (each with its own copy of the patient's stream) into `jobs`;
/// a patient whose model or regimen cannot be built is recorded in `acc` as failed or excluded.
#[allow(clippy::too_many_arguments)]
fn prepare_patient(
    spec: &CohortSpec,
    patient: &Patient,
    pi: usize,
    rng: &PatientRng,
    obs: &Arc<[f64]>,
    per_patient: bool,
    acc: &mut CohortResult,
    jobs: &mut Vec<(Job, Problem, PatientRng)>,
) {
    let base_model = match Model::new(patient.params.clone()) {
        Ok(m) => m,
        Err(e) => {
            for ai in 0..spec.arms.len() {
                record_failure(acc, spec, ai, patient, e.to_string());
            }
            return;
        }
    };
    for (ai, arm) in spec.arms.iter().enumerate() {
        let model = if arm.param_factors.is_empty() {
            base_model.clone()
        } else {
            let mut p = patient.params.clone();
            for &(id, f) in &arm.param_factors {
                p.set_value(id, p.value(id) * f);
            }
            match Model::new(p) {
                Ok(m) => m,
                Err(e) => {
                    record_failure(acc, spec, ai, patient, e.to_string());
                    continue;
                }
            }
        };
        let regimen = match arm.regimen_for(patient) {
            Ok(r) => r,
            Err(RegimenError::WeightBelowLabel { .. }) => {
                acc.arms[ai].excluded += 1;
                if per_patient {
                    acc.rows.push(PatientRow {
                        arm: ai,
                        patient: patient.clone(),
                        outcome: None,
                    });
                }
                continue;
            }
            Err(e) => {
                record_failure(acc, spec, ai, patient, e.to_string());
                continue;
            }
        };
        let problem = Problem::new(model, regimen, spec.horizon_days)
            .and_then(|p| p.with_observation_grid(obs.clone()))
            .and_then(|p| p.with_lab_noise_cv(spec.noise_cv));
        match problem {
            Ok(problem) => jobs.push((Job { patient: pi, arm: ai }, problem, rng.clone())),
            Err(e) => record_failure(acc, spec, ai, patient, e.to_string()),
        }
    }
}
