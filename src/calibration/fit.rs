//! Fitting parameters to targets: a deterministic loss and Nelder–Mead (argmin).
//!
//! **Loss.** Each evaluated target contributes the square of its normalised deviation: `(model − value)/(r·|value|)`
//! for a `±r%` tolerance, `(model − value)/a` for `±a`, and for a range `[lo, hi]` the distance outside the range
//! over its half-width (zero inside). A grade distribution contributes its largest component deviation over the
//! tolerance. A value that never came (e.g. "not back within the horizon") counts as 10 tolerances. Cohort
//! targets use a fixed seed, so the same virtual patients are simulated at every evaluation (common random
//! numbers): the loss is a deterministic function of the parameters. A target can be given a weight
//! ([`LossSpec::weights`], `--weight ID=W`); its contribution is multiplied by it.
//!
//! **Search.** Parameters are fitted on the log scale (so they stay positive) with argmin's Nelder–Mead, from a
//! simplex of ±20 % steps. A parameter vector the model rejects gets a large loss rather than an error.

use argmin::core::{CostFunction, Error as ArgminError, Executor, State};
use argmin::solver::neldermead::NelderMead;
use nalgebra::DVector;

use super::targets::{Target, Tolerance};
use super::typical::Comparison;
use crate::error::{Error, Result};
use crate::model::ModelParams;
use crate::population::paramset::ParamSet;
use crate::population::PopulationModel;
use crate::simulate::SimOptions;

/// Deviations are capped at this many tolerances.
const CAP: f64 = 10.0;
/// Loss of a parameter vector the model rejects.
const REJECTED: f64 = 1e6;

/// What the loss is computed from.
#[derive(Debug, Clone)]
pub struct LossSpec {
    /// The targets.
    pub targets: Vec<Target>,
    /// Patients per cohort for cohort targets (0: typical-patient targets only).
    pub patients: u64,
    /// Seed of the cohorts.
    pub seed: u64,
    /// Integration settings.
    pub sim: SimOptions,
    /// Weights of single targets by id (default 1): a target a study cares about more can count more.
    pub weights: Vec<(String, f64)>,
    /// How a target's deviation becomes loss.
    pub loss: LossKind,
}

/// How a target's normalised deviation `d` (in tolerance units, capped at 10) becomes its loss term.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LossKind {
    /// `d²`: every target pulls toward its centre, and crossing into the tolerance earns nothing by itself
    /// (the loss the v1 and v2 sets were fitted with).
    #[default]
    Squared,
    /// `d²`, plus 1 for a target outside its tolerance (as the report says it is): a fit that brings a target
    /// inside gains a whole unit, so it prefers meeting more targets to centring those already met.
    Inside,
}

impl std::str::FromStr for LossKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "squared" => Ok(LossKind::Squared),
            "inside" => Ok(LossKind::Inside),
            other => Err(Error::invalid("loss", other, "must be `squared` or `inside`")),
        }
    }
}

impl LossKind {
    /// The loss term of a comparison (0 when not evaluated).
    pub fn term(self, c: &Comparison) -> f64 {
        signed_deviation(c).map_or(0.0, |d| {
            let d = d.abs().min(CAP);
            match self {
                LossKind::Squared => d * d,
                LossKind::Inside => d * d + if c.within == Some(false) { 1.0 } else { 0.0 },
            }
        })
    }
}

impl LossSpec {
    /// Weight of target `id` (1 unless set).
    pub fn weight(&self, id: &str) -> f64 {
        self.weights.iter().find(|(i, _)| i == id).map_or(1.0, |(_, w)| *w)
    }

    /// Checks that every weight names a target and is finite and > 0.
    pub fn validate(&self) -> Result<()> {
        for (id, w) in &self.weights {
            if !self.targets.iter().any(|t| &t.id == id) {
                return Err(Error::invalid("weight", id, "names no target in the table"));
            }
            if !(w.is_finite() && *w > 0.0) {
                return Err(Error::invalid(format!("weight {id}"), w, "must be finite and > 0"));
            }
        }
        Ok(())
    }
}

/// Parses `ID=WEIGHT` (as given to `lymphosim calibrate --weight`).
pub fn parse_weight(s: &str) -> Result<(String, f64)> {
    let (id, w) = s
        .split_once('=')
        .ok_or_else(|| Error::invalid("weight", s, "must look like ID=WEIGHT, e.g. C16=4"))?;
    let w: f64 = w
        .trim()
        .parse()
        .map_err(|_| Error::invalid(format!("weight {}", id.trim()), w, "must be a number"))?;
    Ok((id.trim().to_string(), w))
}

