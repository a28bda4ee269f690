//! Adapters that run the `ode_solvers` crate's methods behind [`super::OdeSystem`].
//!
//! Each adapter appends a *clock* state `τ` with `dτ/dt = 1` and evaluates the user's system at `τ`, not at
//! the method's stage time. The segment system becomes autonomous, so Dop853's stage-time defect in
//! ode_solvers 0.6.2 (its 12th stage is evaluated at `t` instead of `t + h`) cannot affect the result: the
//! tableau's `a` rows still carry the right stage time in `τ`. The clock adds a zero to the error norm's
//! average over `N + 1` components.
//!
//! Observations: Dopri5 through its continuous output model (the `Dense` output type returns a wrong final
//! point when the output step is coarse, so it is not used); Dop853 and RK4 through cubic Hermite
//! quintic Hermite interpolation between accepted steps (second derivatives by a directional difference;
//! three extra RHS evaluations per step end that holds observations, counted in the stats). The state at the segment end is always the last accepted step.

use ode_solvers::continuous_output_model::ContinuousOutputModel;
use ode_solvers::dop_shared::{IntegrationError, Stats};
use ode_solvers::{DVector, Dop853, Dopri5, OutputType, Rk4, System};

use super::{hermite, OdeSystem, SolverError, SolverOptions, SolverStats};

struct Clocked<'a, S, const N: usize> {
    sys: &'a S,
    /// RK4 only: stop once the independent variable reaches this point (guards against an extra step).
    stop_at: f64,
}

impl<S: OdeSystem<N>, const N: usize> System<f64, DVector<f64>> for Clocked<'_, S, N> {
    fn system(&self, _x: f64, y: &DVector<f64>, dy: &mut DVector<f64>) {
        let mut a = [0.0; N];
        a.copy_from_slice(&y.as_slice()[..N]);
        let mut d = [0.0; N];
        self.sys.rhs(y[N], &a, &mut d);
        dy.as_mut_slice()[..N].copy_from_slice(&d);
        dy[N] = 1.0;
    }

    fn solout(&mut self, x: f64, _y: &DVector<f64>, _dy: &DVector<f64>) -> bool {
        x >= self.stop_at
    }
}

fn with_clock<const N: usize>(y: &[f64; N], t: f64) -> DVector<f64> {
    let mut v = DVector::zeros(N + 1);
    v.as_mut_slice()[..N].copy_from_slice(y);
    v[N] = t;
    v
}

fn strip_clock<const N: usize>(v: &DVector<f64>) -> [f64; N] {
    let mut a = [0.0; N];
    a.copy_from_slice(&v.as_slice()[..N]);
    a
}

fn map_err(method: &'static str, e: IntegrationError, opts: &SolverOptions) -> SolverError {
    match e {
        IntegrationError::MaxNumStepReached { x, .. } => SolverError::TooManySteps {
            method,
            day: x,
            steps: opts.max_steps_per_segment,
        },
        IntegrationError::StepSizeUnderflow { x } => SolverError::StepSizeUnderflow { method, day: x },
        IntegrationError::StiffnessDetected { x } => SolverError::Stiff { method, day: x },
    }
}

fn add_stats(stats: &mut SolverStats, s: Stats) {
    stats.rhs_evals += s.num_eval as u64;
    stats.accepted_steps += s.accepted_steps as u64;
    stats.rejected_steps += s.rejected_steps as u64;
}

fn finish<const N: usize>(
    method: &'static str,
    last: Option<&DVector<f64>>,
    t1: f64,
    y: &mut [f64; N],
) -> Result<(), SolverError> {
    let last = last.ok_or(SolverError::NonFinite { method, day: t1 })?;
    let out: [f64; N] = strip_clock(last);
    if out.iter().any(|v| !v.is_finite()) {
        return Err(SolverError::NonFinite { method, day: t1 });
    }
    *y = out;
    Ok(())
}

