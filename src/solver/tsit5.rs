//! Tsitouras 5(4): seven stages with first-same-as-last, and a free 4th-order continuous extension.
//!
//! Coefficients: Ch. Tsitouras, "Runge–Kutta pairs of order 5(4) satisfying only the first column simplifying
//! assumption", *Computers & Mathematics with Applications* 62 (2011) 770–775 (Table 1 and the interpolant of
//! its §3, here expanded in powers of θ). The pair was tuned for a smaller principal error than
//! Dormand–Prince's at the same cost; whether that pays on this model is what `bench work-precision` says.
//! Step control as [`super::dopri5`]: the PI controller (β = 0.04, safety 0.9, step ratio in [0.2, 10]).

use super::adaptive::{error_norm, integrate, StepControl, Stepper, WarmStart};
use super::dopri5::axpy;
use super::{OdeSystem, Sink, SolverError, SolverOptions, SolverStats};

const C2: f64 = 0.161;
const C3: f64 = 0.327;
const C4: f64 = 0.9;
const C5: f64 = 0.980_025_540_904_509_7;
const A21: f64 = 0.161;
const A31: f64 = -0.008_480_655_492_356_989;
const A32: f64 = 0.335_480_655_492_357;
const A41: f64 = 2.897_153_057_105_493_5;
const A42: f64 = -6.359_448_489_975_075;
const A43: f64 = 4.362_295_432_869_581_5;
const A51: f64 = 5.325_864_828_439_257;
const A52: f64 = -11.748_883_564_062_828;
const A53: f64 = 7.495_539_342_889_836_5;
const A54: f64 = -0.092_495_066_361_755_25;
const A61: f64 = 5.861_455_442_946_42;
const A62: f64 = -12.920_969_317_847_11;
const A63: f64 = 8.159_367_898_576_159;
const A64: f64 = -0.071_584_973_281_401;
const A65: f64 = -0.028_269_050_394_068_383;
// The 5th-order weights (the last row of A: first same as last).
const B1: f64 = 0.096_460_766_818_065_23;
const B2: f64 = 0.01;
const B3: f64 = 0.479_889_650_414_499_6;
const B4: f64 = 1.379_008_574_103_742;
const B5: f64 = -3.290_069_515_436_081;
const B6: f64 = 2.324_710_524_099_774;
// Error weights: 5th-order minus embedded 4th-order weights.
const E: [f64; 7] = [
    -0.001_780_011_052_225_777,
    -0.000_816_434_459_656_746_9,
    0.007_880_878_010_261_995,
    -0.144_711_007_173_262_9,
    0.582_357_165_452_555_2,
    -0.458_082_105_929_186_97,
    1.0 / 66.0,
];
// Dense output: b_i(θ) = Σ_k R[i][k] θ^(k+1), so that y(t + θh) = y + h Σ_i b_i(θ) k_i and b_i(1) = B_i.
const R: [[f64; 4]; 7] = [
    [
        1.0,
        -2.763_706_197_274_826,
        2.913_255_461_821_912_6,
        -1.053_088_497_729_021_6,
    ],
    [0.0, 0.1317, -0.2234, 0.1017],
    [
        0.0,
        3.930_296_236_894_751_6,
        -5.941_033_872_131_505,
        2.490_627_285_651_253,
    ],
    [
        0.0,
        -12.411_077_166_933_676,
        30.338_188_630_282_32,
        -16.548_102_889_244_902,
    ],
    [0.0, 37.509_313_416_511_04, -88.178_904_894_766_4, 47.379_521_962_819_28],
    [
        0.0,
        -27.896_526_289_197_286,
        65.091_894_674_793_66,
        -34.870_657_861_496_61,
    ],
    [0.0, 1.5, -4.0, 2.5],
];

const NAME: &str = "tsit5";

/// Tsitouras 5(4) integrator.
#[derive(Debug, Clone, Copy)]
pub struct Tsit5 {
    opts: SolverOptions,
}

