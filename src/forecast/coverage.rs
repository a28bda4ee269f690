//! Simulation-based calibration of the forecast: do its credible intervals cover the truth as often as they say?
//!
//! Virtual patients are drawn from the population (the same prior the forecast uses), given the label's
//! alemtuzumab courses, and measured — CD4 and ALC with the residual model's noise — on a visit schedule
//! (by default months 1, 3, 6, 9 and 12). Each patient's posterior is estimated from those labs alone, and the
//! posterior predictive 50 % and 90 % intervals of a held-back count (by default the model's CD4 and ALC on day
//! 730, a year after the last visit) are checked against the patient's true value. A calibrated forecast covers
//! the truth about 50 % and 90 % of the time.

use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;

use super::{map_estimate, posterior_draws, predictive_bands, LabObservation, PatientData, Plan, ResidualModel};
use crate::model::{Count, Model};
use crate::population::rng::patient_rng;
use crate::population::PopulationModel;
use crate::regimen::Regimen;
use crate::simulate::{simulate, Problem, SimOptions};

/// What the study does.
#[derive(Debug, Clone, PartialEq)]
pub struct CoverageSpec {
    /// Virtual patients (1 to 100 000).
    pub patients: u64,
    /// Seed: patient `i` is drawn from stream `(seed, i)`, their lab noise from `(seed + 1, i)`, their posterior's
    /// proposals from `(seed + 2, i)`.
    pub seed: u64,
    /// Visit days (days from the first dose) with CD4 and ALC measured.
    pub visits: Vec<f64>,
    /// Day of the held-back count (after the last visit).
    pub held_back_day: f64,
    /// Posterior draws per patient.
    pub draws: usize,
    /// Importance-sampling proposals per draw.
    pub proposals_per_draw: usize,
    /// Nelder–Mead iterations of each MAP at most.
    pub map_iterations: u64,
}

impl Default for CoverageSpec {
    fn default() -> Self {
        CoverageSpec {
            patients: 200,
            seed: 20261202,
            visits: vec![30.0, 91.0, 183.0, 274.0, 365.0],
            held_back_day: 730.0,
            draws: 100,
            proposals_per_draw: 4,
            map_iterations: 3000,
        }
    }
}

/// Counts checked, in [`CoverageRow::truth`] order.
pub const CHECKED: [Count; 2] = [Count::Cd4, Count::Alc];

/// One virtual patient of the study.
#[derive(Debug, Clone, PartialEq)]
pub struct CoverageRow {
    /// Patient id.
    pub id: u64,
    /// The true model counts (cells/µL) on the held-back day, in [`CHECKED`] order.
    pub truth: [f64; 2],
    /// The posterior predictive 5 %, 25 %, 50 %, 75 % and 95 % quantiles of each checked count.
    pub quantiles: [[f64; 5]; 2],
    /// The effective sample size of the patient's importance weights.
    pub ess: f64,
}

impl CoverageRow {
    /// Whether the truth of checked count `c` lies inside the central 50 % interval.
    pub fn inside_50(&self, c: usize) -> bool {
        (self.quantiles[c][1]..=self.quantiles[c][3]).contains(&self.truth[c])
    }

    /// Whether the truth of checked count `c` lies inside the central 90 % interval.
    pub fn inside_90(&self, c: usize) -> bool {
        (self.quantiles[c][0]..=self.quantiles[c][4]).contains(&self.truth[c])
    }
}

/// The study's result.
#[derive(Debug, Clone)]
pub struct CoverageStudy {
    /// Patients whose posterior could be estimated, by id.
    pub rows: Vec<CoverageRow>,
    /// Patients that failed, with the reason (kept, never silently dropped).
    pub failures: Vec<(u64, String)>,
}

impl CoverageStudy {
    /// The share of patients whose truth of checked count `c` is inside the 50 % and the 90 % interval;
    /// `None` with no patients.
    pub fn coverage(&self, c: usize) -> Option<(f64, f64)> {
        let n = self.rows.len() as f64;
        (n > 0.0).then(|| {
            let k50 = self.rows.iter().filter(|r| r.inside_50(c)).count() as f64;
            let k90 = self.rows.iter().filter(|r| r.inside_90(c)).count() as f64;
            (k50 / n, k90 / n)
        })
    }

    /// The median effective sample size over patients.
    pub fn median_ess(&self) -> Option<f64> {
        let v: Vec<f64> = self.rows.iter().map(|r| r.ess).collect();
        crate::scenario::ensemble::quantile(&v, 0.5)
    }
}

