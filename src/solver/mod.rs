//! Integrators behind one interface.
//!
//! The driver in [`crate::simulate`] owns the loop over event-free segments; an integrator only ever
//! solves one segment `[t0, t1]` of an [`OdeSystem`] and reports the state at the observation times that fall
//! inside it (from dense output or interpolation, never by restarting). Choose *how* to integrate with a
//! [`Method`] and [`SolverOptions`]; counts of work come back in [`SolverStats`].
//!
//! | method | what it is |
//! |---|---|
//! | `dopri5` | this crate's allocation-free Dormand–Prince 5(4) with its 4th-order dense output (default) |
//! | `ode-solvers-dopri5` | ode_solvers' Dopri5 with its continuous output model |
//! | `ode-solvers-dop853` | ode_solvers' Dop853; observations by quintic Hermite interpolation between accepted steps |
//! | `ode-solvers-rk4` | ode_solvers' fixed-step RK4 (`fixed_step_days`); observations by quintic Hermite interpolation |
//!
//! The ode_solvers 0.6.2 pitfalls are handled in [`ode_solvers_adapter`]: its dense output's wrong end
//! point is avoided (the end state is the last accepted step), Dop853's stage-time bug is neutralised by
//! making every segment autonomous with a clock state, RK4's step is shrunk to divide the segment, and its
//! stiffness and step failures become [`SolverError`]s that carry the simulated day.

pub mod adaptive;
pub(crate) mod dopri5;
mod hermite;
mod lu;
pub mod ode_solvers_adapter;
mod rodas4;
mod tsit5;

pub use adaptive::WarmStart;
pub use dopri5::Dopri5;
pub use rodas4::Rodas4;
pub use tsit5::Tsit5;

use std::fmt;
use std::str::FromStr;

/// One accepted step of a segment: both ends, each with the state and its derivative — what a cubic Hermite
/// interpolant of the step needs (see [`crate::outcome`], which locates threshold crossings and minima on it).
#[derive(Debug, Clone, Copy)]
pub struct Step<'a, const N: usize> {
    /// Start of the step (day).
    pub t0: f64,
    /// End of the step (day).
    pub t1: f64,
    /// State at `t0`.
    pub y0: &'a [f64; N],
    /// `f(t0, y0)`.
    pub f0: &'a [f64; N],
    /// State at `t1`.
    pub y1: &'a [f64; N],
    /// `f(t1, y1)`.
    pub f1: &'a [f64; N],
}

/// Where one segment's results go: the state at each requested observation time and, if the sink asks for
/// them, every accepted step in time order.
pub trait Sink<const N: usize> {
    /// The state at an observation time.
    fn observation(&mut self, t: f64, y: &[f64; N]);
    /// Whether [`Sink::step`] should be called (default `false`: the step ends' derivatives are then not
    /// computed where a method would not compute them anyway).
    fn wants_steps(&self) -> bool {
        false
    }
    /// One accepted step.
    fn step(&mut self, _step: &Step<'_, N>) {}
}

/// A closure `(t, y)` as a sink of observations only.
pub struct ObservationFn<'a, const N: usize>(pub &'a mut dyn FnMut(f64, &[f64; N]));

impl<const N: usize> Sink<N> for ObservationFn<'_, N> {
    fn observation(&mut self, t: f64, y: &[f64; N]) {
        (self.0)(t, y)
    }
}

/// A first-order ODE system `dy/dt = f(t, y)` with `N` states.
pub trait OdeSystem<const N: usize> {
    /// Writes `f(t, y)` into `dy`.
    fn rhs(&self, t: f64, y: &[f64; N], dy: &mut [f64; N]);

