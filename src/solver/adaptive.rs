//! The one adaptive loop: step control, the observation cursor and the solver errors, shared by every
//! step-by-step method.
//!
//! A method implements [`Stepper`]: how to attempt one step (and report its weighted error norm), and its
//! dense output inside the last accepted step. [`integrate`] owns everything else — the first step, the
//! last-step clamp to the segment end, the step-size controller ([`StepControl`]), serving observations from the
//! dense output, the step limit and the underflow / non-finite errors — so a new method is its stages and
//! its interpolant, nothing more.

use super::{initial_step, OdeSystem, Sink, SolverError, SolverOptions, SolverStats, Step};

/// How far a carried step may exceed the first-step heuristic at a segment start ([`WarmStart`]).
const WARM_FACTOR: f64 = 10.0;

/// What one segment hands the next: the step size the controller proposed at its end.
///
/// Every event time is a solver stop, and a cold start at each stop (Hairer's first-step heuristic, then the
/// controller's growth from there) costs a few small steps per stop; a cladribine course has a stop a day. When
/// the integrated state is continuous across the stop — a dose under exact PK changes only the drug states,
/// which are propagated in closed form, so the cells and their right-hand side are continuous — the step that
/// worked before the stop is the better first guess. It is bounded by ten times the heuristic's guess (a
/// course that starts after a quiet stretch would otherwise inherit a step of weeks and spend rejected
/// attempts shrinking it) and never goes below it. The owner of the state clears it ([`WarmStart::clear`])
/// when an event makes the integrated state jump; then the segment starts cold.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct WarmStart {
    /// The next step (days), if a segment has ended since the last clear.
    next_h: Option<f64>,
}

impl WarmStart {
    /// A cold start: the next segment begins with the first-step heuristic.
    pub fn cold() -> Self {
        WarmStart::default()
    }

    /// Forgets the carried step (after an event that makes the integrated state jump).
    pub fn clear(&mut self) {
        self.next_h = None;
    }

    /// The carried step (days), if any.
    pub fn next_step(&self) -> Option<f64> {
        self.next_h
    }
}

/// How the step size follows the error norm `err` (≤ 1 accepted).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum StepControl {
    /// The PI controller of Hairer's DOPRI5 (*Solving ODEs I* §II.4): `h · err^-(1/q − 0.75β) · err_old^β`.
    Pi {
        /// Exponent `1/q` with `q` the order of the error estimate plus one.
        exponent: f64,
        /// Integral gain β.
        beta: f64,
        /// Safety factor.
        safety: f64,
        /// Smallest step ratio.
        min_ratio: f64,
        /// Largest step ratio.
        max_ratio: f64,
    },
    /// The standard controller with Gustafsson's predictive correction (*Solving ODEs II* §IV.8), as in
    /// Rosenbrock codes.
    Predictive {
        /// Exponent `1/q`.
        exponent: f64,
        /// Safety factor.
        safety: f64,
        /// Largest growth per step.
        max_growth: f64,
        /// Largest shrink per step.
        max_shrink: f64,
    },
}

/// `ln(1e-4)`: the PI controller's floor on the remembered error norm (Hairer's DOPRI5).
const LN_ERR_FLOOR: f64 = -9.210_340_371_976_182;

/// The controller's memory within one segment.
#[derive(Debug, Clone)]
struct Controller {
    control: StepControl,
    /// `ln` of the previous accepted step's error norm (PI control), at least [`LN_ERR_FLOOR`].
    ln_err_old: f64,
    h_acc: f64,
    err_acc: f64,
    accepted: u64,
    rejected_last: bool,
}

impl Controller {
    fn new(control: StepControl) -> Self {
        Controller {
            control,
            ln_err_old: LN_ERR_FLOOR,
            h_acc: 0.0,
            err_acc: 1e-2,
            accepted: 0,
            rejected_last: false,
        }
    }