/// Serves observations from the accepted points by quintic Hermite interpolation.
fn serve_by_hermite<const N: usize, S: OdeSystem<N>>(
    sys: &S,
    xs: &[f64],
    ys: &[DVector<f64>],
    obs: &[f64],
    sink: &mut dyn FnMut(f64, &[f64; N]),
    stats: &mut SolverStats,
) {
    let mut next = 0;
    let mut left: Option<hermite::Node<N>> = None;
    for w in 1..xs.len() {
        if next >= obs.len() {
            break;
        }
        let x1 = xs[w];
        let is_last = w + 1 == xs.len();
        if obs[next] > x1 && !is_last {
            left = None;
            continue;
        }
        let h = x1 - xs[w - 1];
        let a = match left.take() {
            Some(n) if n.t == xs[w - 1] => n,
            _ => hermite::Node::new(sys, ys[w - 1][N], strip_clock(&ys[w - 1]), h, stats),
        };
        let b = hermite::Node::new(sys, ys[w][N], strip_clock(&ys[w]), h, stats);
        while next < obs.len() && (obs[next] <= x1 || is_last) {
            let t = obs[next];
            if t >= x1 {
                sink(t, &b.y);
            } else {
                sink(t, &hermite::quintic(&a, &b, t));
            }
            next += 1;
        }
        left = Some(b);
    }
}

const DOPRI5: &str = "ode-solvers-dopri5";
const DOP853: &str = "ode-solvers-dop853";
const RK4: &str = "ode-solvers-rk4";

fn n_stiff(opts: &SolverOptions) -> u32 {
    if opts.detect_stiffness {
        1000
    } else {
        u32::MAX
    }
}

/// ode_solvers' Dopri5 on one segment.
#[allow(clippy::too_many_arguments)]
pub fn dopri5<const N: usize, S: OdeSystem<N>>(
    opts: &SolverOptions,
    sys: &S,
    t0: f64,
    t1: f64,
    y: &mut [f64; N],
    obs: &[f64],
    sink: &mut dyn FnMut(f64, &[f64; N]),
    stats: &mut SolverStats,
) -> Result<(), SolverError> {
    if t1 <= t0 {
        obs.iter().for_each(|&t| sink(t, y));
        return Ok(());
    }
    let f = Clocked {
        sys,
        stop_at: f64::INFINITY,
    };
    let hmax = opts.max_step_days.min(t1 - t0);
    let mut solver = Dopri5::from_param(
        f,
        t0,
        t1,
        0.0,
        with_clock(y, t0),
        opts.rtol,
        opts.atol,
        0.9,
        0.04,
        0.2,
        10.0,
        hmax,
        0.0,
        opts.max_steps_per_segment,
        n_stiff(opts),
        OutputType::Continuous,
    );
    let mut dense = ContinuousOutputModel::default();
    let s = solver
        .integrate_with_continuous_output_model(&mut dense)
        .map_err(|e| map_err(DOPRI5, e, opts))?;
    add_stats(stats, s);
    for &t in obs {
        let v = if t >= t1 {
            solver.y_out().last().cloned()
        } else {
            dense.evaluate(t)
        };
        let v = v.ok_or(SolverError::NonFinite { method: DOPRI5, day: t })?;
        sink(t, &strip_clock(&v));
    }
    finish(DOPRI5, solver.y_out().last(), t1, y)
}

/// ode_solvers' Dop853 on one segment.
#[allow(clippy::too_many_arguments)]
pub fn dop853<const N: usize, S: OdeSystem<N>>(
    opts: &SolverOptions,
    sys: &S,
    t0: f64,
    t1: f64,
    y: &mut [f64; N],
    obs: &[f64],
    sink: &mut dyn FnMut(f64, &[f64; N]),
    stats: &mut SolverStats,
) -> Result<(), SolverError> {
    if t1 <= t0 {
        obs.iter().for_each(|&t| sink(t, y));
        return Ok(());
    }
    let f = Clocked {
        sys,
        stop_at: f64::INFINITY,
    };
    let hmax = opts.max_step_days.min(t1 - t0);
    let mut solver = Dop853::from_param(
        f,
        t0,
        t1,
        0.0,
        with_clock(y, t0),
        opts.rtol,
        opts.atol,
        0.9,
        0.0,
        0.333,
        6.0,
        hmax,
        0.0,
        opts.max_steps_per_segment,
        n_stiff(opts),
        OutputType::Sparse,
    );
    let s = solver.integrate().map_err(|e| map_err(DOP853, e, opts))?;
    add_stats(stats, s);
    serve_by_hermite(sys, solver.x_out(), solver.y_out(), obs, sink, stats);
    finish(DOP853, solver.y_out().last(), t1, y)
}