    /// Writes the Jacobian `∂f/∂y` at `(t, y)` into `jac` (`jac[i][j] = ∂f_i/∂y_j`) and `∂f/∂t` into `dfdt`;
    /// `f0` is `f(t, y)`. Returns the number of right-hand-side evaluations spent (0 when analytic).
    ///
    /// Only implicit methods ([`Method::Rodas4`]) call it. The default uses forward differences (`N + 1`
    /// evaluations); the model's systems override it with exact derivatives.
    fn jacobian(&self, t: f64, y: &[f64; N], f0: &[f64; N], jac: &mut [[f64; N]; N], dfdt: &mut [f64; N]) -> u64 {
        let mut f1 = [0.0; N];
        for j in 0..N {
            let h = f64::EPSILON.sqrt() * y[j].abs().max(1e-5);
            let mut y1 = *y;
            y1[j] += h;
            self.rhs(t, &y1, &mut f1);
            for i in 0..N {
                jac[i][j] = (f1[i] - f0[i]) / h;
            }
        }
        let ht = f64::EPSILON.sqrt() * t.abs().max(1e-5);
        self.rhs(t + ht, y, &mut f1);
        for i in 0..N {
            dfdt[i] = (f1[i] - f0[i]) / ht;
        }
        N as u64 + 1
    }
}

/// Which integrator to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Method {
    /// This crate's Dormand–Prince 5(4), allocation-free, with dense output.
    #[default]
    Dopri5,
    /// ode_solvers' Dopri5.
    OdeSolversDopri5,
    /// ode_solvers' Dop853.
    OdeSolversDop853,
    /// ode_solvers' fixed-step classical RK4.
    OdeSolversRk4,
    /// This crate's Rodas4: L-stable Rosenbrock 4(3) with the model's analytic Jacobian.
    Rodas4,
    /// This crate's Tsitouras 5(4), allocation-free, with dense output.
    Tsit5,
}

/// The facts about one method: the one place a method is described.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MethodInfo {
    /// The method.
    pub method: Method,
    /// Stable name (command line, outputs).
    pub name: &'static str,
    /// One-line description.
    pub description: &'static str,
    /// Whether the step adapts to `rtol`/`atol`.
    pub adaptive: bool,
    /// Whether the method is explicit, so that its step must stay inside a bounded stability region (see
    /// [`crate::simulate::STABILITY_CAP`]).
    pub explicit: bool,
    /// Whether the quick work-precision study (`bench work-precision --quick`) includes it.
    pub in_quick_study: bool,
}

/// Every method, in the order `lymphosim methods`, the docs and the work-precision study list them. Adding a
/// method is its file (a [`adaptive::Stepper`] for a step-by-step method), one row here and one arm in
/// [`integrate_segment`].
pub const METHODS: [MethodInfo; 6] = [
    MethodInfo {
        method: Method::Dopri5,
        name: "dopri5",
        description: "own Dormand-Prince 5(4), adaptive, allocation-free, 4th-order dense output (default)",
        adaptive: true,
        explicit: true,
        in_quick_study: true,
    },
    MethodInfo {
        method: Method::Tsit5,
        name: "tsit5",
        description: "own Tsitouras 5(4), adaptive, allocation-free, free 4th-order dense output",
        adaptive: true,
        explicit: true,
        in_quick_study: true,
    },
    MethodInfo {
        method: Method::Rodas4,
        name: "rodas4",
        description: "own Rodas4 Rosenbrock 4(3), L-stable, analytic Jacobian, no step cap, 3rd-order dense output",
        adaptive: true,
        explicit: false,
        in_quick_study: true,
    },
    MethodInfo {
        method: Method::OdeSolversDopri5,
        name: "ode-solvers-dopri5",
        description: "ode_solvers Dopri5, adaptive, continuous output model",
        adaptive: true,
        explicit: true,
        in_quick_study: true,
    },
    MethodInfo {
        method: Method::OdeSolversDop853,
        name: "ode-solvers-dop853",
        description: "ode_solvers Dop853, adaptive 8th order, Hermite-interpolated observations",
        adaptive: true,
        explicit: true,
        in_quick_study: false,
    },
    MethodInfo {
        method: Method::OdeSolversRk4,
        name: "ode-solvers-rk4",
        description: "ode_solvers RK4, fixed step (fixed_step_days), Hermite-interpolated observations",
        adaptive: false,
        explicit: true,
        in_quick_study: false,
    },
];