/// Signed deviation of the model from the target in units of its tolerance: within tolerance is `[-1, 1]` for a
/// `±` tolerance; a range counts only the distance outside it, over its half-width (0 anywhere inside). A grade
/// distribution gives its largest component deviation (≥ 0); a value that never came gives the cap (10). `None`
/// when not evaluated.
pub fn signed_deviation(c: &Comparison) -> Option<f64> {
    let m = c.model?;
    let t = &c.target;
    let d = if c.kind == super::typical::ComparisonKind::LargestComponentDeviation {
        // Grade distribution: the model value is the largest component deviation.
        match t.tolerance {
            Tolerance::Absolute(a) if a > 0.0 => m / a,
            _ => m,
        }
    } else if !m.is_finite() {
        CAP
    } else {
        use super::targets::TargetValue;
        match (&t.value, &t.tolerance) {
            (TargetValue::Number(v), Tolerance::Relative(r)) => (m - v) / (r * v.abs()).max(1e-12),
            (TargetValue::Number(v), Tolerance::Absolute(a)) => (m - v) / a.max(1e-12),
            (_, Tolerance::Interval(lo, hi)) | (TargetValue::Range(lo, hi), Tolerance::WithinRange) => {
                let half = ((hi - lo) / 2.0).max(1e-12);
                let outside = if m < *lo {
                    m - lo
                } else if m > *hi {
                    m - hi
                } else {
                    0.0
                };
                outside / half
            }
            _ => 0.0,
        }
    };
    Some(d)
}

/// Squared normalised deviation of one comparison (0 when not evaluated): the [`LossKind::Squared`] term.
pub fn contribution(c: &Comparison) -> f64 {
    LossKind::Squared.term(c)
}

/// Evaluates every target for a parameter set; returns the loss and the comparisons.
pub fn evaluate(spec: &LossSpec, set: &ParamSet) -> Result<(f64, Vec<Comparison>)> {
    spec.validate()?;
    let mut rows = super::typical::compare(&spec.targets, &set.typical, &spec.sim)?;
    if spec.patients > 0 {
        let pop = PopulationModel::new(set.typical.clone(), Default::default(), set.variability.clone())?;
        for c in super::cohort::compare(&spec.targets, &pop, spec.patients, spec.seed)? {
            if let Some(r) = rows.iter_mut().find(|r| r.target.id == c.target.id) {
                *r = c;
            }
        }
    }
    let loss = rows.iter().map(|c| spec.weight(&c.target.id) * spec.loss.term(c)).sum();
    Ok((loss, rows))
}

/// A fitted quantity: a model parameter, or a variability setting (`variability.NAME`).
#[derive(Debug, Clone, PartialEq)]
pub enum FitParam {
    /// A typical model parameter.
    Typical(String),
    /// A variability setting.
    Variability(String),
}

impl FitParam {
    /// Parses `NAME` (model parameter) or `variability.NAME`.
    pub fn parse(s: &str) -> Result<Self> {
        let s = s.trim();
        if let Some(v) = s.strip_prefix("variability.") {
            if crate::population::Variability::default().get(v).is_none() {
                return Err(Error::invalid(
                    "fit",
                    s,
                    "is not a variability setting (docs/cohort.md)",
                ));
            }
            Ok(FitParam::Variability(v.to_string()))
        } else {
            ModelParams::reference_v1().get(s).map_err(|_| {
                Error::invalid(
                    "fit",
                    s,
                    "is not a model parameter (lymphosim params) or variability.NAME",
                )
            })?;
            Ok(FitParam::Typical(s.to_string()))
        }
    }

    /// The name as written in files.
    pub fn name(&self) -> String {
        match self {
            FitParam::Typical(n) => n.clone(),
            FitParam::Variability(n) => format!("variability.{n}"),
        }
    }

    /// The value in `set`.
    pub fn get(&self, set: &ParamSet) -> f64 {
        match self {
            FitParam::Typical(n) => set.typical.get(n).unwrap_or(f64::NAN),
            FitParam::Variability(n) => set.variability.get(n).unwrap_or(f64::NAN),
        }
    }

    /// The range of values the quantity admits, `(floor, ceiling)`: its constraint's for a model parameter, `(0,
    /// MAX_CV)` for a variability setting ([`crate::population::MAX_CV`]).
    pub fn bounds(&self) -> (f64, f64) {
        match self {
            FitParam::Typical(n) => ModelParams::SPECS
                .iter()
                .find(|s| s.name == n.as_str())
                .map_or((0.0, f64::INFINITY), |s| {
                    (s.constraint.search_floor(), s.constraint.search_ceiling())
                }),
            FitParam::Variability(_) => (0.0, crate::population::MAX_CV),
        }
    }

    /// Sets the value in `set` (not validated).
    pub fn set(&self, set: &mut ParamSet, v: f64) {
        match self {
            FitParam::Typical(n) => {
                let _ = set.typical.set(n, v);
            }
            FitParam::Variability(n) => {
                set.variability.set(n, v);
            }
        }
    }
}

/// The result of a fit.
#[derive(Debug, Clone)]
pub struct FitResult {
    /// The fitted set.
    pub set: ParamSet,
    /// Loss of the starting set.
    pub loss_initial: f64,
    /// Loss of the fitted set.
    pub loss_final: f64,
    /// Nelder–Mead iterations.
    pub iterations: u64,
    /// Local sensitivity: (name, fitted value, loss at −20 %, loss at +20 %).
    pub sensitivity: Vec<(String, f64, f64, f64)>,
}

struct Objective<'a> {
    spec: &'a LossSpec,
    start: &'a ParamSet,
    fit: &'a [FitParam],
    progress: &'a dyn Fn(f64),
}

