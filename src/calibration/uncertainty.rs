//! What the data pin down, and the parameter uncertainty that follows: the curvature of the calibration loss at a
//! fitted set, an approximate posterior from it, and plausible parameter sets drawn from that posterior.
//!
//! **The approximation (Laplace).** With each target's tolerance read as one standard deviation of a Gaussian
//! error, the squared loss `L = Σ d²` ([`crate::calibration::fit::LossKind::Squared`]) is `−2 log likelihood` up to a
//! constant, so near the fitted values `θ̂` (natural logs of the fitted quantities) the data's precision is half the
//! loss Hessian, `H/2`. A weak log-normal prior around the fitted values — each quantity within a factor
//! `prior_factor` (one standard deviation; default 2) — is added so that directions the data do not constrain
//! stay finite instead of infinite: posterior precision `P = H/2 + I/σp²`, `σp = ln(prior_factor)`, covariance
//! `P⁻¹`. Negative curvature (noise, or a fit not quite at its minimum) is clipped to zero on the eigenvectors of
//! `H`, so it adds no information.
//!
//! **The Hessian** is taken by central differences on the log scale with step `h` (default 0.1, about ±10 %):
//! `1 + 2n + 2n(n − 1)` loss evaluations for `n` quantities, each on the same virtual patients (common random
//! numbers), so the differences are not Monte Carlo noise. Cohort fractions are step functions of the parameters;
//! the step must be large enough to cross several patients' thresholds, which is why it is not smaller.
//!
//! **What it says.** For each quantity: the posterior standard deviation of its log (a 95 % range of
//! `value ·/ exp(1.96 sd)`), whether the data or the prior set it (the ratio of the posterior to the prior SD:
//! near 1 means the data say little), and its strongest partner — the other quantity it trades off against
//! (largest absolute posterior correlation). [`sample_sets`] draws parameter sets from the posterior for
//! `lymphosim run --uncertainty N`.

use nalgebra::{DMatrix, DVector};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;

use super::fit::{evaluate, FitParam, LossKind, LossSpec};
use crate::error::{Error, Result};
use crate::model::Model;
use crate::population::paramset::{ParamSet, Uncertainty};

/// How the curvature is taken.
#[derive(Debug, Clone)]
pub struct CurvatureSpec {
    /// The loss (its kind is forced to [`LossKind::Squared`], the one with a likelihood reading).
    pub loss: LossSpec,
    /// Central-difference step on the log scale (0.01 to 0.5).
    pub step: f64,
    /// Prior: each quantity within this factor of its fitted value, as one standard deviation (> 1).
    pub prior_factor: f64,
}

/// One fitted quantity in the identifiability table.
#[derive(Debug, Clone, PartialEq)]
pub struct QuantityRow {
    /// The quantity, as `--fit` names it.
    pub name: String,
    /// Its value in the set.
    pub value: f64,
    /// Posterior standard deviation of its natural log.
    pub log_sd: f64,
    /// Posterior SD over prior SD (≈ 1: the data say little about it; ≪ 1: pinned by the data).
    pub sd_ratio: f64,
    /// The quantity it trades off against most, with their posterior correlation.
    pub partner: Option<(String, f64)>,
}

/// The result: the table, and the posterior to store in the set.
#[derive(Debug, Clone)]
pub struct Identifiability {
    /// One row per quantity, in the order given.
    pub rows: Vec<QuantityRow>,
    /// The posterior (log scale), ready for [`ParamSet::uncertainty`].
    pub uncertainty: Uncertainty,
    /// Loss at the set's values.
    pub loss: f64,
    /// Loss evaluations made.
    pub evaluations: usize,
}

/// The set with the quantities' logs moved by `dx`.
pub(super) fn moved(set: &ParamSet, fit: &[FitParam], logs: &[f64], dx: &[f64]) -> ParamSet {
    let mut s = set.clone();
    for ((p, l), d) in fit.iter().zip(logs).zip(dx) {
        p.set(&mut s, (l + d).exp());
    }
    s
}

