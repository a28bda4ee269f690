//! Dormand–Prince 5(4) with a 4th-order continuous extension, on fixed-size arrays (no heap allocation).
//!
//! Coefficients: Dormand & Prince (1980), dense output as in Hairer, Nørsett & Wanner, *Solving ODEs I*,
//! §II.6. Step control: the usual PI controller (β = 0.04, safety 0.9, step ratio in [0.2, 10]).

use super::adaptive::{error_norm, integrate, StepControl, Stepper, WarmStart};
use super::{OdeSystem, Sink, SolverError, SolverOptions, SolverStats};

pub(crate) const C2: f64 = 1.0 / 5.0;
pub(crate) const C3: f64 = 3.0 / 10.0;
pub(crate) const C4: f64 = 4.0 / 5.0;
pub(crate) const C5: f64 = 8.0 / 9.0;
pub(crate) const A21: f64 = 1.0 / 5.0;
pub(crate) const A31: f64 = 3.0 / 40.0;
pub(crate) const A32: f64 = 9.0 / 40.0;
pub(crate) const A41: f64 = 44.0 / 45.0;
pub(crate) const A42: f64 = -56.0 / 15.0;
pub(crate) const A43: f64 = 32.0 / 9.0;
pub(crate) const A51: f64 = 19372.0 / 6561.0;
pub(crate) const A52: f64 = -25360.0 / 2187.0;
pub(crate) const A53: f64 = 64448.0 / 6561.0;
pub(crate) const A54: f64 = -212.0 / 729.0;
pub(crate) const A61: f64 = 9017.0 / 3168.0;
pub(crate) const A62: f64 = -355.0 / 33.0;
pub(crate) const A63: f64 = 46732.0 / 5247.0;
pub(crate) const A64: f64 = 49.0 / 176.0;
pub(crate) const A65: f64 = -5103.0 / 18656.0;
pub(crate) const A71: f64 = 35.0 / 384.0;
pub(crate) const A73: f64 = 500.0 / 1113.0;
pub(crate) const A74: f64 = 125.0 / 192.0;
pub(crate) const A75: f64 = -2187.0 / 6784.0;
pub(crate) const A76: f64 = 11.0 / 84.0;
// Error weights: 5th-order minus embedded 4th-order weights.
pub(crate) const E1: f64 = 71.0 / 57600.0;
pub(crate) const E3: f64 = -71.0 / 16695.0;
pub(crate) const E4: f64 = 71.0 / 1920.0;
pub(crate) const E5: f64 = -17253.0 / 339200.0;
pub(crate) const E6: f64 = 22.0 / 525.0;
pub(crate) const E7: f64 = -1.0 / 40.0;
// Dense output.
pub(crate) const D1: f64 = -12715105075.0 / 11282082432.0;
pub(crate) const D3: f64 = 87487479700.0 / 32700410799.0;
pub(crate) const D4: f64 = -10690763975.0 / 1880347072.0;
pub(crate) const D5: f64 = 701980252875.0 / 199316789632.0;
pub(crate) const D6: f64 = -1453857185.0 / 822651844.0;
pub(crate) const D7: f64 = 69997945.0 / 29380423.0;

pub(crate) const BETA: f64 = 0.04;
pub(crate) const SAFETY: f64 = 0.9;
const MIN_RATIO: f64 = 0.2;
const MAX_RATIO: f64 = 10.0;
pub(crate) const NAME: &str = "dopri5";

/// This crate's Dormand–Prince 5(4) integrator.
#[derive(Debug, Clone, Copy)]
pub struct Dopri5 {
    opts: SolverOptions,
}

#[inline]
pub(super) fn axpy<const N: usize>(out: &mut [f64; N], y: &[f64; N], h: f64, terms: &[(f64, &[f64; N])]) {
    for i in 0..N {
        let mut s = 0.0;
        for (a, k) in terms {
            s += a * k[i];
        }
        out[i] = y[i] + h * s;
    }
}

