//! Rodas4: a six-stage, L-stable, stiffly accurate Rosenbrock method of order 4 with an embedded order-3
//! error estimate and a 3rd-order continuous extension, on fixed-size arrays (no heap allocation).
//!
//! Coefficients: Hairer & Wanner, *Solving ODEs II* (2nd ed.), §IV.7, Table 7.2 (RODAS), in the transformed
//! form `W kᵢ = f(t + αᵢh, y + Σ aᵢⱼ kⱼ) + γᵢ h ∂f/∂t + Σ (cᵢⱼ/h) kⱼ` with `W = I/(γh) − J`, one LU of `W` per
//! step. Because the method is stiffly accurate, the last stage *is* the solution and the last increment
//! `k₆` is the error estimate.
//!
//! Why it is here: with the drugs in the ODE (`--pk ode`) the absorption mode (72 /day) makes the system stiff;
//! with exact drug propagation the cell system is mildly stiff during depletion, and an L-stable method needs
//! no stability cap on quiet stretches — its step is limited by accuracy alone.

use super::adaptive::{error_norm, integrate, StepControl, Stepper, WarmStart};
use super::lu::Lu;
use super::{OdeSystem, Sink, SolverError, SolverOptions, SolverStats};

const GAMMA: f64 = 0.25;
const ALPHA2: f64 = 0.386;
const ALPHA3: f64 = 0.21;
const ALPHA4: f64 = 0.63;
const G1: f64 = 0.25;
const G2: f64 = -0.1043;
const G3: f64 = 0.1035;
const G4: f64 = -0.036_200_000_000_000_23;
const A21: f64 = 1.544;
const A31: f64 = 0.946_678_528_081_582_6;
const A32: f64 = 0.255_701_169_898_328_4;
const A41: f64 = 3.314_825_187_068_521;
const A42: f64 = 2.896_124_015_972_201;
const A43: f64 = 0.998_641_913_997_781_7;
const A51: f64 = 1.221_224_509_226_641;
const A52: f64 = 6.019_134_481_288_629;
const A53: f64 = 12.537_083_329_320_87;
const A54: f64 = -0.687_886_036_105_895;
const C21: f64 = -5.6688;
const C31: f64 = -2.430_093_356_833_875;
const C32: f64 = -0.206_359_915_709_191_5;
const C41: f64 = -0.107_352_905_815_137_5;
const C42: f64 = -9.594_562_251_023_355;
const C43: f64 = -20.470_286_148_096_16;
const C51: f64 = 7.496_443_313_967_647;
const C52: f64 = -10.246_804_314_643_52;
const C53: f64 = -33.999_903_528_199_05;
const C54: f64 = 11.708_908_932_061_6;
const C61: f64 = 8.083_246_795_921_522;
const C62: f64 = -7.981_132_988_064_893;
const C63: f64 = -31.521_594_328_743_71;
const C64: f64 = 16.319_305_431_231_36;
const C65: f64 = -6.058_818_238_834_054;
// Continuous extension: y(t + θh) = (1−θ) y₀ + θ (y₁ + (1−θ)(q₁ + θ q₂)), qᵣ = Σ dᵣⱼ kⱼ.
const D21: f64 = 10.126_235_083_445_86;
const D22: f64 = -7.487_995_877_610_167;
const D23: f64 = -34.800_918_615_557_47;
const D24: f64 = -7.992_771_707_568_823;
const D25: f64 = 1.025_137_723_295_662;
const D31: f64 = -0.676_280_339_280_125_3;
const D32: f64 = 6.087_714_651_680_015;
const D33: f64 = 16.430_843_208_924_78;
const D34: f64 = 24.767_225_114_183_86;
const D35: f64 = -6.594_389_125_716_872;

const SAFETY: f64 = 0.9;
/// Largest step decrease (1/5) and increase (6×) per step.
const MAX_SHRINK: f64 = 5.0;
const MAX_GROWTH: f64 = 6.0;
const NAME: &str = "rodas4";

/// This crate's Rodas4 integrator.
#[derive(Debug, Clone, Copy)]
pub struct Rodas4 {
    opts: SolverOptions,
}

/// The six stage increments of one step.
struct Stages<const N: usize> {
    k: [[f64; N]; 6],
}

