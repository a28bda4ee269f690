//! One patient from their own labs: a lab history, a residual error model, and the maximum a posteriori (MAP)
//! estimate of the patient's random effects with the population model as the prior.
//!
//! This is the estimation core of the personal forecast. A patient is the population's map
//! ([`PopulationModel::patient`]) of their covariates and a standard-normal vector `z` (prior N(0, I)); the labs
//! are log-normal around the model's counts ([`ResidualModel`]). The MAP minimises
//! `½ |z|² − log L(labs | z)` over `z` with Nelder–Mead (argmin), from the typical patient `z = 0`.
//!
//! **Lab histories** ([`parse_history`]) are CSV with a header `day,count,value,unit`: `day` from the first dose
//! (days, ≥ 0), `count` one of ALC, CD4, CD8, CD19, NK, `value` > 0, `unit` `cells/uL` (or `cells/µL`) or
//! `10^9/L` (converted × 1000 here, once). Every row states its unit, so units are never mixed silently; a bad row
//! is an error naming its line and column.

use argmin::core::{CostFunction, Error as ArgminError, Executor, State};
use argmin::solver::neldermead::NelderMead;
use nalgebra::DVector;

use crate::model::{Count, Model};
use crate::population::{Patient, PatientCovariates, PopulationModel};
use crate::regimen::Regimen;
use crate::simulate::{simulate, Problem, SimOptions};

/// A lab history that cannot be used, naming the line (1-based, the header is line 1) and the column.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("lab history line {line}, column {column}: {message}")]
pub struct HistoryError {
    /// Line in the file (1-based; 0 for the file as a whole).
    pub line: usize,
    /// Column name.
    pub column: &'static str,
    /// What is wrong, with the value.
    pub message: String,
}

/// One measured count.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LabObservation {
    /// Days from the first dose.
    pub day: f64,
    /// What was counted.
    pub count: Count,
    /// The measured value (cells/µL).
    pub cells_per_ul: f64,
}

/// Largest day a history may hold (days): 100 years.
pub const MAX_DAY: f64 = 36525.0;

/// Parses a lab history (see the module documentation); observations come back sorted by day.
pub fn parse_history(text: &str) -> Result<Vec<LabObservation>, HistoryError> {
    let err = |line: usize, column: &'static str, message: String| HistoryError { line, column, message };
    let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
    let (_, header) = lines.next().ok_or_else(|| {
        err(
            0,
            "header",
            "the file is empty; expected a header day,count,value,unit".into(),
        )
    })?;
    let names: Vec<String> = header.split(',').map(|h| h.trim().to_ascii_lowercase()).collect();
    if names != ["day", "count", "value", "unit"] {
        return Err(err(
            1,
            "header",
            format!("must be day,count,value,unit, got {header:?}"),
        ));
    }
    let mut out = Vec::new();
    for (i, line) in lines {
        let n = i + 1;
        let cells: Vec<&str> = line.split(',').map(str::trim).collect();
        if cells.len() != 4 {
            return Err(err(n, "row", format!("must have 4 fields, got {}", cells.len())));
        }
        let day: f64 = cells[0]
            .parse()
            .map_err(|_| err(n, "day", format!("must be a number of days, got {:?}", cells[0])))?;
        if !(day.is_finite() && (0.0..=MAX_DAY).contains(&day)) {
            return Err(err(
                n,
                "day",
                format!("must be between 0 and {MAX_DAY} days from the first dose, got {day}"),
            ));
        }
        let count = Count::parse(cells[1]).ok_or_else(|| {
            err(
                n,
                "count",
                format!("must be ALC, CD4, CD8, CD19 or NK, got {:?}", cells[1]),
            )
        })?;
        let value: f64 = cells[2]
            .parse()
            .map_err(|_| err(n, "value", format!("must be a number, got {:?}", cells[2])))?;
        let per_unit = match cells[3] {
            "cells/uL" | "cells/µL" => 1.0,
            "10^9/L" | "x10^9/L" => 1000.0,
            other => {
                return Err(err(
                    n,
                    "unit",
                    format!("must be cells/uL or 10^9/L (stated on every row), got {other:?}"),
                ))
            }
        };
        let cells_per_ul = value * per_unit;
        if !(cells_per_ul.is_finite() && cells_per_ul > 0.0 && cells_per_ul <= crate::model::MAX_CELLS_PER_UL) {
            return Err(err(
                n,
                "value",
                format!(
                    "must be a count > 0 and at most 20000 cells/uL, got {value} {}",
                    cells[3]
                ),
            ));
        }
        out.push(LabObservation {
            day,
            count,
            cells_per_ul,
        });
    }
    out.sort_by(|a, b| a.day.total_cmp(&b.day));
    Ok(out)
}

