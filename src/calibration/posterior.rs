//! A sampler of the calibration posterior: what the data allow, without the Laplace approximation's local
//! Gaussian.
//!
//! **The target.** The same posterior [`super::uncertainty::laplace`] approximates: with each target's tolerance
//! read as one standard deviation, the squared loss `L(θ)` ([`LossKind::Squared`]) is `−2 log likelihood` up to a
//! constant, and a weak log-normal prior keeps each quantity within a factor `prior_factor` of the set's value
//! (one SD). On the natural logs `θ` of the fitted quantities, with `θ̂` the set's values and `σp = ln
//! prior_factor`:
//!
//! ```text
//! log p(θ | data) = −L(θ)/2 − |θ − θ̂|² / (2 σp²) + const       (−∞ where the model rejects θ)
//! ```
//!
//! Every evaluation simulates the same virtual patients (common random numbers), so `L` is a deterministic
//! function of `θ` — piecewise constant where cohort fractions move one patient at a time, which a Metropolis
//! sampler, unlike a curvature, does not mind.
//!
//! **The sampler.** Random-walk Metropolis on `θ` in `chains` chains, each with its own random stream
//! (derived from `seed` and the chain's index) and its own start, drawn from the covariance of the set's
//! `[uncertainty]` block — the Laplace posterior (so it must be computed first), or the covariance of an earlier,
//! shorter sample (a pilot run). Proposals are Gaussian with covariance `s² Σ`: during the burn-in `Σ` starts as
//! that covariance and, halfway, becomes the covariance of the chains' first half of burn-in (blended 80/20 with
//! the starting one), and the scale `s` is tuned towards an acceptance of 0.234; after
//! the burn-in both are frozen, so the kept draws are an ordinary Metropolis chain of the posterior above. The
//! chains advance in lockstep and evaluate their proposals in parallel; the result does not depend on the number
//! of threads.
//!
//! **Diagnostics.** Per quantity, over the kept draws of all chains: the split-R̂ of Gelman et al. (near 1 when the
//! chains agree; above 1.1 they have not mixed) and an effective sample size from the chains' autocorrelation
//! (Geyer's initial positive sequence). With tens of quantities and a few thousand evaluations the sample is
//! small: read the ranges with their ESS.

use nalgebra::{DMatrix, DVector};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;

use super::fit::{evaluate, FitParam, LossKind, LossSpec};
use super::uncertainty::{check_prior_factor, cholesky_lower, is_valid, moved, values_and_logs};
use crate::error::{Error, Result};
use crate::population::paramset::{ParamSet, Uncertainty};
use crate::scenario::ensemble::quantile;

/// Largest number of chains.
pub const MAX_CHAINS: usize = 64;
/// Largest number of steps per chain (burn-in or kept).
pub const MAX_STEPS: usize = 1_000_000;
/// Largest number of draws a set stores.
pub const MAX_STORED_DRAWS: usize = 10_000;
/// Acceptance rate the burn-in tunes the proposal scale towards (optimal for random-walk Metropolis in many
/// dimensions; Roberts, Gelman and Gilks, Ann Appl Probab 1997).
pub const TARGET_ACCEPTANCE: f64 = 0.234;
/// Burn-in steps between two adjustments of the proposal scale.
const ADAPT_WINDOW: usize = 20;

/// How the posterior is sampled.
#[derive(Debug, Clone)]
pub struct SamplerSpec {
    /// The loss (its kind is forced to [`LossKind::Squared`], the one with a likelihood reading).
    pub loss: LossSpec,
    /// Prior: each quantity within this factor of the set's value, as one standard deviation (> 1).
    pub prior_factor: f64,
    /// Number of chains (1 to [`MAX_CHAINS`]; at least 2 for R̂).
    pub chains: usize,
    /// Burn-in steps per chain, in which the proposal is tuned (discarded; at least 2 × the adaptation window).
    pub burn_in: usize,
    /// Kept steps per chain after the burn-in (at least 4).
    pub steps: usize,
    /// Draws to store in the set (evenly spaced over the kept steps of all chains; at most [`MAX_STORED_DRAWS`]).
    pub keep: usize,
    /// Seed of the chains' random streams (the cohorts' seed is the loss's).
    pub seed: u64,
}

