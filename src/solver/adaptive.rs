//! The one adaptive loop: step control, the observation cursor and the solver errors, shared by every
//! step-by-step method.
//!
//! A method implements [`Stepper`]: how to attempt one step (and report its weighted error norm), and its
//! dense output inside the last accepted step. [`integrate`] owns everything else — the first step, the
//! last-step clamp to the segment end, the step-size controller ([`StepControl`]), serving observations from the
//! dense output, the step limit and the underflow / non-finite errors — so a new method is its stages and
//! its interpolant, nothing more.

use super::{initial_step, OdeSystem, Sink, SolverError, SolverOptions, SolverStats, Step};

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

/// `x^p` for `x > 0` to about 1e-9 relative, without a transcendental call: `2^(p·log2 x)` with `log2` of the
/// mantissa and `2^` of the fraction from short polynomials. The step-size controller needs a factor, not a
/// correctly rounded power, and it is called at every step; it is deterministic, so results stay reproducible.
#[inline]
pub(crate) fn step_pow(x: f64, p: f64) -> f64 {
    if !(x > 0.0 && x.is_finite()) {
        return x.powf(p);
    }
    let bits = x.to_bits();
    let e = ((bits >> 52) & 0x7ff) as i64;
    if e == 0 {
        return x.powf(p); // subnormal
    }
    // x = m · 2^(e − 1023), m ∈ [1, 2); with m = (1 + u)/(1 − u), ln m = 2·atanh(u), |u| ≤ 1/3.
    let m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000);
    let u = (m - 1.0) / (m + 1.0);
    let u2 = u * u;
    let ln_m = 2.0
        * u
        * (1.0
            + u2 * (1.0 / 3.0
                + u2 * (1.0 / 5.0
                    + u2 * (1.0 / 7.0 + u2 * (1.0 / 9.0 + u2 * (1.0 / 11.0 + u2 * (1.0 / 13.0 + u2 / 15.0)))))));
    let y = p * ((e - 1023) as f64 + ln_m * std::f64::consts::LOG2_E);
    if !(-1000.0..1000.0).contains(&y) {
        return x.powf(p);
    }
    // 2^y = 2^k · e^(r·ln 2), k = round(y), |r| ≤ 1/2.
    let k = y.round();
    let z = (y - k) * std::f64::consts::LN_2;
    let mut ez = 1.0;
    for n in (1..=10).rev() {
        ez = 1.0 + z * ez / n as f64;
    }
    ez * f64::from_bits(((k as i64 + 1023) as u64) << 52)
}

/// The controller's memory within one segment.
struct Controller {
    control: StepControl,
    err_old: f64,
    h_acc: f64,
    err_acc: f64,
    accepted: u64,
    rejected_last: bool,
}

impl Controller {
    fn new(control: StepControl) -> Self {
        Controller {
            control,
            err_old: 1e-4,
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
                let fac11 = step_pow(err, exponent - beta * 0.75);
                let fac = (fac11 / step_pow(self.err_old, beta) / safety).clamp(1.0 / max_ratio, 1.0 / min_ratio);
                self.err_old = err.max(1e-4);
                h / fac
            }
            StepControl::Predictive {
                exponent,
                safety,
                max_growth,
                max_shrink,
            } => {
                let mut fac = (step_pow(err, exponent) / safety).clamp(1.0 / max_growth, max_shrink);
                if self.accepted > 1 {
                    let gus = (self.h_acc / h) * step_pow(err * err / self.err_acc, exponent) / safety;
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
                true => (step_pow(err, exponent) / safety).min(1.0 / min_ratio),
                false => 1.0 / min_ratio,
            },
            StepControl::Predictive {
                exponent,
                safety,
                max_shrink,
                ..
            } => match err.is_finite() {
                true => (step_pow(err, exponent) / safety).clamp(1.0, max_shrink),
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
    stats: &mut SolverStats,
) -> Result<(), SolverError> {
    let len = t1 - t0;
    if len <= 0.0 {
        for &t in obs {
            sink.observation(t, y);
        }
        return Ok(());
    }
    let hmax = opts.max_step_days.min(len);
    let mut f0 = [0.0; N];
    sys.rhs(t0, y, &mut f0);
    stats.rhs_evals += 1;
    let mut h = initial_step(opts, sys, t0, y, &f0, hmax, M::ORDER, stats);
    let mut ctl = Controller::new(M::CONTROL);
    let mut y_new = [0.0; N];
    let mut yo = [0.0; N];
    let mut t = t0;
    let mut steps: u32 = 0;
    let mut next_obs = 0;
    let mut fresh_point = true;
    let wants_steps = sink.wants_steps();
    let mut f_new = [0.0; N];
    loop {
        if fresh_point {
            m.prepare(sys, t, y, &f0, stats);
            fresh_point = false;
        }
        steps += 1;
        if steps > opts.max_steps_per_segment {
            return Err(SolverError::TooManySteps {
                method: M::NAME,
                day: t,
                steps: opts.max_steps_per_segment,
            });
        }
        let last = t + 1.01 * h >= t1;
        if last {
            h = t1 - t;
        }
        let t_new = if last { t1 } else { t + h };
        let err = m.attempt(sys, opts, t, h, t_new, y, &f0, &mut y_new, stats);
        if err <= 1.0 {
            stats.accepted_steps += 1;
            // Serve observations inside (t, t_new] from the dense output.
            if next_obs < obs.len() && obs[next_obs] <= t_new {
                m.prepare_dense(h, y, &y_new);
                while next_obs < obs.len() && obs[next_obs] <= t_new {
                    let to = obs[next_obs];
                    if to >= t_new {
                        sink.observation(to, &y_new);
                    } else {
                        m.dense((to - t) / h, h, y, &y_new, &mut yo);
                        sink.observation(to, &yo);
                    }
                    next_obs += 1;
                }
            }
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
            t = t_new;
            if last {
                return Ok(());
            }
            f0 = f_new;
            h = ctl.accepted(err, h).min(hmax);
            fresh_point = true;
        } else {
            stats.rejected_steps += 1;
            h = ctl.rejected(err, h);
            if h <= 1e-14 * t.abs().max(1.0) {
                return Err(if err.is_finite() {
                    SolverError::StepSizeUnderflow {
                        method: M::NAME,
                        day: t,
                    }
                } else {
                    SolverError::NonFinite {
                        method: M::NAME,
                        day: t,
                    }
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::step_pow;

    #[test]
    fn the_step_factor_power_is_a_power() {
        for p in [0.2, 0.17, 0.04, -0.2, 0.25, 1.0 / 3.0] {
            for k in 0..2000 {
                let x = 10f64.powf(-12.0 + 24.0 * k as f64 / 2000.0);
                let (got, want) = (step_pow(x, p), x.powf(p));
                assert!((got / want - 1.0).abs() < 1e-8, "{x}^{p}: {got} vs {want}");
            }
        }
        assert_eq!(step_pow(0.0, 0.2), 0.0);
        assert!(step_pow(f64::INFINITY, 0.2).is_infinite());
    }
}