/// Measurement error of each count: multiplicative and log-normal, `ln y ~ N(ln model, ln(1 + CV²))`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ResidualModel {
    /// CV of ALC, CD4, CD8, CD19 and NK, in [`Count::ALL`] order \[assumption: 10 % for the automated ALC,
    /// 15 % for flow-cytometric subsets, covering assay and day-to-day variation; to be replaced by a sourced
    /// estimate\].
    pub cv: [f64; 5],
}

impl Default for ResidualModel {
    fn default() -> Self {
        ResidualModel {
            cv: [0.10, 0.15, 0.15, 0.15, 0.15],
        }
    }
}

impl ResidualModel {
    fn log_sd(&self, c: Count) -> f64 {
        let i = Count::ALL.iter().position(|x| *x == c).expect("every count is listed");
        (1.0 + self.cv[i] * self.cv[i]).ln().sqrt()
    }
}

/// Log-likelihood of `labs` for `patient` on `regimen` (up to a constant); `None` if the patient's parameters
/// are not a valid model or the simulation fails.
pub fn log_likelihood(
    patient: &Patient,
    regimen: &Regimen,
    labs: &[LabObservation],
    residual: &ResidualModel,
    sim: &SimOptions,
) -> Option<f64> {
    let Some(last) = labs.last() else { return Some(0.0) };
    let model = Model::new(patient.params.clone()).ok()?;
    let days: Vec<f64> = labs.iter().map(|o| o.day).collect();
    let problem = Problem::new(model.clone(), regimen, last.day.max(1.0))
        .ok()?
        .with_observation_days(days)
        .ok()?;
    let t = simulate(&problem, sim).ok()?;
    let mut ll = 0.0;
    for o in labs {
        let k = t.days.iter().position(|d| *d == o.day)?;
        let predicted = o.count.of(&model.observe(&t.states[k])).max(1e-6);
        let sd = residual.log_sd(o.count);
        let r = (o.cells_per_ul.ln() - predicted.ln()) / sd;
        ll -= 0.5 * r * r + sd.ln();
    }
    Some(ll)
}

/// Everything known about one patient: the population (the prior), their covariates, the doses given, their
/// labs, and the residual error model.
#[derive(Debug, Clone, Copy)]
pub struct PatientData<'a> {
    /// The population model: the prior.
    pub population: &'a PopulationModel,
    /// The patient's covariates.
    pub covariates: &'a PatientCovariates,
    /// The doses given (and planned).
    pub regimen: &'a Regimen,
    /// The patient's labs, sorted by day.
    pub labs: &'a [LabObservation],
    /// The measurement error of the labs.
    pub residual: &'a ResidualModel,
}

impl PatientData<'_> {
    /// The patient of effects `z`.
    pub fn patient(&self, z: &[f64]) -> Patient {
        self.population.patient(0, self.covariates, z)
    }

    /// `½ |z|² − log L(labs | z)`: what [`map_estimate`] minimises; `None` for an invalid model.
    pub fn objective(&self, z: &[f64]) -> Option<f64> {
        let prior = 0.5 * z.iter().map(|x| x * x).sum::<f64>();
        log_likelihood(
            &self.patient(z),
            self.regimen,
            self.labs,
            self.residual,
            &SimOptions::default(),
        )
        .map(|ll| prior - ll)
    }
}

/// The MAP estimate.
#[derive(Debug, Clone)]
pub struct MapEstimate {
    /// The standard-normal random effects at the optimum.
    pub z: Vec<f64>,
    /// The patient they give.
    pub patient: Patient,
    /// `½ |z|² − log L` at the optimum.
    pub objective: f64,
    /// Objective evaluations made.
    pub evaluations: u64,
}