/// One quantity's marginal posterior.
#[derive(Debug, Clone, PartialEq)]
pub struct PosteriorRow {
    /// The quantity, as `--fit` names it.
    pub name: String,
    /// Its value in the set (the centre of the prior).
    pub value: f64,
    /// Posterior median of the value.
    pub median: f64,
    /// 2.5th and 97.5th percentiles of the value.
    pub range: (f64, f64),
    /// Posterior standard deviation of its natural log.
    pub log_sd: f64,
    /// Effective sample size over all chains.
    pub ess: f64,
    /// Split-R̂ (`None` with one chain).
    pub r_hat: Option<f64>,
}

/// The sampled posterior.
#[derive(Debug, Clone)]
pub struct Posterior {
    /// One row per quantity, in the order of the set's `[uncertainty]` names.
    pub rows: Vec<PosteriorRow>,
    /// The block to store in the set: the draws' covariance and the stored draws.
    pub uncertainty: Uncertainty,
    /// Share of proposals accepted after the burn-in.
    pub acceptance: f64,
    /// Proposal scale `s` after the burn-in (relative to the proposal covariance).
    pub scale: f64,
    /// Loss evaluations made (the starts included).
    pub evaluations: usize,
    /// Kept draws per chain.
    pub steps: usize,
    /// Chains.
    pub chains: usize,
    /// Every kept step of every chain, chain after chain: the trace a user checks the sampling with.
    pub trace: Vec<TraceStep>,
}

/// One kept step of one chain.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceStep {
    /// The chain (from 0).
    pub chain: usize,
    /// The kept step within the chain (from 0; the burn-in is not counted).
    pub step: usize,
    /// The log posterior at the point, up to a constant: `−L/2` minus the prior's penalty.
    pub log_posterior: f64,
    /// The quantities' values at the point, in the order of [`Posterior::rows`] (natural units).
    pub values: Vec<f64>,
}

/// The log posterior at log offsets `dx` from the set's values (`−∞` where the model rejects the point).
fn log_posterior(spec: &LossSpec, set: &ParamSet, fit: &[FitParam], logs: &[f64], dx: &[f64], prior_sd: f64) -> f64 {
    let mut s = moved(set, fit, logs, dx);
    s.uncertainty = None;
    if !is_valid(&s) {
        return f64::NEG_INFINITY;
    }
    let Ok((loss, _)) = evaluate(spec, &s) else {
        return f64::NEG_INFINITY;
    };
    if !loss.is_finite() {
        return f64::NEG_INFINITY;
    }
    let prior: f64 = dx.iter().map(|d| d * d).sum::<f64>() / (2.0 * prior_sd * prior_sd);
    -0.5 * loss - prior
}

/// Covariance of `rows` (each a point), `None` with fewer than two.
fn covariance(rows: &[Vec<f64>], k: usize) -> Option<DMatrix<f64>> {
    if rows.len() < 2 {
        return None;
    }
    let n = rows.len() as f64;
    let mean: Vec<f64> = (0..k).map(|i| rows.iter().map(|r| r[i]).sum::<f64>() / n).collect();
    Some(DMatrix::from_fn(k, k, |i, j| {
        rows.iter().map(|r| (r[i] - mean[i]) * (r[j] - mean[j])).sum::<f64>() / (n - 1.0)
    }))
}

/// One chain's state.
struct Chain {
    rng: ChaCha8Rng,
    x: Vec<f64>,
    lp: f64,
}

