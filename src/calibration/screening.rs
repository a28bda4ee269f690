//! Which parameters the switch answer depends on: Morris elementary-effects screening of the switch-question
//! endpoints.
//!
//! Each screened quantity varies on a log scale over `value / range` to `value · range` around the parameter set's
//! value, on a grid of 4 levels. A trajectory starts at a random grid point and moves one quantity at a time by
//! two thirds of its range, in random order; the change of an endpoint per unit move is that quantity's
//! *elementary effect*. Over the trajectories, μ* (the mean absolute effect) ranks how much the endpoint depends on
//! the quantity and σ (their spread) how much that depends on the others — non-linearity or interaction (Morris
//! 1991; Campolongo, Cariboni & Saltelli 2007 for μ*). Every evaluation is a cohort on the same virtual patients
//! (common random numbers), so the effects are not Monte Carlo noise.
//!
//! Cost: (quantities + 1) × trajectories cohort runs.

use rand::{Rng, RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::fit::FitParam;
use crate::cohort::{ArmRegimen, Cohort};
use crate::error::{Error, Result};
use crate::model::Count;
use crate::population::paramset::ParamSet;
use crate::regimen::LabelRules;

/// Grid levels of the Morris design.
const LEVELS: usize = 4;
/// The move of one quantity, in units of its range: `LEVELS / (2 (LEVELS − 1))`.
const DELTA: f64 = LEVELS as f64 / (2.0 * (LEVELS as f64 - 1.0));

/// The endpoints screened, in the order of [`Effect::mu_star`] and [`Effect::sigma`].
pub const ENDPOINTS: [&str; 3] = ["P(grade >= 3)", "P(CD4 < 200)", "median CD4 nadir"];

/// What to screen, and on which cohort.
#[derive(Debug, Clone)]
pub struct ScreeningSpec {
    /// The quantities screened.
    pub params: Vec<FitParam>,
    /// Each varies from `value / range` to `value · range` (> 1).
    pub range: f64,
    /// Number of trajectories (≥ 2).
    pub trajectories: usize,
    /// The arm's regimen (under the label's rules).
    pub regimen: ArmRegimen,
    /// Patients per cohort.
    pub patients: u64,
    /// Seed of the cohorts and of the design.
    pub seed: u64,
    /// Horizon (years).
    pub horizon_years: f64,
}

/// One quantity's effects on the endpoints.
#[derive(Debug, Clone, PartialEq)]
pub struct Effect {
    /// The quantity.
    pub name: String,
    /// Its value in the parameter set (the middle of its range, on the log scale).
    pub value: f64,
    /// μ*: mean absolute elementary effect per endpoint (endpoint units per full range).
    pub mu_star: [f64; 3],
    /// σ: standard deviation of the elementary effects per endpoint.
    pub sigma: [f64; 3],
}

fn endpoints(spec: &ScreeningSpec, set: &ParamSet) -> Result<[f64; 3]> {
    let run = Cohort::new(set.population(Default::default())?)
        .arm("screened", spec.regimen.clone())
        .label_rules(LabelRules::default())
        .patients(spec.patients)
        .seed(spec.seed)
        .horizon_years(spec.horizon_years)
        .band_step_days(30.0)
        .run()?;
    let s = &run.summary()[0];
    let nadir = s.nadir_of(Count::Cd4).and_then(|q| q.p50).unwrap_or(f64::NAN);
    Ok([s.p_grade_ge3.value, s.p_cd4_below_200.value, nadir])
}

/// The quantity's screened interval `[value / range, value · range]` cut to the values it admits: a fraction
/// (the niche share, say) cannot be doubled past 1, nor `feedback_max` halved below 1, so that end stops at the
/// bound and the range is shorter.
fn interval(spec: &ScreeningSpec, p: &FitParam, value: f64) -> (f64, f64) {
    let (floor, ceiling) = p.bounds();
    ((value / spec.range).max(floor), (value * spec.range).min(ceiling))
}

fn at(spec: &ScreeningSpec, base: &ParamSet, values: &[f64], u: &[f64]) -> ParamSet {
    let mut set = base.clone();
    for ((p, v), x) in spec.params.iter().zip(values).zip(u) {
        let (lo, hi) = interval(spec, p, *v);
        p.set(&mut set, lo * (hi / lo).powf(*x));
    }
    set
}

/// Screens `spec.params` around `set`.
pub fn morris(spec: &ScreeningSpec, set: &ParamSet) -> Result<Vec<Effect>> {
    let k = spec.params.len();
    if k == 0 {
        return Err(Error::invalid("fit", "", "name at least one quantity to screen"));
    }
    if !(spec.range.is_finite() && spec.range > 1.0 && spec.range <= 10.0) {
        return Err(Error::invalid("range", spec.range, "must be a factor in (1, 10]"));
    }
    if !(2..=1000).contains(&spec.trajectories) {
        return Err(Error::invalid(
            "trajectories",
            spec.trajectories,
            "must be between 2 and 1000",
        ));
    }
    let values: Vec<f64> = spec.params.iter().map(|p| p.get(set)).collect();
    if let Some((p, v)) = spec
        .params
        .iter()
        .zip(&values)
        .find(|(_, v)| !(v.is_finite() && **v > 0.0))
    {
        return Err(Error::invalid(
            "fit",
            p.name(),
            format!("must be positive to vary on a log scale, is {v}"),
        ));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    let mut effects = vec![Vec::<[f64; 3]>::new(); k];
    for _ in 0..spec.trajectories {
        // A random start on the lower grid points, then one move per quantity in random order.
        let mut u: Vec<f64> = (0..k)
            .map(|_| rng.random_range(0..LEVELS / 2) as f64 / (LEVELS - 1) as f64)
            .collect();
        let mut order: Vec<usize> = (0..k).collect();
        shuffle(&mut order, &mut rng);
        let mut y = endpoints(spec, &at(spec, set, &values, &u))?;
        for &i in &order {
            u[i] += DELTA;
            let y2 = endpoints(spec, &at(spec, set, &values, &u))?;
            effects[i].push([0, 1, 2].map(|e| (y2[e] - y[e]) / DELTA));
            y = y2;
        }
    }
    Ok(spec
        .params
        .iter()
        .zip(&values)
        .zip(&effects)
        .map(|((p, v), ee)| {
            let stat = |e: usize| {
                let xs: Vec<f64> = ee.iter().map(|x| x[e]).filter(|x| x.is_finite()).collect();
                let n = xs.len().max(1) as f64;
                let mu_star = xs.iter().map(|x| x.abs()).sum::<f64>() / n;
                let mean = xs.iter().sum::<f64>() / n;
                let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
                (mu_star, var.sqrt())
            };
            let s = [stat(0), stat(1), stat(2)];
            Effect {
                name: p.name(),
                value: *v,
                mu_star: s.map(|x| x.0),
                sigma: s.map(|x| x.1),
            }
        })
        .collect())
}

fn shuffle<R: Rng + ?Sized>(v: &mut [usize], rng: &mut R) {
    for i in (1..v.len()).rev() {
        let j = rng.random_range(0..=i);
        v.swap(i, j);
    }
}