#[derive(Clone, Copy)]
struct Posterior<'a> {
    data: &'a PatientData<'a>,
    evaluations: &'a std::cell::Cell<u64>,
}

impl CostFunction for Posterior<'_> {
    type Param = DVector<f64>;
    type Output = f64;
    fn cost(&self, z: &DVector<f64>) -> Result<f64, ArgminError> {
        self.evaluations.set(self.evaluations.get() + 1);
        Ok(self.data.objective(z.as_slice()).unwrap_or(f64::MAX / 4.0))
    }
}

/// The MAP estimate of one patient's random effects from their labs, with the population as the prior:
/// Nelder–Mead from the typical patient (`z = 0`, a simplex of unit steps), at most `max_iters` iterations. With
/// no labs it is the typical patient of these covariates.
pub fn map_estimate(data: &PatientData, max_iters: u64) -> crate::Result<MapEstimate> {
    let n = PopulationModel::RANDOM_EFFECTS;
    let evaluations = std::cell::Cell::new(0);
    let post = Posterior {
        data,
        evaluations: &evaluations,
    };
    let zero = vec![0.0; n];
    if data.labs.is_empty() {
        return Ok(MapEstimate {
            patient: data.patient(&zero),
            objective: 0.0,
            z: zero,
            evaluations: 0,
        });
    }
    let mut simplex = vec![DVector::zeros(n)];
    for i in 0..n {
        let mut v = DVector::zeros(n);
        v[i] = 1.0;
        simplex.push(v);
    }
    let solver = NelderMead::new(simplex)
        .with_sd_tolerance(1e-6)
        .map_err(|e| crate::Error::invalid("map", "", e.to_string()))?;
    let res = Executor::new(post, solver)
        .configure(|s| s.max_iters(max_iters))
        .run()
        .map_err(|e| crate::Error::invalid("map", "", e.to_string()))?;
    let z: Vec<f64> = res.state().get_best_param().map_or(zero, |b| b.as_slice().to_vec());
    let objective = data
        .objective(&z)
        .ok_or_else(|| crate::Error::invalid("map", "", "the estimate is not a valid model"))?;
    Ok(MapEstimate {
        patient: data.patient(&z),
        objective,
        z,
        evaluations: evaluations.get(),
    })
}

/// Draws from one patient's posterior, by sampling importance resampling (SIR) from the Laplace proposal.
#[derive(Debug, Clone)]
pub struct PosteriorDraws {
    /// Resampled standard-normal effect vectors (each a draw of the posterior).
    pub z: Vec<Vec<f64>>,
    /// Effective sample size of the importance weights, `1 / Σ w²` (out of the proposals drawn).
    pub ess: f64,
    /// Proposals drawn.
    pub proposals: usize,
}