impl Objective<'_> {
    fn set_at(&self, x: &DVector<f64>) -> ParamSet {
        let mut s = self.start.clone();
        for (p, v) in self.fit.iter().zip(x.iter()) {
            p.set(&mut s, v.exp());
        }
        s
    }
}

impl CostFunction for Objective<'_> {
    type Param = DVector<f64>;
    type Output = f64;
    fn cost(&self, x: &DVector<f64>) -> std::result::Result<f64, ArgminError> {
        let s = self.set_at(x);
        let loss = evaluate(self.spec, &s).map(|(l, _)| l).unwrap_or(REJECTED);
        (self.progress)(loss);
        Ok(loss)
    }
}

/// Fits `fit` starting from `start`: Nelder–Mead for at most `max_iters` iterations, then `restarts` more runs,
/// each from the best point so far with a fresh ±20 % simplex (a collapsed simplex can stall short of a minimum).
/// The fitted set drops the start's `[uncertainty]` block (a posterior belongs to the fit it was sampled at).
pub fn calibrate(
    spec: &LossSpec,
    start: &ParamSet,
    fit: &[FitParam],
    max_iters: u64,
    restarts: u32,
) -> Result<FitResult> {
    calibrate_observed(spec, start, fit, max_iters, restarts, &|_| {})
}

/// [`calibrate`], calling `progress` with the loss of every evaluated point (for a progress display).
pub fn calibrate_observed(
    spec: &LossSpec,
    start: &ParamSet,
    fit: &[FitParam],
    max_iters: u64,
    restarts: u32,
    progress: &dyn Fn(f64),
) -> Result<FitResult> {
    for (i, p) in fit.iter().enumerate() {
        if fit[..i].contains(p) {
            return Err(Error::invalid("fit", p.name(), "is named twice"));
        }
    }
    let mut r = nelder_mead(spec, start, fit, max_iters, progress)?;
    for _ in 0..restarts {
        let next = nelder_mead(spec, &r.set, fit, max_iters, progress)?;
        let improved = next.loss_final < r.loss_final;
        r = FitResult {
            loss_initial: r.loss_initial,
            iterations: r.iterations + next.iterations,
            ..if improved { next } else { r }
        };
        if !improved {
            break;
        }
    }
    r.sensitivity = sensitivity(spec, &r.set, fit)?;
    // The start set's [uncertainty] block described the posterior of another fit: a refitted set has none until
    // `lymphosim posterior` (or `identifiability`) is run on it.
    r.set.uncertainty = None;
    Ok(r)
}

fn nelder_mead(
    spec: &LossSpec,
    start: &ParamSet,
    fit: &[FitParam],
    max_iters: u64,
    progress: &dyn Fn(f64),
) -> Result<FitResult> {
    if fit.is_empty() {
        return Err(Error::invalid("fit", "", "name at least one parameter to fit"));
    }
    for p in fit {
        let v = p.get(start);
        if !(v.is_finite() && v > 0.0) {
            return Err(Error::invalid(
                "fit",
                p.name(),
                format!("must start at a positive value to be fitted on the log scale, is {v}"),
            ));
        }
    }
    let obj = Objective {
        spec,
        start,
        fit,
        progress,
    };
    let x0 = DVector::from_iterator(fit.len(), fit.iter().map(|p| p.get(start).ln()));
    let mut simplex = vec![x0.clone()];
    for i in 0..fit.len() {
        let mut x = x0.clone();
        x[i] += 0.2f64.ln_1p();
        simplex.push(x);
    }
    let loss_initial = obj.cost(&x0).unwrap_or(REJECTED);
    let solver = NelderMead::new(simplex)
        .with_sd_tolerance(1e-3)
        .map_err(|e| Error::invalid("nelder-mead", "", e.to_string()))?;
    let res = Executor::new(obj, solver)
        .configure(|s| s.max_iters(max_iters))
        .run()
        .map_err(|e| Error::invalid("calibrate", "nelder-mead", e.to_string()))?;
    let state = res.state();
    let best = state.get_best_param().cloned().unwrap_or(x0);
    let iterations = state.get_iter();
    let obj = Objective {
        spec,
        start,
        fit,
        progress,
    };
    let set = obj.set_at(&best);
    let loss_final = obj.cost(&best).unwrap_or(REJECTED);
    Ok(FitResult {
        set,
        loss_initial,
        loss_final,
        iterations,
        sensitivity: Vec::new(),
    })
}

/// Loss at ±20 % of each named value, all else fixed.
pub fn sensitivity(spec: &LossSpec, set: &ParamSet, fit: &[FitParam]) -> Result<Vec<(String, f64, f64, f64)>> {
    let mut out = Vec::new();
    for p in fit {
        let v = p.get(set);
        let at = |f: f64| {
            let mut s = set.clone();
            p.set(&mut s, v * f);
            evaluate(spec, &s).map(|(l, _)| l).unwrap_or(REJECTED)
        };
        out.push((p.name(), v, at(0.8), at(1.2)));
    }
    Ok(out)
}
