//! One count over one integration step, as a cubic: what the outcome engine reads minima and threshold
//! crossings from.
//!
//! Inside an accepted step the solution is smooth (steps never straddle a dose), and a count is a linear
//! function of the cell states, so its cubic Hermite interpolant through the step's end values and slopes
//! follows it to the method's accuracy (local error O(h⁴)). Minima are found exactly on the cubic (the roots of its
//! quadratic derivative), and a crossing of a threshold by bisection on a piece where the cubic is monotone.

/// `p(θ) = c0 + c1·θ + c2·θ² + c3·θ³` for θ ∈ [0, 1] (θ = 0 at the step's start, 1 at its end).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Cubic {
    c: [f64; 4],
}

/// The break points of a cubic's monotone pieces on [0, 1] (0, its interior stationary points in order, 1)
/// and its values there.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pieces {
    x: [f64; 4],
    v: [f64; 4],
    n: usize,
}

impl Pieces {
    /// The smallest value and its θ (the first, if several are equal).
    pub fn min(&self) -> (f64, f64) {
        let mut best = (self.v[0], self.x[0]);
        for i in 1..self.n {
            if self.v[i] < best.0 {
                best = (self.v[i], self.x[i]);
            }
        }
        best
    }
}

/// Up to two sub-intervals `[a, b]` of [0, 1], in order (a cubic is below a level on at most two).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Intervals {
    pub list: [(f64, f64); 2],
    pub n: usize,
}

impl Intervals {
    fn push(&mut self, a: f64, b: f64) {
        if b <= a {
            return;
        }
        if self.n > 0 && self.list[self.n - 1].1 >= a {
            self.list[self.n - 1].1 = b;
        } else if self.n < 2 {
            self.list[self.n] = (a, b);
            self.n += 1;
        } else {
            // Three separate pieces cannot occur for a cubic; merge rather than drop.
            self.list[1].1 = b;
        }
    }

    /// The intervals, in order.
    pub fn iter(&self) -> impl Iterator<Item = (f64, f64)> + '_ {
        self.list[..self.n].iter().copied()
    }

    /// Total length.
    pub fn length(&self) -> f64 {
        self.iter().map(|(a, b)| b - a).sum()
    }
}

impl Cubic {
    /// The cubic Hermite interpolant of values `v0`, `v1` and slopes `d0`, `d1` (per day) at the ends of a
    /// step of `h` days.
    #[inline]
    pub fn hermite(v0: f64, d0: f64, v1: f64, d1: f64, h: f64) -> Self {
        let (a, b) = (h * d0, h * d1);
        Cubic {
            c: [v0, a, 3.0 * (v1 - v0) - 2.0 * a - b, 2.0 * (v0 - v1) + a + b],
        }
    }

    /// `p(θ)`.
    #[inline]
    pub fn at(&self, x: f64) -> f64 {
        let c = &self.c;
        ((c[3] * x + c[2]) * x + c[1]) * x + c[0]
    }

    /// `dp/dθ`.
    #[inline]
    pub fn slope(&self, x: f64) -> f64 {
        let c = &self.c;
        (3.0 * c[3] * x + 2.0 * c[2]) * x + c[1]
    }

    /// The same curve on `[x0, x1]` ⊂ [0, 1], re-parametrised to [0, 1] (exact: a cubic's Hermite interpolant
    /// is itself).
    pub fn restrict(&self, x0: f64, x1: f64) -> Self {
        let w = x1 - x0;
        Cubic::hermite(self.at(x0), self.slope(x0), self.at(x1), self.slope(x1), w)
    }

    /// Bounds on `p` over [0, 1] without solving anything: `p` differs from its chord by at most a quarter of
    /// the larger of `|p'(0) − Δ|` and `|p'(1) − Δ|`, with `Δ = p(1) − p(0)`.
    #[inline]
    pub fn bounds(&self) -> (f64, f64) {
        let c = &self.c;
        let (v0, d0) = (c[0], c[1]);
        let v1 = c[0] + c[1] + c[2] + c[3];
        let d1 = c[1] + 2.0 * c[2] + 3.0 * c[3];
        let delta = v1 - v0;
        let bulge = 0.25 * (d0 - delta).abs().max((d1 - delta).abs());
        (v0.min(v1) - bulge, v0.max(v1) + bulge)
    }

    /// The monotone pieces.
    pub fn pieces(&self) -> Pieces {
        let c = &self.c;
        // p'(θ) = 3c3 θ² + 2c2 θ + c1.
        let (a, b, k) = (3.0 * c[3], 2.0 * c[2], c[1]);
        let mut roots = [f64::NAN; 2];
        let mut m = 0;
        if a == 0.0 {
            if b != 0.0 {
                roots[0] = -k / b;
                m = 1;
            }
        } else {
            let disc = b * b - 4.0 * a * k;
            if disc > 0.0 {
                // The numerically stable pair of roots.
                let q = -0.5 * (b + b.signum() * disc.sqrt());
                let (r1, r2) = (q / a, if q != 0.0 { k / q } else { -b / a - q / a });
                roots = [r1.min(r2), r1.max(r2)];
                m = 2;
            }
        }
        let mut out = Pieces {
            x: [0.0; 4],
            v: [0.0; 4],
            n: 1,
        };
        out.v[0] = c[0];
        for &r in &roots[..m] {
            if r > 0.0 && r < 1.0 {
                out.x[out.n] = r;
                out.v[out.n] = self.at(r);
                out.n += 1;
            }
        }
        out.x[out.n] = 1.0;
        out.v[out.n] = self.at(1.0);
        out.n += 1;
        out
    }