/// Curvature, posterior and identifiability table of `fit` at `set`; `progress` is called after each evaluation.
pub fn laplace(
    spec: &CurvatureSpec,
    set: &ParamSet,
    fit: &[FitParam],
    progress: &(dyn Fn() + Sync),
) -> Result<Identifiability> {
    let n = fit.len();
    if n == 0 {
        return Err(Error::invalid("fit", "", "name at least one quantity"));
    }
    if !(spec.step.is_finite() && (0.01..=0.5).contains(&spec.step)) {
        return Err(Error::invalid(
            "step",
            spec.step,
            "must be between 0.01 and 0.5 (on the log scale)",
        ));
    }
    check_prior_factor(spec.prior_factor)?;
    let (values, logs) = values_and_logs(set, fit, "fit")?;
    let loss_spec = LossSpec {
        loss: LossKind::Squared,
        ..spec.loss.clone()
    };
    let h = spec.step;
    // The design: the centre, ±h on each axis, and the four corners of each pair.
    let mut points: Vec<Vec<f64>> = vec![vec![0.0; n]];
    for i in 0..n {
        for s in [h, -h] {
            let mut d = vec![0.0; n];
            d[i] = s;
            points.push(d);
        }
    }
    for i in 0..n {
        for j in i + 1..n {
            for (si, sj) in [(h, h), (h, -h), (-h, h), (-h, -h)] {
                let mut d = vec![0.0; n];
                d[i] = si;
                d[j] = sj;
                points.push(d);
            }
        }
    }
    let losses: Vec<f64> = points
        .par_iter()
        .map(|d| {
            let s = moved(set, fit, &logs, d);
            // A point the model rejects is far from plausible: it gets a large loss, not an error.
            let l = match Model::new(s.typical.clone()) {
                Ok(_) => evaluate(&loss_spec, &s).map(|(l, _)| l).unwrap_or(1e6),
                Err(_) => 1e6,
            };
            progress();
            l
        })
        .collect();
    let l0 = losses[0];
    let axis = |i: usize, plus: bool| losses[1 + 2 * i + usize::from(!plus)];
    let mut hess = DMatrix::<f64>::zeros(n, n);
    for i in 0..n {
        hess[(i, i)] = (axis(i, true) - 2.0 * l0 + axis(i, false)) / (h * h);
    }
    let mut k = 1 + 2 * n;
    for i in 0..n {
        for j in i + 1..n {
            let (pp, pm, mp, mm) = (losses[k], losses[k + 1], losses[k + 2], losses[k + 3]);
            k += 4;
            let v = (pp - pm - mp + mm) / (4.0 * h * h);
            hess[(i, j)] = v;
            hess[(j, i)] = v;
        }
    }
    // Data precision H/2, negative curvature clipped on H's eigenvectors.
    let eig = nalgebra::SymmetricEigen::new(hess * 0.5);
    let clipped = eig.eigenvalues.map(|l| l.max(0.0));
    let data_precision = &eig.eigenvectors * DMatrix::from_diagonal(&clipped) * eig.eigenvectors.transpose();
    let prior_sd = spec.prior_factor.ln();
    let precision = &data_precision + DMatrix::<f64>::identity(n, n) / (prior_sd * prior_sd);
    let cov = precision
        .try_inverse()
        .ok_or_else(|| Error::invalid("curvature", "", "the posterior precision is singular"))?;
    let names: Vec<String> = fit.iter().map(|p| p.name()).collect();
    let rows = (0..n)
        .map(|i| {
            let sd = cov[(i, i)].sqrt();
            let partner = (0..n)
                .filter(|&j| j != i)
                .map(|j| (j, cov[(i, j)] / (sd * cov[(j, j)].sqrt())))
                .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))
                .map(|(j, r)| (names[j].clone(), r));
            QuantityRow {
                name: names[i].clone(),
                value: values[i],
                log_sd: sd,
                sd_ratio: sd / prior_sd,
                partner,
            }
        })
        .collect();
    let uncertainty = Uncertainty {
        method: format!(
            "Laplace approximation at the set's values: squared loss (tolerance = 1 SD), central differences with log step {h}, {} patients per cohort (seed {}), log-normal prior of factor {} (1 SD)",
            spec.loss.patients, spec.loss.seed, spec.prior_factor
        ),
        names,
        log_covariance: (0..n)
            .map(|i| (0..n).map(|j| 0.5 * (cov[(i, j)] + cov[(j, i)])).collect())
            .collect(),
        draws: Vec::new(),
    };
    Ok(Identifiability {
        rows,
        uncertainty,
        loss: l0,
        evaluations: points.len(),
    })
}