/// `draws` posterior draws of the patient's effects given their labs: a Gaussian proposal at the MAP with the
/// objective's curvature (central differences, step 0.05; negative curvature clipped, so directions the labs do
/// not inform keep the prior's unit curvature), `proposals` candidates from it (widened 1.5× so the tails are
/// covered), importance weights `exp(−objective) / proposal density`, and `draws` resampled by systematic
/// resampling. The effective sample size says how well the proposal matched; `rng` is the patient's own stream.
pub fn posterior_draws<R: rand::Rng + ?Sized>(
    data: &PatientData,
    map: &MapEstimate,
    proposals: usize,
    draws: usize,
    rng: &mut R,
) -> crate::Result<PosteriorDraws> {
    use rand_distr::{Distribution, StandardNormal};
    if proposals == 0 || draws == 0 {
        return Err(crate::Error::invalid(
            "draws",
            draws.min(proposals),
            "must be at least 1",
        ));
    }
    let n = map.z.len();
    let f = |z: &[f64]| data.objective(z);
    let f0 = f(&map.z).ok_or_else(|| crate::Error::invalid("map", "", "the MAP is not a valid model"))?;
    let h = 0.05;
    let at = |d: &[(usize, f64)]| {
        let mut z = map.z.clone();
        for &(i, s) in d {
            z[i] += s;
        }
        f(&z).unwrap_or(f0 + 1e6)
    };
    let mut hess = nalgebra::DMatrix::<f64>::zeros(n, n);
    for i in 0..n {
        hess[(i, i)] = (at(&[(i, h)]) - 2.0 * f0 + at(&[(i, -h)])) / (h * h);
        for j in 0..i {
            let v = (at(&[(i, h), (j, h)]) - at(&[(i, h), (j, -h)]) - at(&[(i, -h), (j, h)]) + at(&[(i, -h), (j, -h)]))
                / (4.0 * h * h);
            hess[(i, j)] = v;
            hess[(j, i)] = v;
        }
    }
    // The prior alone has unit curvature; clip what the labs add at zero.
    let eig = nalgebra::SymmetricEigen::new(hess);
    let clipped = eig.eigenvalues.map(|l| l.max(1.0));
    let cov = &eig.eigenvectors
        * nalgebra::DMatrix::from_diagonal(&clipped.map(|l| 1.5 * 1.5 / l))
        * eig.eigenvectors.transpose();
    let chol = cov
        .cholesky()
        .ok_or_else(|| crate::Error::invalid("posterior", "", "the proposal covariance is not positive definite"))?;
    let l = chol.l();
    let log_det = 2.0 * (0..n).map(|i| l[(i, i)].ln()).sum::<f64>();
    let inv = chol.inverse();
    let mut cand = Vec::with_capacity(proposals);
    let mut logw = Vec::with_capacity(proposals);
    for _ in 0..proposals {
        let u = nalgebra::DVector::<f64>::from_iterator(n, (0..n).map(|_| StandardNormal.sample(rng)));
        let dz = &l * &u;
        let z: Vec<f64> = map.z.iter().zip(dz.iter()).map(|(a, b)| a + b).collect();
        let log_q = -0.5 * (dz.transpose() * &inv * &dz)[(0, 0)] - 0.5 * log_det;
        let lw = match f(&z) {
            Some(obj) => -obj - log_q,
            None => f64::NEG_INFINITY,
        };
        cand.push(z);
        logw.push(lw);
    }
    let max = logw.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !max.is_finite() {
        return Err(crate::Error::invalid("posterior", "", "no proposal gave a valid model"));
    }
    let w: Vec<f64> = logw.iter().map(|lw| (lw - max).exp()).collect();
    let total: f64 = w.iter().sum();
    let w: Vec<f64> = w.iter().map(|x| x / total).collect();
    let ess = 1.0 / w.iter().map(|x| x * x).sum::<f64>();
    // Systematic resampling: one uniform offset, `draws` evenly spaced pointers into the cumulative weights.
    let u0: f64 = rand::RngExt::random::<f64>(rng) / draws as f64;
    let mut z = Vec::with_capacity(draws);
    let (mut cum, mut k) = (w[0], 0);
    for d in 0..draws {
        let p = u0 + d as f64 / draws as f64;
        while p > cum && k + 1 < w.len() {
            k += 1;
            cum += w[k];
        }
        z.push(cand[k].clone());
    }
    Ok(PosteriorDraws { z, ess, proposals })
}

/// One candidate cladribine start day: the patient's risks after it, under their posterior and under the prior.
#[derive(Debug, Clone, PartialEq)]
pub struct StartDateRow {
    /// Planned first cladribine dose (days from the first dose of the history's regimen).
    pub start_day: f64,
    /// P(worst grade ≥ 3 from the first cladribine dose on), over the posterior draws; `None` if no draw reached
    /// the start within the follow-up.
    pub p_grade_ge3: Option<f64>,
    /// P(CD4 < 200 on at least one day from the first cladribine dose on), over the posterior draws.
    pub p_cd4_below_200: Option<f64>,
    /// The same two risks over draws from the prior alone (the population's answer for these covariates).
    pub prior_p_grade_ge3: Option<f64>,
    /// See [`StartDateRow::prior_p_grade_ge3`].
    pub prior_p_cd4_below_200: Option<f64>,
}