#[inline]
fn combine<const N: usize>(out: &mut [f64; N], base: &[f64; N], terms: &[(f64, &[f64; N])]) {
    for i in 0..N {
        let mut s = base[i];
        for (a, k) in terms {
            s += a * k[i];
        }
        out[i] = s;
    }
}

impl Rodas4 {
    /// An integrator with these options.
    pub fn new(opts: SolverOptions) -> Self {
        Rodas4 { opts }
    }

    /// One step of size `h` from `(t, y)`, with `f0 = f(t, y)`, Jacobian `jac` and `dfdt` at `(t, y)`.
    /// Writes the new state into `y_new` and returns the stage increments, or `None` when `W` is singular.
    #[allow(clippy::too_many_arguments)]
    fn step<const N: usize, S: OdeSystem<N>>(
        sys: &S,
        t: f64,
        h: f64,
        y: &[f64; N],
        f0: &[f64; N],
        jac: &[[f64; N]; N],
        dfdt: &[f64; N],
        y_new: &mut [f64; N],
        stats: &mut SolverStats,
    ) -> Option<Stages<N>> {
        let mut w = [[0.0; N]; N];
        let diag = 1.0 / (GAMMA * h);
        for i in 0..N {
            for j in 0..N {
                w[i][j] = -jac[i][j];
            }
            w[i][i] += diag;
        }
        stats.lu_decompositions += 1;
        let lu = Lu::factor(w)?;
        let inv_h = 1.0 / h;
        let (mut k1, mut k2, mut k3, mut k4, mut k5, mut k6) =
            ([0.0; N], [0.0; N], [0.0; N], [0.0; N], [0.0; N], [0.0; N]);
        let mut ys = [0.0; N];
        let mut fs = [0.0; N];

        combine(&mut k1, f0, &[(G1 * h, dfdt)]);
        lu.solve(&mut k1);

        combine(&mut ys, y, &[(A21, &k1)]);
        sys.rhs(t + ALPHA2 * h, &ys, &mut fs);
        combine(&mut k2, &fs, &[(G2 * h, dfdt), (C21 * inv_h, &k1)]);
        lu.solve(&mut k2);

        combine(&mut ys, y, &[(A31, &k1), (A32, &k2)]);
        sys.rhs(t + ALPHA3 * h, &ys, &mut fs);
        combine(&mut k3, &fs, &[(G3 * h, dfdt), (C31 * inv_h, &k1), (C32 * inv_h, &k2)]);
        lu.solve(&mut k3);

        combine(&mut ys, y, &[(A41, &k1), (A42, &k2), (A43, &k3)]);
        sys.rhs(t + ALPHA4 * h, &ys, &mut fs);
        combine(
            &mut k4,
            &fs,
            &[
                (G4 * h, dfdt),
                (C41 * inv_h, &k1),
                (C42 * inv_h, &k2),
                (C43 * inv_h, &k3),
            ],
        );
        lu.solve(&mut k4);

        combine(&mut ys, y, &[(A51, &k1), (A52, &k2), (A53, &k3), (A54, &k4)]);
        sys.rhs(t + h, &ys, &mut fs);
        combine(
            &mut k5,
            &fs,
            &[
                (C51 * inv_h, &k1),
                (C52 * inv_h, &k2),
                (C53 * inv_h, &k3),
                (C54 * inv_h, &k4),
            ],
        );
        lu.solve(&mut k5);

        // Embedded (order 3) solution, then the last stage on top of it.
        for i in 0..N {
            ys[i] += k5[i];
        }
        sys.rhs(t + h, &ys, &mut fs);
        combine(
            &mut k6,
            &fs,
            &[
                (C61 * inv_h, &k1),
                (C62 * inv_h, &k2),
                (C63 * inv_h, &k3),
                (C64 * inv_h, &k4),
                (C65 * inv_h, &k5),
            ],
        );
        lu.solve(&mut k6);
        combine(y_new, &ys, &[(1.0, &k6)]);
        stats.rhs_evals += 5;
        Some(Stages {
            k: [k1, k2, k3, k4, k5, k6],
        })
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
            &mut State::<N>::new(),
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

/// What Rodas4 keeps between the calls of the adaptive loop: the Jacobian at the current point (valid across
/// rejected attempts), the last stages, and the dense-output coefficients.
struct State<const N: usize> {
    jac: [[f64; N]; N],
    dfdt: [f64; N],
    stages: Option<Stages<N>>,
    q1: [f64; N],
    q2: [f64; N],
}

impl<const N: usize> State<N> {
    fn new() -> Self {
        State {
            jac: [[0.0; N]; N],
            dfdt: [0.0; N],
            stages: None,
            q1: [0.0; N],
            q2: [0.0; N],
        }
    }
}

impl<const N: usize> Stepper<N> for State<N> {
    const NAME: &'static str = NAME;
    const ORDER: i32 = 4;
    const CONTROL: StepControl = StepControl::Predictive {
        exponent: 0.25,
        safety: SAFETY,
        max_growth: MAX_GROWTH,
        max_shrink: MAX_SHRINK,
    };

    /// The Jacobian and `∂f/∂t` at each new point; they stay valid across rejected attempts from it.
    fn prepare<S: OdeSystem<N>>(&mut self, sys: &S, t: f64, y: &[f64; N], f0: &[f64; N], stats: &mut SolverStats) {
        stats.rhs_evals += sys.jacobian(t, y, f0, &mut self.jac, &mut self.dfdt);
        stats.jacobians += 1;
    }

    fn attempt<S: OdeSystem<N>>(
        &mut self,
        sys: &S,
        opts: &SolverOptions,
        t: f64,
        h: f64,
        _t_new: f64,
        y: &[f64; N],
        f0: &[f64; N],
        y_new: &mut [f64; N],
        stats: &mut SolverStats,
    ) -> f64 {
        self.stages = Rodas4::step(sys, t, h, y, f0, &self.jac, &self.dfdt, y_new, stats);
        match &self.stages {
            Some(s) => error_norm(opts, y, y_new, |i| s.k[5][i]),
            None => f64::INFINITY,
        }
    }

    fn prepare_dense(&mut self, _h: f64, _y: &[f64; N], _y_new: &[f64; N]) {
        if let Some(s) = &self.stages {
            let k = &s.k;
            for i in 0..N {
                self.q1[i] = D21 * k[0][i] + D22 * k[1][i] + D23 * k[2][i] + D24 * k[3][i] + D25 * k[4][i];
                self.q2[i] = D31 * k[0][i] + D32 * k[1][i] + D33 * k[2][i] + D34 * k[3][i] + D35 * k[4][i];
            }
        }
    }

    fn dense(&self, th: f64, _h: f64, y: &[f64; N], y_new: &[f64; N], out: &mut [f64; N]) {
        let th1 = 1.0 - th;
        for i in 0..N {
            out[i] = th1 * y[i] + th * (y_new[i] + th1 * (self.q1[i] + th * self.q2[i]));
        }
    }

    fn next_f0<S: OdeSystem<N>>(&mut self, sys: &S, t: f64, y: &[f64; N], f0: &mut [f64; N], stats: &mut SolverStats) {
        sys.rhs(t, y, f0);
        stats.rhs_evals += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::solver::ObservationFn;

    /// Prothero–Robinson: y' = −λ (y − g(t)) + g'(t), y(0) = g(0), exact solution g(t) = sin t. Stiff for large
    /// λ and non-autonomous, so it exercises the ∂f/∂t terms.
    struct ProtheroRobinson {
        lambda: f64,
    }
    impl OdeSystem<1> for ProtheroRobinson {
        fn rhs(&self, t: f64, y: &[f64; 1], dy: &mut [f64; 1]) {
            dy[0] = -self.lambda * (y[0] - t.sin()) + t.cos();
        }
    }

    /// A linear system with eigenvalues −1 and −1000 and the exact solution in closed form.
    struct StiffLinear;
    impl OdeSystem<2> for StiffLinear {
        fn rhs(&self, _t: f64, y: &[f64; 2], dy: &mut [f64; 2]) {
            dy[0] = -y[0];
            dy[1] = 999.0 * y[0] - 1000.0 * y[1];
        }
    }
    fn stiff_linear_exact(t: f64) -> [f64; 2] {
        // y1 = e^{-t}; y2 = e^{-t} + (y2(0) − 1) e^{-1000 t} with y(0) = (1, 2).
        [(-t).exp(), (-t).exp() + (-1000.0 * t).exp()]
    }

    /// Fixed-step integration over [0, 1] with n steps: the error at t = 1.
    fn fixed_step_error<S: OdeSystem<1>>(sys: &S, n: usize, exact: f64) -> f64 {
        let h = 1.0 / n as f64;
        let mut y = [0.0];
        let mut t = 0.0;
        let mut stats = SolverStats::default();
        let (mut jac, mut dfdt, mut f0, mut y_new) = ([[0.0]], [0.0], [0.0], [0.0]);
        for _ in 0..n {
            sys.rhs(t, &y, &mut f0);
            sys.jacobian(t, &y, &f0, &mut jac, &mut dfdt);
            Rodas4::step(sys, t, h, &y, &f0, &jac, &dfdt, &mut y_new, &mut stats).unwrap();
            y = y_new;
            t += h;
        }
        (y[0] - exact).abs()
    }

    #[test]
    fn fixed_step_order_is_four_on_a_nonstiff_problem() {
        // λ small: the classical order (4) shows; halving h divides the error by about 16.
        let sys = ProtheroRobinson { lambda: 1.0 };
        let e: Vec<f64> = [8, 16, 32, 64]
            .iter()
            .map(|&n| fixed_step_error(&sys, n, 1f64.sin()))
            .collect();
        for w in e.windows(2) {
            let order = (w[0] / w[1]).log2();
            assert!((3.7..4.5).contains(&order), "observed order {order}: {e:?}");
        }
    }

    #[test]
    fn stiff_prothero_robinson_is_accurate_with_steps_far_beyond_one_over_lambda() {
        // λ = 1e6 with h = 0.1: an explicit method would explode (h·λ = 1e5); Rodas4, being stiffly accurate,
        // tracks the smooth solution.
        let sys = ProtheroRobinson { lambda: 1e6 };
        let e = fixed_step_error(&sys, 10, 1f64.sin());
        assert!(e < 1e-6, "{e}");
    }

    #[test]
    fn adaptive_run_is_accurate_at_the_end_and_in_between() {
        let mut y = [1.0, 2.0];
        let obs: Vec<f64> = (1..=50).map(|i| i as f64 * 0.1).collect();
        let mut worst = 0.0f64;
        let mut stats = SolverStats::default();
        let opts = SolverOptions {
            rtol: 1e-8,
            atol: 1e-10,
            ..Default::default()
        };
        Rodas4::new(opts)
            .integrate(
                &StiffLinear,
                0.0,
                5.0,
                &mut y,
                &obs,
                &mut ObservationFn(&mut |t, y| {
                    let x = stiff_linear_exact(t);
                    worst = worst.max((y[0] - x[0]).abs()).max((y[1] - x[1]).abs());
                }),
                &mut WarmStart::cold(),
                &mut stats,
            )
            .unwrap();
        assert!(worst < 1e-6, "worst dense-output error {worst}");
        let x = stiff_linear_exact(5.0);
        assert!(
            (y[0] - x[0]).abs() < 1e-8 && (y[1] - x[1]).abs() < 1e-8,
            "{y:?} vs {x:?}"
        );
        // Stiff: an explicit method would need thousands of steps (h < ~3/1000 throughout).
        assert!(stats.accepted_steps < 300, "{stats:?}");
        assert_eq!(stats.jacobians, stats.accepted_steps);
        assert_eq!(stats.lu_decompositions, stats.accepted_steps + stats.rejected_steps);
    }

    #[test]
    fn error_falls_with_tolerance() {
        let mut errs = Vec::new();
        for tol in [1e-5, 1e-7, 1e-9] {
            let opts = SolverOptions {
                rtol: tol,
                atol: tol,
                ..Default::default()
            };
            let mut y = [1.0, 2.0];
            let mut stats = SolverStats::default();
            Rodas4::new(opts)
                .integrate(
                    &StiffLinear,
                    0.0,
                    3.0,
                    &mut y,
                    &[],
                    &mut ObservationFn(&mut |_, _| {}),
                    &mut WarmStart::cold(),
                    &mut stats,
                )
                .unwrap();
            let x = stiff_linear_exact(3.0);
            errs.push((y[0] - x[0]).abs().max((y[1] - x[1]).abs()));
        }
        assert!(errs[1] < errs[0] / 10.0 && errs[2] < errs[1] / 10.0, "{errs:?}");
    }
}