/// Labs of `patient`: CD4 and ALC at each visit with the residual model's log-normal noise from `rng`.
pub fn noisy_labs<R: rand::Rng + ?Sized>(
    patient: &crate::population::Patient,
    regimen: &Regimen,
    visits: &[f64],
    residual: &ResidualModel,
    rng: &mut R,
) -> crate::Result<Vec<LabObservation>> {
    let model = Model::new(patient.params.clone())?;
    let horizon = visits.iter().copied().fold(1.0, f64::max);
    let p = Problem::new(model.clone(), regimen, horizon)?.with_observation_days(visits.to_vec())?;
    let t = simulate(&p, &SimOptions::default())?;
    let mut out = Vec::new();
    for (d, y) in t.days.iter().zip(&t.states) {
        let o = model.observe(y);
        for count in [Count::Cd4, Count::Alc] {
            let sd = residual.log_sd(count);
            let z: f64 = StandardNormal.sample(rng);
            out.push(LabObservation {
                day: *d,
                count,
                cells_per_ul: count.of(&o) * (sd * z).exp(),
                below_detection: false,
            });
        }
    }
    Ok(out)
}

fn one(pop: &PopulationModel, regimen: &Regimen, spec: &CoverageSpec, id: u64) -> crate::Result<CoverageRow> {
    let residual = ResidualModel::default();
    let truth = pop.sample(id, &mut patient_rng(spec.seed, id));
    let covariates = truth.covariates();
    let labs = noisy_labs(
        &truth,
        regimen,
        &spec.visits,
        &residual,
        &mut patient_rng(spec.seed.wrapping_add(1), id),
    )?;
    let data = PatientData {
        population: pop,
        covariates: &covariates,
        regimen,
        labs: &labs,
        residual: &residual,
    };
    let map = map_estimate(&data, spec.map_iterations)?;
    let post = posterior_draws(
        &data,
        &map,
        spec.proposals_per_draw * spec.draws,
        spec.draws,
        &mut patient_rng(spec.seed.wrapping_add(2), id),
    )?;
    let day = [spec.held_back_day];
    // The truth is the drawn patient itself, simulated directly.
    let model = Model::new(truth.params.clone())?;
    let p = Problem::new(model.clone(), regimen, spec.held_back_day)?;
    let t = simulate(&p, &SimOptions::default())?;
    let o = model.observe(t.states.last().expect("a simulation holds its last day"));
    let bands = predictive_bands(&data, &post.z, Plan::NoCladribine, &day)?;
    let mut quantiles = [[f64::NAN; 5]; 2];
    for (c, count) in CHECKED.iter().enumerate() {
        let r = bands
            .iter()
            .find(|r| r.count == *count)
            .expect("every count has a band");
        for (k, q) in r.quantiles.iter().enumerate() {
            quantiles[c][k] = q.ok_or_else(|| crate::Error::invalid("posterior", id, "no draw could be simulated"))?;
        }
    }
    Ok(CoverageRow {
        id,
        truth: CHECKED.map(|c| c.of(&o)),
        quantiles,
        ess: post.ess,
    })
}

/// Runs the study on `threads` worker threads (the result does not depend on their number).
pub fn coverage_study(
    pop: &PopulationModel,
    regimen: &Regimen,
    spec: &CoverageSpec,
    threads: usize,
) -> crate::Result<CoverageStudy> {
    if !(1..=100_000).contains(&spec.patients) {
        return Err(crate::Error::invalid(
            "patients",
            spec.patients,
            "must be between 1 and 100000",
        ));
    }
    let last_visit = spec.visits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if spec.visits.is_empty()
        || spec.visits.iter().any(|d| !(d.is_finite() && *d >= 0.0))
        || !(spec.held_back_day.is_finite() && spec.held_back_day > last_visit && spec.held_back_day <= super::MAX_DAY)
    {
        return Err(crate::Error::invalid(
            "held_back_day",
            spec.held_back_day,
            "visits must be days >= 0 and the held-back day after the last of them, within 100 years",
        ));
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.max(1))
        .build()
        .map_err(|e| crate::Error::invalid("threads", threads, e.to_string()))?;
    let results: Vec<(u64, crate::Result<CoverageRow>)> = pool.install(|| {
        (0..spec.patients)
            .into_par_iter()
            .map(|id| (id, one(pop, regimen, spec, id)))
            .collect()
    });
    let mut study = CoverageStudy {
        rows: Vec::new(),
        failures: Vec::new(),
    };
    for (id, r) in results {
        match r {
            Ok(row) => study.rows.push(row),
            Err(e) => study.failures.push((id, e.to_string())),
        }
    }
    Ok(study)
}