/// The two risks over `draws` when cladribine (the label regimen for the patient's weight, under the label's
/// rules) is planned on `start_day` after the history's regimen, followed for `follow_up_days` after it.
fn risks_at(
    data: &PatientData,
    draws: &[Vec<f64>],
    start_day: f64,
    follow_up_days: f64,
) -> crate::Result<(Option<f64>, Option<f64>)> {
    use crate::outcome::{OutcomeConfig, OutcomeTracker, Reference};
    use crate::regimen::{presets, LabelRules, Start};
    let regimen = LabelRules::default().apply(data.regimen.clone().then(
        Start::AtDay(start_day),
        presets::cladribine_label(data.covariates.weight_kg)?,
    ))?;
    let cfg = OutcomeConfig {
        reference: Reference::Switch,
        ..OutcomeConfig::default()
    };
    let (mut n, mut g3, mut cd4) = (0u32, 0u32, 0u32);
    for z in draws {
        let Ok(model) = Model::new(data.patient(z).params) else {
            continue;
        };
        let problem = Problem::new(model, &regimen, start_day + follow_up_days)?;
        let mut tracker = OutcomeTracker::new(problem.model(), &cfg, problem.regimen());
        // No lab noise at the gates: the random stream is not drawn from.
        let mut rng = crate::population::rng::patient_rng(0, 0);
        if crate::simulate::solve(&problem, &SimOptions::default(), &mut rng, &mut tracker).is_err() {
            continue;
        }
        if let Some(w) = tracker.finish().window {
            n += 1;
            g3 += u32::from(w.worst_grade.value() >= 3);
            cd4 += u32::from(w.days_cd4_below_200 > 0);
        }
    }
    let p = |k: u32| (n > 0).then(|| f64::from(k) / f64::from(n));
    Ok((p(g3), p(cd4)))
}

/// For each candidate cladribine start day, the patient's P(G ≥ 3) and P(CD4 < 200) after it under their
/// posterior draws and under `prior` draws (standard-normal vectors from N(0, I)), each followed for
/// `follow_up_days` after the planned start.
pub fn start_date_table(
    data: &PatientData,
    posterior: &[Vec<f64>],
    prior: &[Vec<f64>],
    start_days: &[f64],
    follow_up_days: f64,
) -> crate::Result<Vec<StartDateRow>> {
    if !(follow_up_days.is_finite() && follow_up_days > 0.0 && follow_up_days <= MAX_DAY) {
        return Err(crate::Error::invalid(
            "follow_up_days",
            follow_up_days,
            "must be between 0 and 36525 days",
        ));
    }
    start_days
        .iter()
        .map(|&d| {
            if !(d.is_finite() && (0.0..=MAX_DAY).contains(&d)) {
                return Err(crate::Error::invalid(
                    "start_days",
                    d,
                    "must be days between 0 and 36525",
                ));
            }
            let (p3, p200) = risks_at(data, posterior, d, follow_up_days)?;
            let (q3, q200) = risks_at(data, prior, d, follow_up_days)?;
            Ok(StartDateRow {
                start_day: d,
                p_grade_ge3: p3,
                p_cd4_below_200: p200,
                prior_p_grade_ge3: q3,
                prior_p_cd4_below_200: q200,
            })
        })
        .collect()
}

/// The earliest start day of `table` from which every later one keeps P(G ≥ 3) at or below `max` (posterior, or
/// prior with `prior = true`); `None` if none does.
pub fn earliest_meeting(table: &[StartDateRow], max: f64, prior: bool) -> Option<f64> {
    let ok = |r: &StartDateRow| {
        let p = if prior { r.prior_p_grade_ge3 } else { r.p_grade_ge3 };
        p.is_some_and(|p| p <= max)
    };
    let last_bad = table.iter().rposition(|r| !ok(r));
    match last_bad {
        None => table.first().map(|r| r.start_day),
        Some(i) => table.get(i + 1).map(|r| r.start_day),
    }
}

/// `n` draws of a patient's standard-normal effects from the prior N(0, I) — the population's answer for given
/// covariates, to set beside a patient's posterior.
pub fn prior_draws<R: rand::Rng + ?Sized>(n: usize, rng: &mut R) -> Vec<Vec<f64>> {
    use rand_distr::{Distribution, StandardNormal};
    (0..n)
        .map(|_| {
            (0..PopulationModel::RANDOM_EFFECTS)
                .map(|_| StandardNormal.sample(rng))
                .collect()
        })
        .collect()
}