impl Dopri5 {
    /// An integrator with these options.
    pub fn new(opts: SolverOptions) -> Self {
        Dopri5 { opts }
    }

    /// Integrates one segment into a [`Sink`] (observations and, if it asks, every accepted step); see
    /// [`super::integrate_segment`]. A closure `(t, y)` of observations is a sink as
    /// [`super::ObservationFn`]`(&mut |t, y| …)`.
    #[allow(clippy::too_many_arguments)]
    pub fn integrate<const N: usize, S: OdeSystem<N>>(
        &mut self,
        sys: &S,
        t0: f64,
        t1: f64,
        y: &mut [f64; N],
        obs: &[f64],
        sink: &mut dyn Sink<N>,
        warm: &mut WarmStart,
        stats: &mut SolverStats,
    ) -> Result<(), SolverError> {
        integrate(
            &mut Stages::<N>::new(),
            &self.opts,
            sys,
            t0,
            t1,
            y,
            obs,
            sink,
            warm,
            stats,
        )
    }
}

/// The stages of one step (`k1` is `f` at the step start; `k7` at its end, reused as the next `k1`).
pub(crate) struct Stages<const N: usize> {
    pub(crate) k: [[f64; N]; 7],
    r5: [f64; N],
}

impl<const N: usize> Stages<N> {
    pub(crate) fn new() -> Self {
        Stages {
            k: [[0.0; N]; 7],
            r5: [0.0; N],
        }
    }

    /// The weighted error norm of the step from `y` to `y_new` (size `h`) whose stages are `self.k`.
    #[inline]
    pub(crate) fn error(&self, opts: &SolverOptions, h: f64, y: &[f64; N], y_new: &[f64; N]) -> f64 {
        let k = &self.k;
        error_norm(opts, y, y_new, |i| {
            h * (E1 * k[0][i] + E3 * k[2][i] + E4 * k[3][i] + E5 * k[4][i] + E6 * k[5][i] + E7 * k[6][i])
        })
    }
}