impl Method {
    /// All methods, in the order of [`METHODS`].
    pub const ALL: [Method; METHODS.len()] = {
        let mut all = [Method::Dopri5; METHODS.len()];
        let mut i = 0;
        while i < METHODS.len() {
            all[i] = METHODS[i].method;
            i += 1;
        }
        all
    };

    /// This method's row of [`METHODS`].
    pub fn info(self) -> &'static MethodInfo {
        METHODS
            .iter()
            .find(|m| m.method == self)
            .expect("every method has a row in METHODS")
    }

    /// Stable name (used on the command line and in outputs).
    pub fn name(self) -> &'static str {
        self.info().name
    }

    /// One-line description.
    pub fn describe(self) -> &'static str {
        self.info().description
    }

    /// Whether the method adapts its step to `rtol`/`atol`.
    pub fn is_adaptive(self) -> bool {
        self.info().adaptive
    }

    /// Whether the method is explicit (see [`MethodInfo::explicit`]). Rodas4 is L-stable and needs no cap.
    pub fn is_explicit(self) -> bool {
        self.info().explicit
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Method {
    type Err = SolverError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Method::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| SolverError::UnknownMethod {
                name: s.to_string(),
                known: Method::ALL.map(Method::name).join(", "),
            })
    }
}

/// Settings shared by all methods.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SolverOptions {
    /// Relative tolerance (adaptive methods).
    pub rtol: f64,
    /// Absolute tolerance, in the states' own units (cells/µL, mg …).
    pub atol: f64,
    /// Largest step (days); `f64::INFINITY` lets the step grow to the segment length.
    pub max_step_days: f64,
    /// Step of fixed-step methods (days); shrunk so that it divides each segment.
    pub fixed_step_days: f64,
    /// Most steps allowed in one segment before giving up.
    pub max_steps_per_segment: u32,
    /// Report stiffness (ode_solvers Dopri5/Dop853's own detector) as an error instead of ploughing on.
    pub detect_stiffness: bool,
}

impl Default for SolverOptions {
    fn default() -> Self {
        SolverOptions {
            rtol: 1e-6,
            atol: 1e-6,
            max_step_days: f64::INFINITY,
            fixed_step_days: 0.02,
            max_steps_per_segment: 2_000_000,
            detect_stiffness: false,
        }
    }
}

impl SolverOptions {
    /// Error weight of a component that moves from `a` to `b`: `atol + rtol · max(|a|, |b|)`.
    #[inline]
    pub fn scale(&self, a: f64, b: f64) -> f64 {
        self.atol + self.rtol * a.abs().max(b.abs())
    }

    /// Checks every option; the error names the option and its value.
    pub fn validate(&self) -> Result<(), SolverError> {
        let checks = [
            (
                "rtol",
                self.rtol,
                self.rtol > 0.0 && self.rtol.is_finite() && self.rtol < 1.0,
                "in (0, 1)",
            ),
            (
                "atol",
                self.atol,
                self.atol > 0.0 && self.atol.is_finite(),
                "finite and > 0",
            ),
            ("max_step_days", self.max_step_days, self.max_step_days > 0.0, "> 0"),
            (
                "fixed_step_days",
                self.fixed_step_days,
                self.fixed_step_days > 0.0 && self.fixed_step_days.is_finite(),
                "finite and > 0",
            ),
            (
                "max_steps_per_segment",
                self.max_steps_per_segment as f64,
                self.max_steps_per_segment > 0,
                "> 0",
            ),
        ];
        for (name, value, ok, requirement) in checks {
            if !ok {
                return Err(SolverError::InvalidOption {
                    name,
                    value,
                    requirement,
                });
            }
        }
        Ok(())
    }
}