    /// The next step after an accepted step of size `h` with error norm `err`.
    fn accepted(&mut self, err: f64, h: f64) -> f64 {
        self.accepted += 1;
        let h_new = match self.control {
            StepControl::Pi {
                exponent,
                beta,
                safety,
                min_ratio,
                max_ratio,
            } => {
                // err^(1/q − 0.75β) / err_old^β with one logarithm and one exponential (two powf were 4 % of a
                // cohort run); err_old is kept as its logarithm.
                let ln_err = err.ln();
                let fac = ((exponent - beta * 0.75) * ln_err - beta * self.ln_err_old).exp() / safety;
                self.ln_err_old = ln_err.max(LN_ERR_FLOOR);
                h / fac.clamp(1.0 / max_ratio, 1.0 / min_ratio)
            }
            StepControl::Predictive {
                exponent,
                safety,
                max_growth,
                max_shrink,
            } => {
                let mut fac = (err.powf(exponent) / safety).clamp(1.0 / max_growth, max_shrink);
                if self.accepted > 1 {
                    let gus = (self.h_acc / h) * (err * err / self.err_acc).powf(exponent) / safety;
                    fac = fac.max(gus.clamp(1.0 / max_growth, max_shrink));
                }
                self.h_acc = h;
                self.err_acc = err.max(1e-2);
                h / fac
            }
        };
        let h_new = if self.rejected_last { h_new.min(h) } else { h_new };
        self.rejected_last = false;
        h_new
    }

    /// The retry after a rejected step of size `h` with error norm `err` (infinite if the step failed).
    fn rejected(&mut self, err: f64, h: f64) -> f64 {
        self.rejected_last = true;
        let shrink = match self.control {
            StepControl::Pi {
                exponent,
                safety,
                min_ratio,
                ..
            } => match err.is_finite() {
                true => (err.powf(exponent) / safety).min(1.0 / min_ratio),
                false => 1.0 / min_ratio,
            },
            StepControl::Predictive {
                exponent,
                safety,
                max_shrink,
                ..
            } => match err.is_finite() {
                true => (err.powf(exponent) / safety).clamp(1.0, max_shrink),
                false => max_shrink,
            },
        };
        h / shrink
    }
}

/// The weighted RMS norm of a step's error estimate: `sqrt(mean((err_i / (atol + rtol·max(|y_i|, |y_new_i|)))²))`,
/// with `err(i)` the estimate of component `i`.
#[inline]
pub fn error_norm<const N: usize>(
    opts: &SolverOptions,
    y: &[f64; N],
    y_new: &[f64; N],
    err: impl Fn(usize) -> f64,
) -> f64 {
    let mut sum = 0.0;
    for i in 0..N {
        sum += (err(i) / opts.scale(y[i], y_new[i])).powi(2);
    }
    (sum / N as f64).sqrt()
}

/// One step-by-step method: its stages, error estimate and dense output on `N` states.
pub trait Stepper<const N: usize> {
    /// Method name, for errors.
    const NAME: &'static str;
    /// Order used by the first-step heuristic.
    const ORDER: i32;
    /// Step-size controller.
    const CONTROL: StepControl;

    /// Called at every newly accepted point `(t, y)` with `f0 = f(t, y)`, before the first attempt from it
    /// (a Rosenbrock method evaluates its Jacobian here).
    fn prepare<S: OdeSystem<N>>(&mut self, _sys: &S, _t: f64, _y: &[f64; N], _f0: &[f64; N], _stats: &mut SolverStats) {
    }

    /// Attempts a step of size `h` from `(t, y)` to `t_new` (`t + h`, or the segment end exactly); writes the
    /// new state into `y_new` and returns the weighted RMS error norm (infinite if the step failed).
    #[allow(clippy::too_many_arguments)]
    fn attempt<S: OdeSystem<N>>(
        &mut self,
        sys: &S,
        opts: &SolverOptions,
        t: f64,
        h: f64,
        t_new: f64,
        y: &[f64; N],
        f0: &[f64; N],
        y_new: &mut [f64; N],
        stats: &mut SolverStats,
    ) -> f64;

    /// Readies the dense output of the step just accepted (from `y` to `y_new`, size `h`).
    fn prepare_dense(&mut self, h: f64, y: &[f64; N], y_new: &[f64; N]);

    /// The state at `t + θh` inside the step just accepted (after [`Stepper::prepare_dense`]).
    fn dense(&self, theta: f64, h: f64, y: &[f64; N], y_new: &[f64; N], out: &mut [f64; N]);