impl<const N: usize> Stepper<N> for Stages<N> {
    const NAME: &'static str = NAME;
    const ORDER: i32 = 5;
    const CONTROL: StepControl = StepControl::Pi {
        exponent: 0.2,
        beta: BETA,
        safety: SAFETY,
        min_ratio: MIN_RATIO,
        max_ratio: MAX_RATIO,
    };

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
    ) -> f64 {
        let [_, k2, k3, k4, k5, k6, k7] = &mut self.k;
        let k1 = f0;
        let mut ys = [0.0; N];
        axpy(&mut ys, y, h, &[(A21, k1)]);
        sys.rhs(t + C2 * h, &ys, k2);
        axpy(&mut ys, y, h, &[(A31, k1), (A32, &*k2)]);
        sys.rhs(t + C3 * h, &ys, k3);
        axpy(&mut ys, y, h, &[(A41, k1), (A42, &*k2), (A43, &*k3)]);
        sys.rhs(t + C4 * h, &ys, k4);
        axpy(&mut ys, y, h, &[(A51, k1), (A52, &*k2), (A53, &*k3), (A54, &*k4)]);
        sys.rhs(t + C5 * h, &ys, k5);
        axpy(
            &mut ys,
            y,
            h,
            &[(A61, k1), (A62, &*k2), (A63, &*k3), (A64, &*k4), (A65, &*k5)],
        );
        sys.rhs(t_new, &ys, k6);
        axpy(
            y_new,
            y,
            h,
            &[(A71, k1), (A73, &*k3), (A74, &*k4), (A75, &*k5), (A76, &*k6)],
        );
        sys.rhs(t_new, y_new, k7);
        stats.rhs_evals += 6;
        self.k[0] = *f0;
        self.error(opts, h, y, y_new)
    }

    fn prepare_dense(&mut self, h: f64, _y: &[f64; N], _y_new: &[f64; N]) {
        let k = &self.k;
        for i in 0..N {
            self.r5[i] = h * (D1 * k[0][i] + D3 * k[2][i] + D4 * k[3][i] + D5 * k[4][i] + D6 * k[5][i] + D7 * k[6][i]);
        }
    }

    fn dense(&self, th: f64, h: f64, y: &[f64; N], y_new: &[f64; N], out: &mut [f64; N]) {
        let th1 = 1.0 - th;
        let (k1, k7) = (&self.k[0], &self.k[6]);
        for i in 0..N {
            let r2 = y_new[i] - y[i];
            let r3 = h * k1[i] - r2;
            let r4 = r2 - h * k7[i] - r3;
            out[i] = y[i] + th * (r2 + th1 * (r3 + th * (r4 + th1 * self.r5[i])));
        }
    }

    /// First same as last: `f` at the new point is the last stage.
    fn next_f0<S: OdeSystem<N>>(
        &mut self,
        _sys: &S,
        _t: f64,
        _y: &[f64; N],
        f0: &mut [f64; N],
        _stats: &mut SolverStats,
    ) {
        *f0 = self.k[6];
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::solver::ObservationFn;

    struct Decay;
    impl OdeSystem<1> for Decay {
        fn rhs(&self, _t: f64, y: &[f64; 1], dy: &mut [f64; 1]) {
            dy[0] = -y[0];
        }
    }

    struct Oscillator;
    impl OdeSystem<2> for Oscillator {
        fn rhs(&self, _t: f64, y: &[f64; 2], dy: &mut [f64; 2]) {
            dy[0] = y[1];
            dy[1] = -y[0];
        }
    }

    #[test]
    fn decay_end_point_and_dense_output() {
        let opts = SolverOptions {
            rtol: 1e-10,
            atol: 1e-12,
            ..Default::default()
        };
        let mut y = [1.0];
        let obs: Vec<f64> = (1..=10).map(|i| i as f64).collect();
        let mut seen = Vec::new();
        let mut stats = SolverStats::default();
        Dopri5::new(opts)
            .integrate(
                &Decay,
                0.0,
                10.0,
                &mut y,
                &obs,
                &mut ObservationFn(&mut |t, y| seen.push((t, y[0]))),
                &mut WarmStart::cold(),
                &mut stats,
            )
            .unwrap();
        assert!((y[0] - (-10.0f64).exp()).abs() < 1e-12, "{}", y[0]);
        assert_eq!(seen.len(), 10);
        for (t, v) in seen {
            assert!((v - (-t).exp()).abs() < 1e-9 * (-t).exp() + 1e-13, "t {t}: {v}");
        }
    }

    #[test]
    fn convergence_order_is_about_five() {
        // Error at the end point of a harmonic oscillator over 2π as the tolerance tightens: error per step
        // scales like h^5, so error ∝ tol when step control works.
        let mut errs = Vec::new();
        for tol in [1e-6, 1e-8, 1e-10] {
            let opts = SolverOptions {
                rtol: tol,
                atol: tol,
                ..Default::default()
            };
            let mut y = [1.0, 0.0];
            let mut stats = SolverStats::default();
            Dopri5::new(opts)
                .integrate(
                    &Oscillator,
                    0.0,
                    20.0,
                    &mut y,
                    &[],
                    &mut ObservationFn(&mut |_, _| {}),
                    &mut WarmStart::cold(),
                    &mut stats,
                )
                .unwrap();
            let e = ((y[0] - 20f64.cos()).powi(2) + (y[1] + 20f64.sin()).powi(2)).sqrt();
            errs.push((e, stats.accepted_steps));
        }
        for w in errs.windows(2) {
            let (e0, n0) = w[0];
            let (e1, n1) = w[1];
            assert!(e1 < e0 / 20.0, "error must fall with tolerance: {errs:?}");
            let order = (e0 / e1).ln() / (n1 as f64 / n0 as f64).ln();
            assert!(order > 4.0 && order < 6.5, "observed order {order}: {errs:?}");
        }
    }
}