/// Samples the posterior of the quantities in `set`'s `[uncertainty]` block; `progress` is called after each loss
/// evaluation.
pub fn metropolis(spec: &SamplerSpec, set: &ParamSet, progress: &(dyn Fn() + Sync)) -> Result<Posterior> {
    let u = set.uncertainty.as_ref().ok_or_else(|| {
        Error::invalid(
            "uncertainty",
            &set.model,
            "the parameter set has no [uncertainty] block to start from (compute one with `lymphosim identifiability`)",
        )
    })?;
    if !(1..=MAX_CHAINS).contains(&spec.chains) {
        return Err(Error::invalid(
            "chains",
            spec.chains,
            format!("must be between 1 and {MAX_CHAINS}"),
        ));
    }
    if !(2 * ADAPT_WINDOW..=MAX_STEPS).contains(&spec.burn_in) {
        return Err(Error::invalid(
            "burn_in",
            spec.burn_in,
            format!("must be between {} and {MAX_STEPS} steps", 2 * ADAPT_WINDOW),
        ));
    }
    if !(4..=MAX_STEPS).contains(&spec.steps) {
        return Err(Error::invalid(
            "steps",
            spec.steps,
            format!("must be between 4 and {MAX_STEPS}"),
        ));
    }
    let kept_total = spec.chains * spec.steps;
    if !(1..=MAX_STORED_DRAWS.min(kept_total)).contains(&spec.keep) {
        return Err(Error::invalid(
            "keep",
            spec.keep,
            format!(
                "must be between 1 and {} (the kept draws, chains × steps, and at most {MAX_STORED_DRAWS})",
                MAX_STORED_DRAWS.min(kept_total)
            ),
        ));
    }
    check_prior_factor(spec.prior_factor)?;
    let fit: Vec<FitParam> = u.names.iter().map(|s| FitParam::parse(s)).collect::<Result<_>>()?;
    let k = fit.len();
    let (values, logs) = values_and_logs(set, &fit, "uncertainty.names")?;
    let loss = LossSpec {
        loss: LossKind::Squared,
        ..spec.loss.clone()
    };
    loss.validate()?;
    let prior_sd = spec.prior_factor.ln();
    let laplace = DMatrix::from_fn(k, k, |i, j| u.log_covariance[i][j]);
    let target = |dx: &[f64]| {
        let lp = log_posterior(&loss, set, &fit, &logs, dx, prior_sd);
        progress();
        lp
    };
    let Chains {
        kept,
        kept_lp,
        acceptance,
        scale,
        evaluations,
    } = run_chains(&target, &laplace, spec)?;
    let centre = &values;
    let trace = kept
        .iter()
        .zip(&kept_lp)
        .enumerate()
        .flat_map(|(chain, (xs, lps))| {
            xs.iter().zip(lps).enumerate().map(move |(step, (x, &lp))| TraceStep {
                chain,
                step,
                log_posterior: lp,
                values: x.iter().zip(centre).map(|(d, v)| v * d.exp()).collect(),
            })
        })
        .collect();
    let all: Vec<Vec<f64>> = kept.concat();
    let rows = (0..k)
        .map(|i| {
            let series: Vec<Vec<f64>> = kept.iter().map(|c| c.iter().map(|x| x[i]).collect()).collect();
            let xs: Vec<f64> = all.iter().map(|x| x[i]).collect();
            // Every kept draw is finite (the chains only accept finite points).
            let q = |p: f64| values[i] * quantile(&xs, p).expect("kept draws").exp();
            let sd = mean_var(&xs).1.sqrt();
            PosteriorRow {
                name: u.names[i].clone(),
                value: values[i],
                median: q(0.5),
                range: (q(0.025), q(0.975)),
                log_sd: sd,
                ess: effective_sample_size(&series),
                r_hat: split_r_hat(&series),
            }
        })
        .collect();
    let cov = covariance(&all, k).expect("at least 4 kept draws");
    let draws = spaced_draws(&kept, spec.keep);
    let uncertainty = Uncertainty {
        method: format!(
            "random-walk Metropolis sample of the posterior: squared loss (tolerance = 1 SD), {} patients per cohort \
             (seed {}), log-normal prior of factor {} (1 SD); {} chains started from the covariance of the set's earlier \
             posterior ({}), {} burn-in and {} kept steps each (acceptance {acceptance:.2}), {} draws stored; \
             log_covariance is the kept draws'",
            spec.loss.patients,
            spec.loss.seed,
            spec.prior_factor,
            spec.chains,
            u.method.split(':').next().unwrap_or_default(),
            spec.burn_in,
            spec.steps,
            spec.keep
        ),
        names: u.names.clone(),
        log_covariance: (0..k)
            .map(|i| (0..k).map(|j| 0.5 * (cov[(i, j)] + cov[(j, i)])).collect())
            .collect(),
        draws,
    };
    Ok(Posterior {
        rows,
        uncertainty,
        acceptance,
        scale,
        evaluations,
        steps: spec.steps,
        chains: spec.chains,
        trace,
    })
}