    /// `f(t, y)` at the new accepted point into `f0` (first-same-as-last methods copy their last stage).
    fn next_f0<S: OdeSystem<N>>(&mut self, sys: &S, t: f64, y: &[f64; N], f0: &mut [f64; N], stats: &mut SolverStats);
}

/// The adaptive loop of one segment, one attempt at a time: the first step, the step limit, the last-step clamp,
/// the controller and the observation cursor. [`integrate`] drives it for one state; the SIMD lanes
/// ([`crate::simulate::lanes`]) drive one per lane, so both take exactly the same steps.
#[derive(Debug, Clone)]
pub(crate) struct SegmentRun {
    t: f64,
    t1: f64,
    h: f64,
    hmax: f64,
    ctl: Controller,
    steps: u32,
    next_obs: usize,
    /// The attempt in flight: its planned step (kept for the next segment when the segment ends in a
    /// shortened step), whether it ends the segment, and its end.
    h_plan: f64,
    last: bool,
    t_new: f64,
}

impl SegmentRun {
    /// The longest step on a segment from `t0` to `t1` (> `t0`).
    pub(crate) fn max_step(opts: &SolverOptions, t0: f64, t1: f64) -> f64 {
        opts.max_step_days.min(t1 - t0)
    }

    /// Starts a segment from `t0` to `t1` (> `t0`); `cold` is the first-step heuristic's step
    /// ([`initial_step`] with [`SegmentRun::max_step`]), improved by the step carried in `warm`.
    pub(crate) fn begin(
        opts: &SolverOptions,
        control: StepControl,
        t0: f64,
        t1: f64,
        cold: f64,
        warm: &WarmStart,
    ) -> Self {
        let hmax = Self::max_step(opts, t0, t1);
        let h = match warm.next_h {
            Some(h) => h.min(hmax).min(WARM_FACTOR * cold).max(cold),
            None => cold,
        };
        SegmentRun {
            t: t0,
            t1,
            h,
            hmax,
            ctl: Controller::new(control),
            steps: 0,
            next_obs: 0,
            h_plan: h,
            last: false,
            t_new: t0,
        }
    }

    /// The next attempt `(t, h, t_new)`: `t_new` is `t + h`, or the segment end exactly for its last step.
    pub(crate) fn plan(&mut self, opts: &SolverOptions, method: &'static str) -> Result<(f64, f64, f64), SolverError> {
        self.steps += 1;
        if self.steps > opts.max_steps_per_segment {
            return Err(SolverError::TooManySteps {
                method,
                day: self.t,
                steps: opts.max_steps_per_segment,
            });
        }
        self.last = self.t + 1.01 * self.h >= self.t1;
        self.h_plan = self.h;
        if self.last {
            self.h = self.t1 - self.t;
        }
        self.t_new = if self.last { self.t1 } else { self.t + self.h };
        Ok((self.t, self.h, self.t_new))
    }

    /// Whether the attempt in flight ends the segment.
    pub(crate) fn is_last(&self) -> bool {
        self.last
    }

    /// The observations (indices into the segment's list) inside `(t, t_new]` of the attempt just accepted;
    /// the cursor moves past them.
    pub(crate) fn due(&mut self, obs: &[f64]) -> std::ops::Range<usize> {
        let from = self.next_obs;
        while self.next_obs < obs.len() && obs[self.next_obs] <= self.t_new {
            self.next_obs += 1;
        }
        from..self.next_obs
    }

    /// Accepts the attempt in flight with error norm `err` (≤ 1). Returns `true` if it ended the segment; the
    /// step to carry into the next segment is then in `warm`.
    pub(crate) fn accept(&mut self, err: f64, warm: &mut WarmStart) -> bool {
        self.t = self.t_new;
        if self.last {
            warm.next_h = Some(self.ctl.accepted(err, self.h).max(self.h_plan));
            return true;
        }
        self.h = self.ctl.accepted(err, self.h).min(self.hmax);
        false
    }