impl Tsit5 {
    /// An integrator with these options.
    pub fn new(opts: SolverOptions) -> Self {
        Tsit5 { opts }
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

/// The stages of one step (`k[0]` is `f` at the step start, `k[6]` at its end, reused as the next `k[0]`).
struct Stages<const N: usize> {
    k: [[f64; N]; 7],
}

impl<const N: usize> Stages<N> {
    fn new() -> Self {
        Stages { k: [[0.0; N]; 7] }
    }
}

impl<const N: usize> Stepper<N> for Stages<N> {
    const NAME: &'static str = NAME;
    const ORDER: i32 = 5;
    const CONTROL: StepControl = StepControl::Pi {
        exponent: 0.2,
        beta: 0.04,
        safety: 0.9,
        min_ratio: 0.2,
        max_ratio: 10.0,
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
            &[(B1, k1), (B2, &*k2), (B3, &*k3), (B4, &*k4), (B5, &*k5), (B6, &*k6)],
        );
        sys.rhs(t_new, y_new, k7);
        stats.rhs_evals += 6;
        self.k[0] = *f0;
        let k = &self.k;
        error_norm(opts, y, y_new, |i| h * (0..7).map(|s| E[s] * k[s][i]).sum::<f64>())
    }

    fn prepare_dense(&mut self, _h: f64, _y: &[f64; N], _y_new: &[f64; N]) {}

    fn dense(&self, th: f64, h: f64, y: &[f64; N], _y_new: &[f64; N], out: &mut [f64; N]) {
        // b_i(θ) by Horner's rule, once per stage.
        let b: [f64; 7] = std::array::from_fn(|s| {
            let r = &R[s];
            th * (r[0] + th * (r[1] + th * (r[2] + th * r[3])))
        });
        for i in 0..N {
            let mut s = 0.0;
            for (bs, ks) in b.iter().zip(&self.k) {
                s += bs * ks[i];
            }
            out[i] = y[i] + h * s;
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

    struct Oscillator;
    impl OdeSystem<2> for Oscillator {
        fn rhs(&self, _t: f64, y: &[f64; 2], dy: &mut [f64; 2]) {
            dy[0] = y[1];
            dy[1] = -y[0];
        }
    }

    #[test]
    fn the_tableau_is_consistent() {
        // Row sums of A are the nodes; the weights sum to 1; the error weights sum to 0 (both pairs are
        // consistent); the interpolant ends at the weights.
        let rows = [
            (C2, A21),
            (C3, A31 + A32),
            (C4, A41 + A42 + A43),
            (C5, A51 + A52 + A53 + A54),
            (1.0, A61 + A62 + A63 + A64 + A65),
        ];
        for (c, sum) in rows {
            assert!((c - sum).abs() < 1e-14, "{c} vs {sum}");
        }
        let b = [B1, B2, B3, B4, B5, B6, 0.0];
        assert!((b.iter().sum::<f64>() - 1.0).abs() < 1e-14);
        assert!(E.iter().sum::<f64>().abs() < 1e-14);
        for (r, bi) in R.iter().zip(b) {
            assert!((r.iter().sum::<f64>() - bi).abs() < 1e-12, "{r:?} vs {bi}");
        }
    }

    #[test]
    fn dense_output_and_convergence_order_about_five() {
        let mut errs = Vec::new();
        for tol in [1e-6, 1e-8, 1e-10] {
            let opts = SolverOptions {
                rtol: tol,
                atol: tol,
                ..Default::default()
            };
            let mut y = [1.0, 0.0];
            let mut stats = SolverStats::default();
            let obs: Vec<f64> = (1..20).map(|i| i as f64 + 0.37).collect();
            let mut worst_dense: f64 = 0.0;
            Tsit5::new(opts)
                .integrate(
                    &Oscillator,
                    0.0,
                    20.0,
                    &mut y,
                    &obs,
                    &mut ObservationFn(&mut |t, y| worst_dense = worst_dense.max((y[0] - t.cos()).abs())),
                    &mut WarmStart::cold(),
                    &mut stats,
                )
                .unwrap();
            assert!(
                worst_dense < 1000.0 * tol,
                "dense output error {worst_dense} at tol {tol}"
            );
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
