//! One patient from their own labs: a lab history, a residual error model, and the maximum a posteriori (MAP)
//! estimate of the patient's random effects with the population model as the prior.
//!
//! This is the estimation core of the personal forecast. A patient is the population's map
//! ([`PopulationModel::patient`]) of their covariates and a standard-normal vector `z` (prior N(0, I)); the labs
//! are log-normal around the model's counts ([`ResidualModel`]). The MAP minimises
//! `½ |z|² − log L(labs | z)` over `z` with Nelder–Mead (argmin), from the typical patient `z = 0`.
//!
//! **Lab histories** ([`read_history`]) are a plain CSV `day,count,value,unit` or a NONMEM-style event table with
//! lab rows; see [`history`] for both forms, detection limits and labs before the first dose.

use argmin::core::{CostFunction, Error as ArgminError, Executor, State};
use argmin::solver::neldermead::NelderMead;
use nalgebra::DVector;

use crate::model::{Count, Model};
use crate::population::{Patient, PatientCovariates, PopulationModel};
use crate::regimen::Regimen;
use crate::simulate::{simulate, Problem, SimOptions};

pub mod coverage;
pub mod history;
pub mod predict;
pub use history::{
    parse_date, parse_history, parse_nonmem, read_history, History, HistoryError, LabObservation, MAX_DAY,
};
pub use predict::{
    earliest_meeting, forecast, predictive_bands, prior_draws, start_date_table, BandRow, Forecast, ForecastOptions,
    Plan, Risk, StartDateRow, QUANTILES,
};