/// The chains' kept draws (per chain, per step, the point) and what the sampling did.
struct Chains {
    kept: Vec<Vec<Vec<f64>>>,
    /// The log density at each kept point.
    kept_lp: Vec<Vec<f64>>,
    acceptance: f64,
    scale: f64,
    evaluations: usize,
}

/// Random-walk Metropolis on `target` (a log density, `−∞` outside its support) in `laplace.nrows()` dimensions:
/// the chains start from draws of a Gaussian with covariance `laplace` centred at 0, which is also the first
/// proposal shape (see the module's documentation for the burn-in).
fn run_chains(target: &(dyn Fn(&[f64]) -> f64 + Sync), laplace: &DMatrix<f64>, spec: &SamplerSpec) -> Result<Chains> {
    let k = laplace.nrows();
    let laplace_l = cholesky_lower(laplace, "uncertainty.log_covariance")?;

    // Starts: draws from the Laplace posterior, each chain from its own stream, redrawn where the model rejects
    // the point.
    let mut chains: Vec<Chain> = (0..spec.chains)
        .into_par_iter()
        .map(|c| -> Result<Chain> {
            let mut rng = ChaCha8Rng::seed_from_u64(spec.seed ^ 0x0c4a_1e5e_ed00 ^ ((c as u64) << 40));
            for _ in 0..100 {
                let z = DVector::<f64>::from_iterator(k, (0..k).map(|_| StandardNormal.sample(&mut rng)));
                let x: Vec<f64> = (&laplace_l * z).iter().copied().collect();
                let lp = target(&x);
                if lp.is_finite() {
                    return Ok(Chain { rng, x, lp });
                }
            }
            Err(Error::invalid(
                "uncertainty",
                "",
                "100 starting points in a row gave invalid models: the Laplace posterior is far wider than the valid range",
            ))
        })
        .collect::<Result<_>>()?;
    let mut evaluations: usize = spec.chains; // rejected starts are not counted
    let mut proposal_l = laplace_l.clone();
    let mut scale = 2.38 / (k as f64).sqrt();
    let mut burn: Vec<Vec<f64>> = Vec::with_capacity(spec.burn_in * spec.chains);
    let mut kept: Vec<Vec<Vec<f64>>> = vec![Vec::with_capacity(spec.steps); spec.chains];
    let mut kept_lp: Vec<Vec<f64>> = vec![Vec::with_capacity(spec.steps); spec.chains];
    let (mut window_accepted, mut kept_accepted) = (0usize, 0usize);
    for step in 0..spec.burn_in + spec.steps {
        let (l, s) = (&proposal_l, scale);
        let accepted = chains
            .par_iter_mut()
            .map(|ch| {
                let z = DVector::<f64>::from_iterator(k, (0..k).map(|_| StandardNormal.sample(&mut ch.rng)));
                let y: Vec<f64> = ch.x.iter().zip((l * z).iter()).map(|(x, d)| x + s * d).collect();
                let u: f64 = ch.rng.random();
                let lp = target(&y);
                let accept = lp.is_finite() && u.ln() < lp - ch.lp;
                if accept {
                    ch.x = y;
                    ch.lp = lp;
                }
                usize::from(accept)
            })
            .sum::<usize>();
        evaluations += spec.chains;
        if step >= spec.burn_in {
            kept_accepted += accepted;
            for (c, ch) in chains.iter().enumerate() {
                kept[c].push(ch.x.clone());
                kept_lp[c].push(ch.lp);
            }
            continue;
        }
        window_accepted += accepted;
        burn.extend(chains.iter().map(|ch| ch.x.clone()));
        if (step + 1) % ADAPT_WINDOW == 0 {
            // Robbins–Monro on the log scale, with a gain that decays over the burn-in.
            let rate = window_accepted as f64 / (ADAPT_WINDOW * spec.chains) as f64;
            let gain = 4.0 / (1.0 + (step / ADAPT_WINDOW) as f64).sqrt();
            scale *= (gain * (rate - TARGET_ACCEPTANCE)).exp();
            window_accepted = 0;
        }
        if step + 1 == spec.burn_in / 2 {
            if let Some(emp) = covariance(&burn, k) {
                if let Ok(l) = cholesky_lower(&(emp * 0.8 + laplace * 0.2), "burn-in covariance") {
                    proposal_l = l;
                    scale = 2.38 / (k as f64).sqrt();
                }
            }
        }
    }
    Ok(Chains {
        kept,
        kept_lp,
        acceptance: kept_accepted as f64 / (spec.steps * spec.chains) as f64,
        scale,
        evaluations,
    })
}