    /// Rejects the attempt in flight with error norm `err` (> 1, or infinite if the step failed) and shrinks
    /// the step; fails when the step underflows.
    pub(crate) fn reject(&mut self, err: f64, method: &'static str) -> Result<(), SolverError> {
        self.h = self.ctl.rejected(err, self.h);
        if self.h <= 1e-14 * self.t.abs().max(1.0) {
            return Err(if err.is_finite() {
                SolverError::StepSizeUnderflow { method, day: self.t }
            } else {
                SolverError::NonFinite { method, day: self.t }
            });
        }
        Ok(())
    }
}

/// Serves the observations `obs` of an accepted step from `t` (state `y`) to `t_new` (state `y_new`, size
/// `h`) through the stepper's dense output; `prepare_dense` is the stepper's [`Stepper::prepare_dense`].
#[allow(clippy::too_many_arguments)]
pub(crate) fn serve_observations<const N: usize, M: Stepper<N>>(
    m: &mut M,
    obs: &[f64],
    t: f64,
    h: f64,
    t_new: f64,
    y: &[f64; N],
    y_new: &[f64; N],
    sink: &mut dyn Sink<N>,
) {
    if obs.is_empty() {
        return;
    }
    m.prepare_dense(h, y, y_new);
    let mut yo = [0.0; N];
    for &to in obs {
        if to >= t_new {
            sink.observation(to, y_new);
        } else {
            m.dense((to - t) / h, h, y, y_new, &mut yo);
            sink.observation(to, &yo);
        }
    }
}