/// Checks a prior factor: each quantity within this factor of its value as one SD, in (1, 100].
pub(super) fn check_prior_factor(f: f64) -> Result<()> {
    if f.is_finite() && f > 1.0 && f <= 100.0 {
        Ok(())
    } else {
        Err(Error::invalid("prior_factor", f, "must be a factor in (1, 100]"))
    }
}

/// The quantities' values in `set` and their natural logs; an error naming `field` and the quantity if one is not
/// positive (it could not vary on a log scale).
pub(super) fn values_and_logs(set: &ParamSet, fit: &[FitParam], field: &str) -> Result<(Vec<f64>, Vec<f64>)> {
    let values: Vec<f64> = fit.iter().map(|p| p.get(set)).collect();
    if let Some((p, v)) = fit.iter().zip(&values).find(|(_, v)| !(v.is_finite() && **v > 0.0)) {
        return Err(Error::invalid(
            field,
            p.name(),
            format!("must be positive to vary on a log scale, is {v}"),
        ));
    }
    let logs = values.iter().map(|v| v.ln()).collect();
    Ok((values, logs))
}

/// Whether the model accepts `set`: its typical values and its population (a fraction above 1, a closure that
/// fails, a variability setting out of range are not).
pub(super) fn is_valid(set: &ParamSet) -> bool {
    Model::new(set.typical.clone()).is_ok() && set.population(Default::default()).is_ok()
}

/// Lower Cholesky factor of the covariance `cov`, with a tiny jitter so a covariance that is only
/// semi-definite factorises; an error naming `what` otherwise.
pub(super) fn cholesky_lower(cov: &DMatrix<f64>, what: &str) -> Result<DMatrix<f64>> {
    let k = cov.nrows();
    let jitter = 1e-12 * (0..k).map(|i| cov[(i, i)]).fold(0.0, f64::max).max(1e-300);
    Ok((cov + DMatrix::<f64>::identity(k, k) * jitter)
        .cholesky()
        .ok_or_else(|| Error::invalid(what, "", "is not positive semi-definite"))?
        .l())
}

/// Largest number of parameter sets [`sample_sets`] draws.
pub const MAX_SETS: usize = 1000;