/// Work done by an integration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SolverStats {
    /// Right-hand-side evaluations (including those spent on interpolation).
    pub rhs_evals: u64,
    /// Accepted steps.
    pub accepted_steps: u64,
    /// Rejected steps.
    pub rejected_steps: u64,
    /// Event-free segments integrated.
    pub segments: u64,
    /// Jacobian evaluations (implicit methods).
    pub jacobians: u64,
    /// LU decompositions (implicit methods).
    pub lu_decompositions: u64,
}

impl std::ops::AddAssign for SolverStats {
    fn add_assign(&mut self, o: Self) {
        self.rhs_evals += o.rhs_evals;
        self.accepted_steps += o.accepted_steps;
        self.rejected_steps += o.rejected_steps;
        self.segments += o.segments;
        self.jacobians += o.jacobians;
        self.lu_decompositions += o.lu_decompositions;
    }
}

/// An integrator failure, carrying the simulated day where it happened.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum SolverError {
    /// The step size fell below what floating point can resolve.
    #[error("{method}: step size underflow at day {day}")]
    StepSizeUnderflow {
        /// Method name.
        method: &'static str,
        /// Simulated day.
        day: f64,
    },
    /// Too many steps in one segment.
    #[error("{method}: more than {steps} steps in one segment, stopped at day {day}")]
    TooManySteps {
        /// Method name.
        method: &'static str,
        /// Simulated day.
        day: f64,
        /// The limit.
        steps: u32,
    },
    /// The problem looks stiff to the method's stiffness detector.
    #[error("{method}: the problem became stiff at day {day}; use the exact drug propagation (PkForm::Exact) or another method")]
    Stiff {
        /// Method name.
        method: &'static str,
        /// Simulated day.
        day: f64,
    },
    /// The state became NaN or infinite.
    #[error("{method}: the state became non-finite at day {day}")]
    NonFinite {
        /// Method name.
        method: &'static str,
        /// Simulated day.
        day: f64,
    },
    /// An option is out of range.
    #[error("solver option {name}: must be {requirement}, got {value}")]
    InvalidOption {
        /// Option name.
        name: &'static str,
        /// Value given.
        value: f64,
        /// What was expected.
        requirement: &'static str,
    },
    /// No method has this name.
    #[error("unknown method {name:?}; known methods: {known}")]
    UnknownMethod {
        /// The name given.
        name: String,
        /// The names that exist.
        known: String,
    },
}

/// The signature of the ode_solvers adapters.
type Adapter<const N: usize, S> = fn(
    &SolverOptions,
    &S,
    f64,
    f64,
    &mut [f64; N],
    &[f64],
    &mut dyn FnMut(f64, &[f64; N]),
    &mut SolverStats,
) -> Result<(), SolverError>;