/// `keep` draws for storage: evenly spaced over the kept steps of all chains taken one after the other (so
/// every chain gives its share, spread over its whole length), rounded to 1e-6 on the log scale (a relative 1e-6
/// on the value).
fn spaced_draws(kept: &[Vec<Vec<f64>>], keep: usize) -> Vec<Vec<f64>> {
    let total: usize = kept.iter().map(Vec::len).sum();
    let stride = total as f64 / keep as f64;
    (0..keep)
        .map(|j| {
            let mut at = ((j as f64 + 0.5) * stride) as usize;
            let chain = kept.iter().position(|c| {
                let inside = at < c.len();
                if !inside {
                    at -= c.len();
                }
                inside
            });
            kept[chain.expect("keep <= the kept draws")][at]
                .iter()
                .map(|x| (x * 1e6).round() / 1e6)
                .collect()
        })
        .collect()
}

/// Mean and sample variance of `x` (at least two values).
fn mean_var(x: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    let m = x.iter().sum::<f64>() / n;
    (m, x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (n - 1.0))
}

/// Split-R̂ (Gelman et al., Bayesian Data Analysis, 3rd ed., 11.4): each chain cut in halves; `None` with one
/// chain or too short a chain. 1 when the chains agree; a chain stuck apart from the others gives a value above 1.
pub fn split_r_hat(chains: &[Vec<f64>]) -> Option<f64> {
    let n = chains.iter().map(Vec::len).min()? / 2;
    if chains.len() < 2 || n < 2 {
        return None;
    }
    let halves: Vec<&[f64]> = chains.iter().flat_map(|c| [&c[..n], &c[n..2 * n]]).collect();
    let stats: Vec<(f64, f64)> = halves.iter().map(|h| mean_var(h)).collect();
    let w = stats.iter().map(|s| s.1).sum::<f64>() / stats.len() as f64;
    let means: Vec<f64> = stats.iter().map(|s| s.0).collect();
    let b = n as f64 * mean_var(&means).1;
    let var_plus = (n as f64 - 1.0) / n as f64 * w + b / n as f64;
    (w > 0.0).then(|| (var_plus / w).sqrt())
}