    /// The sub-intervals of [0, 1] on which `p < level`, in order (`pieces` from [`Cubic::pieces`]).
    pub fn below(&self, level: f64, pieces: &Pieces) -> Intervals {
        let mut out = Intervals::default();
        for i in 0..pieces.n - 1 {
            let (xa, xb) = (pieces.x[i], pieces.x[i + 1]);
            let (va, vb) = (pieces.v[i], pieces.v[i + 1]);
            match (va < level, vb < level) {
                (true, true) => out.push(xa, xb),
                (false, false) => {}
                (true, false) => out.push(xa, self.crossing(level, xa, xb)),
                (false, true) => out.push(self.crossing(level, xa, xb), xb),
            }
        }
        out
    }

    /// Where `p` crosses `level` on a monotone piece `[xa, xb]` whose ends lie on either side of it
    /// (bisection to 1e-10 of the step).
    fn crossing(&self, level: f64, mut xa: f64, mut xb: f64) -> f64 {
        let below_at_a = self.at(xa) < level;
        while xb - xa > 1e-10 {
            let xm = 0.5 * (xa + xb);
            if (self.at(xm) < level) == below_at_a {
                xa = xm;
            } else {
                xb = xm;
            }
        }
        0.5 * (xa + xb)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hermite_cubic_reproduces_a_cubic_and_its_restriction_is_exact() {
        // p(t) = t³ − 2t² + 0.5t + 3 on [1, 3] (h = 2).
        let p = |t: f64| t * t * t - 2.0 * t * t + 0.5 * t + 3.0;
        let dp = |t: f64| 3.0 * t * t - 4.0 * t + 0.5;
        let c = Cubic::hermite(p(1.0), dp(1.0), p(3.0), dp(3.0), 2.0);
        for k in 0..=10 {
            let x = k as f64 / 10.0;
            assert!((c.at(x) - p(1.0 + 2.0 * x)).abs() < 1e-12);
        }
        let r = c.restrict(0.25, 0.75);
        for k in 0..=10 {
            let x = k as f64 / 10.0;
            assert!((r.at(x) - p(1.5 + x)).abs() < 1e-12);
        }
    }

    #[test]
    fn bounds_enclose_the_curve_and_pieces_find_its_minimum() {
        let cases = [
            Cubic::hermite(100.0, -300.0, 80.0, 50.0, 1.0),
            Cubic::hermite(5.0, 2.0, 5.0, 2.0, 3.0),
            Cubic::hermite(1.0, 0.0, 2.0, 0.0, 1.0),
            Cubic::hermite(0.0, 10.0, 0.0, 10.0, 1.0),
        ];
        for c in cases {
            let (lo, hi) = c.bounds();
            let p = c.pieces();
            let (mut vmin, mut xmin) = (f64::INFINITY, 0.0);
            for k in 0..=10_000 {
                let x = k as f64 / 10_000.0;
                let v = c.at(x);
                assert!(
                    v >= lo - 1e-9 && v <= hi + 1e-9,
                    "{c:?} at {x}: {v} outside [{lo}, {hi}]"
                );
                if v < vmin {
                    (vmin, xmin) = (v, x);
                }
            }
            let (m, at) = p.min();
            assert!(
                m <= vmin + 1e-12 && (m - vmin).abs() < 1e-6,
                "{c:?}: min {m} vs sampled {vmin}"
            );
            assert!((at - xmin).abs() < 1e-3, "{c:?}: argmin {at} vs sampled {xmin}");
        }
    }

    #[test]
    fn below_finds_the_intervals_under_a_level() {
        // Dips under 90 between two crossings, then rises above.
        let c = Cubic::hermite(100.0, -300.0, 120.0, 200.0, 1.0);
        let p = c.pieces();
        let iv = c.below(90.0, &p);
        assert_eq!(iv.n, 1);
        let (a, b) = iv.list[0];
        assert!((c.at(a) - 90.0).abs() < 1e-6 && (c.at(b) - 90.0).abs() < 1e-6);
        let sampled = (0..100_000)
            .filter(|k| c.at((*k as f64 + 0.5) / 100_000.0) < 90.0)
            .count() as f64
            / 1e5;
        assert!((iv.length() - sampled).abs() < 1e-4);
        // Entirely below, entirely above.
        assert_eq!(c.below(1e9, &p).length(), 1.0);
        assert_eq!(c.below(-1e9, &p).n, 0);
    }
}