/// Integrates `sys` from `t0` to `t1` with the stepper `m`; see [`super::integrate_segment`].
#[allow(clippy::too_many_arguments)]
pub fn integrate<const N: usize, S: OdeSystem<N>, M: Stepper<N>>(
    m: &mut M,
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
    if t1 - t0 <= 0.0 {
        for &t in obs {
            sink.observation(t, y);
        }
        return Ok(());
    }
    let mut f0 = [0.0; N];
    sys.rhs(t0, y, &mut f0);
    stats.rhs_evals += 1;
    let hmax = SegmentRun::max_step(opts, t0, t1);
    let cold = initial_step(opts, sys, t0, y, &f0, hmax, M::ORDER, stats);
    let mut run = SegmentRun::begin(opts, M::CONTROL, t0, t1, cold, warm);
    let mut y_new = [0.0; N];
    let mut fresh_point = true;
    let wants_steps = sink.wants_steps();
    let mut f_new = [0.0; N];
    loop {
        if fresh_point {
            m.prepare(sys, run.t, y, &f0, stats);
            fresh_point = false;
        }
        let (t, h, t_new) = run.plan(opts, M::NAME)?;
        let err = m.attempt(sys, opts, t, h, t_new, y, &f0, &mut y_new, stats);
        if err <= 1.0 {
            stats.accepted_steps += 1;
            let due = run.due(obs);
            serve_observations(m, &obs[due], t, h, t_new, y, &y_new, sink);
            let last = run.is_last();
            if !last || wants_steps {
                m.next_f0(sys, t_new, &y_new, &mut f_new, stats);
            }
            if wants_steps {
                sink.step(&Step {
                    t0: t,
                    t1: t_new,
                    y0: y,
                    f0: &f0,
                    y1: &y_new,
                    f1: &f_new,
                });
            }
            *y = y_new;
            if run.accept(err, warm) {
                return Ok(());
            }
            f0 = f_new;
            fresh_point = true;
        } else {
            stats.rejected_steps += 1;
            run.reject(err, M::NAME)?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::solver::{Dopri5, ObservationFn, Tsit5};

    /// `y' = −k(t)·y + 1` with a decay rate that pulses once a day through a ten-day "course" (days 10–20),
    /// `k = 0.05 + 2·sin²(πt)`: like a daily dose, continuous at every day boundary, where the solver stops.
    struct Pulsed;
    impl OdeSystem<1> for Pulsed {
        fn rhs(&self, t: f64, y: &[f64; 1], dy: &mut [f64; 1]) {
            dy[0] = -rate(t) * y[0] + 1.0;
        }
    }

    fn rate(t: f64) -> f64 {
        let pulse = if (10.0..20.0).contains(&t) {
            2.0 * (std::f64::consts::PI * t).sin().powi(2)
        } else {
            0.0
        };
        0.05 + pulse
    }

    /// Integrates day by day (a stop per day) with one carried [`WarmStart`] or a cold start per day.
    fn day_by_day(warm_carried: bool, tsit5: bool) -> (f64, SolverStats) {
        let opts = SolverOptions {
            rtol: 1e-8,
            atol: 1e-10,
            ..Default::default()
        };
        let mut y = [1.0];
        let mut stats = SolverStats::default();
        let mut warm = WarmStart::cold();
        for day in 0..40 {
            if !warm_carried {
                warm.clear();
            }
            let (t0, t1) = (day as f64, day as f64 + 1.0);
            let sink = &mut ObservationFn(&mut |_, _| {});
            if tsit5 {
                Tsit5::new(opts).integrate(&Pulsed, t0, t1, &mut y, &[], sink, &mut warm, &mut stats)
            } else {
                Dopri5::new(opts).integrate(&Pulsed, t0, t1, &mut y, &[], sink, &mut warm, &mut stats)
            }
            .unwrap();
            assert!(warm.next_step().is_some(), "a finished segment hands on its step");
        }
        (y[0], stats)
    }

    /// The solution on day 40 from a cold run at a tolerance a thousand times tighter.
    fn reference() -> f64 {
        let opts = SolverOptions {
            rtol: 1e-11,
            atol: 1e-13,
            ..Default::default()
        };
        let mut y = [1.0];
        let sink = &mut ObservationFn(&mut |_, _| {});
        let (mut stats, mut warm) = (SolverStats::default(), WarmStart::cold());
        Dopri5::new(opts)
            .integrate(&Pulsed, 0.0, 40.0, &mut y, &[], sink, &mut warm, &mut stats)
            .unwrap();
        y[0]
    }

    #[test]
    fn a_carried_step_saves_work_and_keeps_the_accuracy() {
        for tsit5 in [false, true] {
            let (cold, cold_stats) = day_by_day(false, tsit5);
            let (warm, warm_stats) = day_by_day(true, tsit5);
            let truth = reference();
            assert!((cold - truth).abs() < 1e-6 * truth, "cold {cold} vs {truth}");
            assert!((warm - truth).abs() < 1e-6 * truth, "warm {warm} vs {truth}");
            assert!(
                warm_stats.rhs_evals < cold_stats.rhs_evals * 19 / 20,
                "tsit5 {tsit5}: warm {} vs cold {} evaluations",
                warm_stats.rhs_evals,
                cold_stats.rhs_evals
            );
        }
    }

    #[test]
    fn a_carried_step_is_bounded_by_the_first_step_heuristic() {
        // A carried step of a year is cut to ten times the heuristic's first guess; one of zero-ish raised to it.
        let opts = SolverOptions::default();
        let f0 = {
            let mut f = [0.0];
            Pulsed.rhs(10.0, &[1.0], &mut f);
            f
        };
        let cold = initial_step(
            &opts,
            &Pulsed,
            10.0,
            &[1.0],
            &f0,
            f64::INFINITY,
            5,
            &mut SolverStats::default(),
        );
        for (carried, want) in [(365.0, WARM_FACTOR * cold), (1e-9, cold)] {
            let mut first = None;
            let mut warm = WarmStart { next_h: Some(carried) };
            let mut sink = StepProbe(&mut first);
            Dopri5::new(opts)
                .integrate(
                    &Pulsed,
                    10.0,
                    11.0,
                    &mut [1.0],
                    &[],
                    &mut sink,
                    &mut warm,
                    &mut SolverStats::default(),
                )
                .unwrap();
            let (t0, t1) = first.unwrap();
            assert_eq!(t0, 10.0);
            // The first attempt may be rejected and shrunk, never grown.
            assert!(
                t1 - t0 <= want * (1.0 + 1e-12),
                "carried {carried}: first step {}",
                t1 - t0
            );
        }
    }

    /// Records the first accepted step.
    struct StepProbe<'a>(&'a mut Option<(f64, f64)>);
    impl Sink<1> for StepProbe<'_> {
        fn observation(&mut self, _t: f64, _y: &[f64; 1]) {}
        fn wants_steps(&self) -> bool {
            true
        }
        fn step(&mut self, s: &Step<'_, 1>) {
            self.0.get_or_insert((s.t0, s.t1));
        }
    }
}