/// Effective sample size of `chains` together (Geyer's initial positive sequence on the chains' mean
/// autocorrelation, as in Stan's reference manual); at most the number of draws.
pub fn effective_sample_size(chains: &[Vec<f64>]) -> f64 {
    let n = chains.iter().map(Vec::len).min().unwrap_or(0);
    let m = chains.len();
    let total = (m * n) as f64;
    if n < 4 {
        return total;
    }
    let stats: Vec<(f64, f64)> = chains.iter().map(|c| mean_var(&c[..n])).collect();
    let w = stats.iter().map(|s| s.1).sum::<f64>() / m as f64;
    let means: Vec<f64> = stats.iter().map(|s| s.0).collect();
    let var_plus = if m > 1 {
        (n as f64 - 1.0) / n as f64 * w + mean_var(&means).1
    } else {
        w
    };
    if var_plus.is_nan() || var_plus <= 0.0 {
        return total;
    }
    // Autocovariance at lag t, averaged over the chains (biased estimator, divided by n).
    let acov = |t: usize| -> f64 {
        chains
            .iter()
            .zip(&stats)
            .map(|(c, (mu, _))| (0..n - t).map(|i| (c[i] - mu) * (c[i + t] - mu)).sum::<f64>() / n as f64)
            .sum::<f64>()
            / m as f64
    };
    let rho = |t: usize| 1.0 - (w - acov(t)) / var_plus;
    let mut tau = -1.0;
    let mut t = 0;
    let mut prev = f64::INFINITY;
    while t + 1 < n {
        // Pairs of lags, positive and (Geyer's monotone version) non-increasing.
        let pair = (rho(t) + rho(t + 1)).min(prev);
        if pair <= 0.0 {
            break;
        }
        tau += 2.0 * pair;
        prev = pair;
        t += 2;
    }
    (total / tau.max(1.0 / total.ln().max(1.0))).min(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ar1(n: usize, phi: f64, seed: u64) -> Vec<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut x = 0.0;
        (0..n)
            .map(|_| {
                let e: f64 = StandardNormal.sample(&mut rng);
                x = phi * x + (1.0 - phi * phi).sqrt() * e;
                x
            })
            .collect()
    }

    #[test]
    fn ess_of_independent_and_correlated_chains() {
        // Independent draws: ESS near the number of draws.
        let iid: Vec<Vec<f64>> = (0..4).map(|c| ar1(2000, 0.0, c)).collect();
        let e = effective_sample_size(&iid);
        assert!((6000.0..=8000.0).contains(&e), "iid ESS {e}");
        // AR(1) with φ = 0.9: integrated autocorrelation time (1 + φ)/(1 − φ) = 19.
        let cor: Vec<Vec<f64>> = (0..4).map(|c| ar1(5000, 0.9, 10 + c)).collect();
        let e = effective_sample_size(&cor);
        let expected = 20_000.0 / 19.0;
        assert!(
            (expected * 0.7..=expected * 1.4).contains(&e),
            "AR(1) ESS {e}, expected about {expected}"
        );
    }

    #[test]
    fn r_hat_sees_a_chain_apart() {
        let same: Vec<Vec<f64>> = (0..4).map(|c| ar1(1000, 0.5, c)).collect();
        let r = split_r_hat(&same).unwrap();
        assert!((0.99..1.02).contains(&r), "agreeing chains: {r}");
        let mut apart = same.clone();
        apart[3].iter_mut().for_each(|x| *x += 3.0);
        let r = split_r_hat(&apart).unwrap();
        assert!(r > 1.3, "a chain 3 SD away: {r}");
        assert_eq!(split_r_hat(&same[..1]), None);
    }

    fn spec(chains: usize, burn_in: usize, steps: usize, seed: u64) -> SamplerSpec {
        SamplerSpec {
            loss: LossSpec {
                targets: Vec::new(),
                patients: 0,
                seed: 0,
                sim: Default::default(),
                weights: Vec::new(),
                loss: LossKind::Squared,
            },
            prior_factor: 2.0,
            chains,
            burn_in,
            steps,
            keep: 1,
            seed,
        }
    }

    #[test]
    fn the_chains_sample_a_known_gaussian() {
        // A correlated 3-d Gaussian (SDs 1, 0.5, 2; correlation 0.8 between the first two), started from a
        // proposal shape that is wrong in scale and correlation: the burn-in must find the target.
        let sd = [1.0, 0.5, 2.0];
        let corr = DMatrix::from_row_slice(3, 3, &[1.0, 0.8, 0.0, 0.8, 1.0, 0.0, 0.0, 0.0, 1.0]);
        let cov = DMatrix::from_fn(3, 3, |i, j| corr[(i, j)] * sd[i] * sd[j]);
        let precision = cov.clone().try_inverse().unwrap();
        let target = |x: &[f64]| {
            let v = DVector::from_column_slice(x);
            -0.5 * (v.transpose() * &precision * &v)[(0, 0)]
        };
        let start = DMatrix::<f64>::identity(3, 3) * 0.05;
        let r = run_chains(&target, &start, &spec(4, 400, 3000, 3)).unwrap();
        let all: Vec<Vec<f64>> = r.kept.iter().flatten().cloned().collect();
        let emp = covariance(&all, 3).unwrap();
        for i in 0..3 {
            let series: Vec<Vec<f64>> = r.kept.iter().map(|c| c.iter().map(|x| x[i]).collect()).collect();
            let ess = effective_sample_size(&series);
            let mean = all.iter().map(|x| x[i]).sum::<f64>() / all.len() as f64;
            // Monte Carlo error of the mean is sd/sqrt(ESS); allow four of them.
            assert!(mean.abs() < 4.0 * sd[i] / ess.sqrt(), "mean {i}: {mean} (ESS {ess})");
            let got = emp[(i, i)].sqrt();
            assert!((got / sd[i] - 1.0).abs() < 0.12, "SD {i}: {got} vs {}", sd[i]);
            assert!(split_r_hat(&series).unwrap() < 1.05);
            assert!(ess > 300.0, "ESS {i}: {ess}");
        }
        let c01 = emp[(0, 1)] / (emp[(0, 0)] * emp[(1, 1)]).sqrt();
        assert!((c01 - 0.8).abs() < 0.06, "correlation {c01}");
        assert!((0.15..0.45).contains(&r.acceptance), "acceptance {}", r.acceptance);
        assert_eq!(r.evaluations, 4 * (1 + 400 + 3000));
        // The same seed gives the same chains, whatever the threads did.
        let again = run_chains(&target, &start, &spec(4, 400, 3000, 3)).unwrap();
        assert_eq!(again.kept, r.kept);
    }

    #[test]
    fn a_support_boundary_is_respected() {
        // A standard normal truncated to x > 0: no kept draw crosses, and the mean is sqrt(2/pi).
        let target = |x: &[f64]| {
            if x[0] > 0.0 {
                -0.5 * x[0] * x[0]
            } else {
                f64::NEG_INFINITY
            }
        };
        let start = DMatrix::<f64>::identity(1, 1);
        let r = run_chains(&target, &start, &spec(2, 200, 4000, 5)).unwrap();
        let all: Vec<f64> = r.kept.iter().flatten().map(|x| x[0]).collect();
        assert!(all.iter().all(|x| *x > 0.0));
        let mean = all.iter().sum::<f64>() / all.len() as f64;
        assert!((mean - (2.0 / std::f64::consts::PI).sqrt()).abs() < 0.06, "mean {mean}");
    }

    #[test]
    fn bad_settings_are_errors_naming_the_field() {
        let set = ParamSet::default();
        let e = metropolis(&spec(2, 40, 10, 1), &set, &|| {}).unwrap_err().to_string();
        assert!(e.contains("uncertainty"), "{e}");
        let mut with = set.clone();
        with.uncertainty = Some(Uncertainty {
            method: "test".into(),
            names: vec!["clad_zref".into()],
            log_covariance: vec![vec![0.01]],
            draws: Vec::new(),
        });
        for (s, field) in [
            (spec(0, 40, 10, 1), "chains"),
            (spec(2, 3, 10, 1), "burn_in"),
            (spec(2, 40, 2, 1), "steps"),
            (
                SamplerSpec {
                    keep: 21,
                    ..spec(2, 40, 10, 1)
                },
                "keep",
            ),
            (
                SamplerSpec {
                    prior_factor: 1.0,
                    ..spec(2, 40, 10, 1)
                },
                "prior_factor",
            ),
        ] {
            let e = metropolis(&s, &with, &|| {}).unwrap_err().to_string();
            assert!(e.contains(field), "{field}: {e}");
        }
    }

    #[test]
    fn stored_draws_come_from_every_chain_over_its_whole_length() {
        // Chain c's point at step t is (c, t): eight draws from four chains of 100 steps are two per chain,
        // one from each half.
        let kept: Vec<Vec<Vec<f64>>> = (0..4)
            .map(|c| (0..100).map(|t| vec![c as f64, t as f64]).collect())
            .collect();
        let d = spaced_draws(&kept, 8);
        for c in 0..4 {
            let steps: Vec<f64> = d.iter().filter(|x| x[0] == c as f64).map(|x| x[1]).collect();
            assert_eq!(steps.len(), 2, "chain {c}: {d:?}");
            assert!(steps[0] < 50.0 && steps[1] >= 50.0, "chain {c}: {steps:?}");
        }
        assert_eq!(spaced_draws(&kept, 400).len(), 400);
    }
}