/// Draws `n` parameter sets from `set`'s posterior ([`ParamSet::uncertainty`]), reproducibly from `seed`.
///
/// A sampled posterior (stored draws, `lymphosim posterior`) gives `n` of its draws, chosen at random without
/// replacement (so `n` may not exceed the draws stored). A Laplace posterior (a covariance only) gives log-normal
/// draws; a draw the model rejects (a fraction above 1, a closure that fails) is drawn again — the posterior
/// truncated to valid models; after 100 rejections in a row the call fails. The drawn sets keep the parent's
/// provenance and carry no uncertainty of their own.
pub fn sample_sets(set: &ParamSet, n: usize, seed: u64) -> Result<Vec<ParamSet>> {
    let u = set.uncertainty.as_ref().ok_or_else(|| {
        Error::invalid(
            "uncertainty",
            &set.model,
            "the parameter set has no [uncertainty] block (compute one with `lymphosim identifiability`)",
        )
    })?;
    if !(1..=MAX_SETS).contains(&n) {
        return Err(Error::invalid(
            "uncertainty",
            n,
            format!("must be between 1 and {MAX_SETS} parameter sets"),
        ));
    }
    let fit: Vec<FitParam> = u.names.iter().map(|s| FitParam::parse(s)).collect::<Result<_>>()?;
    let logs: Vec<f64> = fit.iter().map(|p| p.get(set).ln()).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x005e_ed0f_5e75);
    if !u.draws.is_empty() {
        if n > u.draws.len() {
            return Err(Error::invalid(
                "uncertainty",
                n,
                format!(
                    "asks for more parameter sets than the {} posterior draws the set stores",
                    u.draws.len()
                ),
            ));
        }
        // A partial Fisher–Yates shuffle picks n distinct draws.
        let mut idx: Vec<usize> = (0..u.draws.len()).collect();
        return (0..n)
            .map(|j| {
                let r = j + rand::RngExt::random_range(&mut rng, 0..idx.len() - j);
                idx.swap(j, r);
                let mut s = moved(set, &fit, &logs, &u.draws[idx[j]]);
                s.uncertainty = None;
                if !is_valid(&s) {
                    return Err(Error::invalid(
                        "uncertainty.draws",
                        idx[j],
                        "gives a model the set's validation rejects",
                    ));
                }
                Ok(s)
            })
            .collect();
    }
    let k = fit.len();
    let l = cholesky_lower(
        &DMatrix::from_fn(k, k, |i, j| u.log_covariance[i][j]),
        "uncertainty.log_covariance",
    )?;
    let mut out = Vec::with_capacity(n);
    let mut rejected = 0;
    while out.len() < n {
        let z = DVector::<f64>::from_iterator(k, (0..k).map(|_| StandardNormal.sample(&mut rng)));
        let dx = &l * z;
        let mut s = moved(set, &fit, &logs, dx.as_slice());
        s.uncertainty = None;
        if is_valid(&s) {
            out.push(s);
            rejected = 0;
        } else {
            rejected += 1;
            if rejected >= 100 {
                return Err(Error::invalid(
                    "uncertainty",
                    "",
                    "100 draws in a row gave invalid models: the posterior is far wider than the valid range",
                ));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_uncertainty(sd: f64) -> ParamSet {
        ParamSet {
            uncertainty: Some(Uncertainty {
                method: "test".into(),
                names: vec!["clad_kill_n4".into(), "variability.clad_sensitivity_cv".into()],
                log_covariance: vec![vec![sd * sd, 0.0], vec![0.0, sd * sd]],
                draws: Vec::new(),
            }),
            ..ParamSet::default()
        }
    }

    #[test]
    fn draws_are_reproducible_and_spread_as_stated() {
        let set = with_uncertainty(0.2);
        let a = sample_sets(&set, 400, 7).unwrap();
        assert_eq!(a, sample_sets(&set, 400, 7).unwrap());
        assert_ne!(a[0], sample_sets(&set, 1, 8).unwrap()[0]);
        let logs: Vec<f64> = a
            .iter()
            .map(|s| (s.typical.clad_kill_n4 / set.typical.clad_kill_n4).ln())
            .collect();
        let mean = logs.iter().sum::<f64>() / logs.len() as f64;
        let sd = (logs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (logs.len() - 1) as f64).sqrt();
        assert!(mean.abs() < 0.04 && (sd - 0.2).abs() < 0.03, "mean {mean}, sd {sd}");
        assert!(a.iter().all(|s| s.uncertainty.is_none()));
    }

    #[test]
    fn no_block_or_a_bad_count_is_an_error() {
        assert!(sample_sets(&ParamSet::default(), 3, 1).is_err());
        assert!(sample_sets(&with_uncertainty(0.1), 0, 1).is_err());
        assert!(sample_sets(&with_uncertainty(0.1), MAX_SETS + 1, 1).is_err());
    }
}