/// ode_solvers' RK4 on one segment, with the step shrunk to divide the segment.
#[allow(clippy::too_many_arguments)]
pub fn rk4<const N: usize, S: OdeSystem<N>>(
    opts: &SolverOptions,
    sys: &S,
    t0: f64,
    t1: f64,
    y: &mut [f64; N],
    obs: &[f64],
    sink: &mut dyn FnMut(f64, &[f64; N]),
    stats: &mut SolverStats,
) -> Result<(), SolverError> {
    let len = t1 - t0;
    if len <= 0.0 {
        obs.iter().for_each(|&t| sink(t, y));
        return Ok(());
    }
    let steps = (len / opts.fixed_step_days).ceil().max(1.0);
    if steps > opts.max_steps_per_segment as f64 {
        return Err(SolverError::TooManySteps {
            method: RK4,
            day: t0,
            steps: opts.max_steps_per_segment,
        });
    }
    let h = len / steps;
    // ode_solvers recomputes the step count with `ceil`, which rounding can turn into one step too many;
    // stopping once x is within a millionth of a step of t1 prevents that overshoot.
    let f = Clocked {
        sys,
        stop_at: t1 - 1e-6 * h,
    };
    let mut solver = Rk4::new(f, t0, with_clock(y, t0), t1, h);
    let s = solver.integrate().map_err(|e| map_err(RK4, e, opts))?;
    add_stats(stats, s);
    serve_by_hermite(sys, solver.x_out(), solver.y_out(), obs, sink, stats);
    finish(RK4, solver.y_out().last(), t1, y)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A time-dependent system: y' = cos(t), y(0) = 0, so y = sin(t). Dop853's stage-time defect would
    /// show here if the clock did not neutralise it.
    struct Forced;
    impl OdeSystem<1> for Forced {
        fn rhs(&self, t: f64, _y: &[f64; 1], dy: &mut [f64; 1]) {
            dy[0] = t.cos();
        }
    }

    #[test]
    fn all_adapters_handle_time_dependent_systems() {
        let opts = SolverOptions {
            rtol: 1e-10,
            atol: 1e-12,
            fixed_step_days: 0.01,
            ..Default::default()
        };
        type Run = fn(
            &SolverOptions,
            &Forced,
            f64,
            f64,
            &mut [f64; 1],
            &[f64],
            &mut dyn FnMut(f64, &[f64; 1]),
            &mut SolverStats,
        ) -> Result<(), SolverError>;
        let runs: [(&str, Run, f64); 3] = [("dopri5", dopri5, 1e-8), ("dop853", dop853, 1e-8), ("rk4", rk4, 1e-8)];
        for (name, run, tol) in runs {
            let mut y = [0.0];
            let obs = [0.5, 1.7, 3.3, 10.0];
            let mut seen = Vec::new();
            run(
                &opts,
                &Forced,
                0.0,
                10.0,
                &mut y,
                &obs,
                &mut |t, v| seen.push((t, v[0])),
                &mut SolverStats::default(),
            )
            .unwrap();
            assert!((y[0] - 10f64.sin()).abs() < tol, "{name}: end {}", y[0]);
            assert_eq!(seen.len(), obs.len(), "{name}");
            for (t, v) in seen {
                assert!((v - t.sin()).abs() < 1e-6, "{name}: t {t}: {v} vs {}", t.sin());
            }
        }
    }

    #[test]
    fn rk4_never_overshoots() {
        let opts = SolverOptions {
            fixed_step_days: 0.1,
            ..Default::default()
        };
        let mut y = [0.0];
        rk4(
            &opts,
            &Forced,
            0.3,
            1.0,
            &mut y,
            &[],
            &mut |_, _| {},
            &mut SolverStats::default(),
        )
        .unwrap();
        assert!((y[0] - (1f64.sin() - 0.3f64.sin())).abs() < 1e-7, "{}", y[0]);
    }
}