/// Measurement error of each count: multiplicative and log-normal, `ln y ~ N(ln model, ln(1 + CV²))`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ResidualModel {
    /// CV of ALC, CD4, CD8, CD19 and NK, in [`Count::ALL`] order. Flow-cytometric subsets 15 %: the short-term
    /// CV of a CD4 count from assay and day-to-day physiology together was 13.7 % (95 % CI 12.9–14.6) in 30
    /// clinically stable people sampled six times (Raboud et al., J Acquir Immune Defic Syndr Hum Retrovirol
    /// 1995;10 Suppl 2:S67–73), rounded up and taken for every subset \[lit, CD4; assumption for the others\].
    /// ALC 10 % \[assumption: an automated count without the flow fraction's step; no patient-level source yet\].
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
    /// The SD of `ln y` for count `c`: `sqrt(ln(1 + CV²))`.
    pub fn log_sd(&self, c: Count) -> f64 {
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
    // Before the first dose the model is at its baseline: a lab then is compared with the state at day 0.
    let days: Vec<f64> = labs.iter().map(|o| o.day.max(0.0)).collect();
    let problem = Problem::new(model.clone(), regimen, last.day.max(1.0))
        .ok()?
        .with_observation_days(days.clone())
        .ok()?;
    let t = simulate(&problem, sim).ok()?;
    let mut ll = 0.0;
    for (o, day) in labs.iter().zip(&days) {
        let k = t.days.iter().position(|d| d == day)?;
        let predicted = o.count.of(&model.observe(&t.states[k])).max(1e-6);
        let sd = residual.log_sd(o.count);
        let r = (o.cells_per_ul.ln() - predicted.ln()) / sd;
        ll += if o.below_detection {
            // Censored: the probability that a measurement falls below the limit.
            (0.5 * libm::erfc(-r / std::f64::consts::SQRT_2)).max(1e-300).ln()
        } else {
            -(0.5 * r * r + sd.ln())
        };
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
    let cov =
        &eig.eigenvectors * nalgebra::DMatrix::from_diagonal(&clipped.map(|l| 1.0 / l)) * eig.eigenvectors.transpose();
    let laplace = Gaussian::new(DVector::from_column_slice(&map.z), cov)?;
    let prior = Gaussian::new(DVector::zeros(n), nalgebra::DMatrix::identity(n, n))?;
    // Round 1 proposes from the Laplace Gaussian; round 2 from a Gaussian fitted to round 1's weighted draws.
    // Every draw of both rounds is then weighted against the mixture of both proposals (deterministic-mixture
    // multiple importance sampling), so the weights stay those of one proposal and no draw is thrown away.
    let first = (proposals / 2).max(1);
    let log_target = |z: &DVector<f64>| f(z.as_slice()).map_or(f64::NEG_INFINITY, |obj| -obj);
    let draw = |g: &Gaussian, k: usize, rng: &mut R| -> Vec<(DVector<f64>, f64)> {
        (0..k)
            .map(|_| {
                let u: f64 = rand::RngExt::random::<f64>(rng);
                let z = if u < DEFENSIVE_SHARE {
                    prior.sample(rng)
                } else {
                    g.sample(rng)
                };
                let lt = log_target(&z);
                (z, lt)
            })
            .collect()
    };
    let log_q = |g: &Gaussian, z: &DVector<f64>| {
        log_sum_exp(
            [
                (1.0 - DEFENSIVE_SHARE).ln() + g.log_density(z),
                DEFENSIVE_SHARE.ln() + prior.log_density(z),
            ]
            .into_iter(),
        )
    };
    let round1 = draw(&laplace, first, rng);
    let w1 = normalise(round1.iter().map(|(z, lt)| lt - log_q(&laplace, z)).collect())?;
    let adapted = adapt(&round1, &w1, &laplace);
    let round2 = draw(&adapted, proposals - first, rng);
    let share1 = first as f64 / proposals as f64;
    let (cand, logw): (Vec<_>, Vec<_>) = round1
        .into_iter()
        .chain(round2)
        .map(|(z, lt)| {
            let q = log_sum_exp(
                [
                    share1.ln() + log_q(&laplace, &z),
                    (1.0 - share1).ln() + log_q(&adapted, &z),
                ]
                .into_iter(),
            );
            let lw = lt - q;
            (z.as_slice().to_vec(), lw)
        })
        .unzip();
    let w = normalise(logw)?;
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

/// Share of the proposals drawn from the prior N(0, I) rather than the Laplace Gaussian (a defensive mixture:
/// the importance weights stay bounded by the likelihood however badly the Gaussian fits the posterior's tails).
pub const DEFENSIVE_SHARE: f64 = 0.1;

/// A multivariate Gaussian with its Cholesky factor, to draw from and to evaluate.
struct Gaussian {
    mean: DVector<f64>,
    l: nalgebra::DMatrix<f64>,
    /// `ln det Σ`.
    log_det: f64,
}

impl Gaussian {
    fn new(mean: DVector<f64>, cov: nalgebra::DMatrix<f64>) -> crate::Result<Self> {
        let chol = cov.cholesky().ok_or_else(|| {
            crate::Error::invalid("posterior", "", "the proposal covariance is not positive definite")
        })?;
        let l = chol.l();
        let log_det = 2.0 * l.diagonal().iter().map(|d| d.ln()).sum::<f64>();
        Ok(Gaussian { mean, l, log_det })
    }

    fn sample<R: rand::Rng + ?Sized>(&self, rng: &mut R) -> DVector<f64> {
        use rand_distr::{Distribution, StandardNormal};
        let u = DVector::<f64>::from_iterator(
            self.mean.len(),
            (0..self.mean.len()).map(|_| StandardNormal.sample(rng)),
        );
        &self.mean + &self.l * u
    }

    /// Log density up to the `(2π)^(n/2)` every component shares.
    fn log_density(&self, z: &DVector<f64>) -> f64 {
        let d = z - &self.mean;
        let y = self
            .l
            .solve_lower_triangular(&d)
            .expect("a Cholesky factor has a positive diagonal");
        -0.5 * y.norm_squared() - 0.5 * self.log_det
    }
}

/// Importance weights from their logarithms, summing to 1; an error if none is positive.
fn normalise(logw: Vec<f64>) -> crate::Result<Vec<f64>> {
    let max = logw.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !max.is_finite() {
        return Err(crate::Error::invalid("posterior", "", "no proposal gave a valid model"));
    }
    let w: Vec<f64> = logw.iter().map(|lw| (lw - max).exp()).collect();
    let total: f64 = w.iter().sum();
    Ok(w.into_iter().map(|x| x / total).collect())
}

/// The Gaussian of round 2: the weighted mean and covariance of round 1's draws, the covariance shrunk halfway
/// to the Laplace one (few effective draws estimate a 19 × 19 covariance poorly, and it must stay positive
/// definite).
fn adapt(round: &[(DVector<f64>, f64)], w: &[f64], laplace: &Gaussian) -> Gaussian {
    let n = laplace.mean.len();
    let mean = round
        .iter()
        .zip(w)
        .fold(DVector::zeros(n), |acc, ((z, _), w)| acc + z * *w);
    let cov = round
        .iter()
        .zip(w)
        .fold(nalgebra::DMatrix::zeros(n, n), |acc, ((z, _), w)| {
            let d = z - &mean;
            acc + &d * d.transpose() * *w
        });
    let laplace_cov = &laplace.l * laplace.l.transpose();
    Gaussian::new(mean, 0.5 * cov + 0.5 * laplace_cov).unwrap_or_else(|_| Gaussian {
        mean: laplace.mean.clone(),
        l: laplace.l.clone(),
        log_det: laplace.log_det,
    })
}

fn log_sum_exp(v: impl Iterator<Item = f64>) -> f64 {
    let v: Vec<f64> = v.collect();
    let m = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if m == f64::NEG_INFINITY {
        return m;
    }
    m + v.iter().map(|x| (x - m).exp()).sum::<f64>().ln()
}
