//! Quintic Hermite interpolation between two accepted steps, for methods without usable dense output.
//!
//! Each end point carries the state `y`, its derivative `f(t, y)` and its second derivative
//! `d/dt f(t, y(t)) = ∂f/∂t + J·f`, obtained by a central difference along the solution direction:
//! `(f(t + δ, y + δf) − f(t − δ, y − δf)) / 2δ`. The interpolant is locally 6th-order accurate, enough for
//! 8th-order steps that span many observation days.

use super::{OdeSystem, SolverStats};

/// State, first and second derivative at one time.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Node<const N: usize> {
    pub t: f64,
    pub y: [f64; N],
    pub f: [f64; N],
    pub f2: [f64; N],
}

impl<const N: usize> Node<N> {
    /// Evaluates the derivatives at `(t, y)`; `scale` sets the difference step (a fraction of it is used).
    pub fn new<S: OdeSystem<N>>(sys: &S, t: f64, y: [f64; N], scale: f64, stats: &mut SolverStats) -> Self {
        let mut f = [0.0; N];
        sys.rhs(t, &y, &mut f);
        let delta = 1e-4 * scale.max(1e-9);
        let (mut yp, mut ym) = ([0.0; N], [0.0; N]);
        for i in 0..N {
            yp[i] = y[i] + delta * f[i];
            ym[i] = y[i] - delta * f[i];
        }
        let (mut fp, mut fm) = ([0.0; N], [0.0; N]);
        sys.rhs(t + delta, &yp, &mut fp);
        sys.rhs(t - delta, &ym, &mut fm);
        stats.rhs_evals += 3;
        let mut f2 = [0.0; N];
        for i in 0..N {
            f2[i] = (fp[i] - fm[i]) / (2.0 * delta);
        }
        Node { t, y, f, f2 }
    }
}

/// State at `t` between nodes `a` and `b`.
pub(crate) fn quintic<const N: usize>(a: &Node<N>, b: &Node<N>, t: f64) -> [f64; N] {
    let h = b.t - a.t;
    let s = (t - a.t) / h;
    let (s2, s3) = (s * s, s * s * s);
    let (s4, s5) = (s3 * s, s3 * s2);
    let h0 = 1.0 - 10.0 * s3 + 15.0 * s4 - 6.0 * s5;
    let h1 = s - 6.0 * s3 + 8.0 * s4 - 3.0 * s5;
    let h2 = 0.5 * (s2 - 3.0 * s3 + 3.0 * s4 - s5);
    let h3 = 10.0 * s3 - 15.0 * s4 + 6.0 * s5;
    let h4 = -4.0 * s3 + 7.0 * s4 - 3.0 * s5;
    let h5 = 0.5 * (s3 - 2.0 * s4 + s5);
    let mut out = [0.0; N];
    for i in 0..N {
        out[i] = h0 * a.y[i] + h * (h1 * a.f[i] + h4 * b.f[i]) + h * h * (h2 * a.f2[i] + h5 * b.f2[i]) + h3 * b.y[i];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// y = t^5 - 2t: y' = 5t^4 - 2 as a time-only system.
    struct Poly;
    impl OdeSystem<1> for Poly {
        fn rhs(&self, t: f64, _y: &[f64; 1], dy: &mut [f64; 1]) {
            dy[0] = 5.0 * t.powi(4) - 2.0;
        }
    }

    #[test]
    fn exact_for_quintics() {
        let y = |t: f64| [t.powi(5) - 2.0 * t];
        let mut st = SolverStats::default();
        let a = Node::new(&Poly, 1.0, y(1.0), 2.0, &mut st);
        let b = Node::new(&Poly, 3.0, y(3.0), 2.0, &mut st);
        let v = quintic(&a, &b, 2.2);
        assert!((v[0] - y(2.2)[0]).abs() < 1e-6, "{} vs {}", v[0], y(2.2)[0]);
    }
}