/// Integrates `sys` from `t0` to `t1` with `method`, updating `y` to the state at `t1`.
///
/// `obs` are the observation times inside `(t0, t1]`, ascending; `sink` receives the state at each of them
/// in order and, if it asks ([`Sink::wants_steps`]), every accepted step after the observations it holds.
/// `warm` carries the adaptive methods' step from the previous segment and takes this one's ([`WarmStart`];
/// the ode_solvers adapters start cold every segment and leave it as it is). Work is added to `stats`.
#[allow(clippy::too_many_arguments)]
pub fn integrate_segment<const N: usize, S: OdeSystem<N>>(
    method: Method,
    opts: &SolverOptions,
    sys: &S,
    t0: f64,
    t1: f64,
    y: &mut [f64; N],
    obs: &[f64],
    sink: &mut dyn Sink<N>,
    warm: &mut WarmStart,
    stats: &mut SolverStats,
) -> Result<(), SolverError> {
    stats.segments += 1;
    let adapter: Adapter<N, S> = match method {
        Method::Dopri5 => return Dopri5::new(*opts).integrate(sys, t0, t1, y, obs, sink, warm, stats),
        Method::Rodas4 => return Rodas4::new(*opts).integrate(sys, t0, t1, y, obs, sink, warm, stats),
        Method::Tsit5 => return Tsit5::new(*opts).integrate(sys, t0, t1, y, obs, sink, warm, stats),
        Method::OdeSolversDopri5 => ode_solvers_adapter::dopri5,
        Method::OdeSolversDop853 => ode_solvers_adapter::dop853,
        Method::OdeSolversRk4 => ode_solvers_adapter::rk4,
    };
    if !sink.wants_steps() {
        return adapter(opts, sys, t0, t1, y, obs, &mut |t, v| sink.observation(t, v), stats);
    }
    // The ode_solvers methods do not show their steps: their solution is read on a grid of whole days (and the
    // observation times), and each grid interval is reported as a step, with `f` evaluated at its ends.
    let mut grid: Vec<f64> = obs.iter().copied().filter(|&t| t > t0 && t <= t1).collect();
    let first_day = t0.floor() + 1.0;
    let days = (t1 - first_day).max(0.0).floor() as usize;
    grid.extend((0..=days).map(|k| first_day + k as f64).filter(|&t| t < t1));
    grid.push(t1);
    grid.sort_by(f64::total_cmp);
    grid.dedup();
    let mut states: Vec<(f64, [f64; N])> = Vec::with_capacity(grid.len());
    for &t in obs.iter().filter(|&&t| t <= t0) {
        sink.observation(t, y);
    }
    let y_start = *y;
    adapter(opts, sys, t0, t1, y, &grid, &mut |t, v| states.push((t, *v)), stats)?;
    let (mut ta, mut ya) = (t0, y_start);
    let mut fa = [0.0; N];
    sys.rhs(ta, &ya, &mut fa);
    stats.rhs_evals += 1;
    let mut next_obs = obs.partition_point(|&t| t <= t0);
    for (tb, yb) in states {
        let mut fb = [0.0; N];
        sys.rhs(tb, &yb, &mut fb);
        stats.rhs_evals += 1;
        while next_obs < obs.len() && obs[next_obs] <= tb {
            if obs[next_obs] == tb {
                sink.observation(tb, &yb);
            }
            next_obs += 1;
        }
        if tb > ta {
            sink.step(&Step {
                t0: ta,
                t1: tb,
                y0: &ya,
                f0: &fa,
                y1: &yb,
                f1: &fb,
            });
        }
        (ta, ya, fa) = (tb, yb, fb);
    }
    Ok(())
}

/// A first step for an adaptive method of order `order` from the local scale of the solution (Hairer's
/// heuristic, *Solving ODEs I* §II.4); costs one right-hand-side evaluation.
#[allow(clippy::too_many_arguments)]
pub(crate) fn initial_step<const N: usize, S: OdeSystem<N>>(
    opts: &SolverOptions,
    sys: &S,
    t: f64,
    y: &[f64; N],
    f0: &[f64; N],
    hmax: f64,
    order: i32,
    stats: &mut SolverStats,
) -> f64 {
    let (mut dnf, mut dny) = (0.0, 0.0);
    for i in 0..N {
        let sk = opts.scale(y[i], y[i]);
        dnf += (f0[i] / sk).powi(2);
        dny += (y[i] / sk).powi(2);
    }
    let mut h = if dnf <= 1e-10 || dny <= 1e-10 {
        1e-6
    } else {
        0.01 * (dny / dnf).sqrt()
    };
    h = h.min(hmax);
    let mut y1 = [0.0; N];
    for i in 0..N {
        y1[i] = y[i] + h * f0[i];
    }
    let mut f1 = [0.0; N];
    sys.rhs(t + h, &y1, &mut f1);
    stats.rhs_evals += 1;
    let mut der2 = 0.0;
    for i in 0..N {
        der2 += ((f1[i] - f0[i]) / opts.scale(y[i], y[i])).powi(2);
    }
    let der12 = (der2.sqrt() / h).max(dnf.sqrt());
    let h1 = if der12 <= 1e-15 {
        (h * 1e-3).max(1e-6)
    } else {
        (0.01 / der12).powf(1.0 / order as f64)
    };
    (100.0 * h).min(h1).min(hmax)
}
