//! LU factorisation with partial pivoting on a fixed-size, stack-allocated matrix.
//!
//! The Rosenbrock step factorises one `N × N` matrix (`N` = 9 or 15) per step and solves six systems with it.
//! nalgebra's LU would do the arithmetic, but on const-generic sizes it requires dimension bounds that would
//! spread into every generic integrator signature; this dozen-line Doolittle keeps the hot path on plain arrays.

/// An LU factorisation `P A = L U`, stored in place (unit lower triangle implicit).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Lu<const N: usize> {
    lu: [[f64; N]; N],
    pivot: [usize; N],
}

impl<const N: usize> Lu<N> {
    /// Factorises `a`; `None` when a pivot is zero or not finite (singular to working precision).
    #[inline]
    pub(crate) fn factor(mut a: [[f64; N]; N]) -> Option<Self> {
        let mut pivot = [0usize; N];
        for k in 0..N {
            let mut p = k;
            let mut best = a[k][k].abs();
            for (i, row) in a.iter().enumerate().skip(k + 1) {
                if row[k].abs() > best {
                    best = row[k].abs();
                    p = i;
                }
            }
            if !(best > 0.0 && best.is_finite()) {
                return None;
            }
            pivot[k] = p;
            a.swap(k, p);
            let inv = 1.0 / a[k][k];
            let (top, bottom) = a.split_at_mut(k + 1);
            let pivot_row = &top[k];
            for row in bottom.iter_mut() {
                let m = row[k] * inv;
                row[k] = m;
                if m != 0.0 {
                    for j in k + 1..N {
                        row[j] -= m * pivot_row[j];
                    }
                }
            }
        }
        Some(Lu { lu: a, pivot })
    }

    /// Overwrites `b` with the solution `x` of `A x = b`.
    #[inline]
    pub(crate) fn solve(&self, b: &mut [f64; N]) {
        for k in 0..N {
            b.swap(k, self.pivot[k]);
        }
        for i in 1..N {
            let mut s = b[i];
            for j in 0..i {
                s -= self.lu[i][j] * b[j];
            }
            b[i] = s;
        }
        for i in (0..N).rev() {
            let mut s = b[i];
            for j in i + 1..N {
                s -= self.lu[i][j] * b[j];
            }
            b[i] = s / self.lu[i][i];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solves_a_system_that_needs_pivoting() {
        let a = [[0.0, 2.0, 1.0], [1.0, 1.0, 0.0], [3.0, 0.0, 1.0]];
        let x = [1.0, -2.0, 0.5];
        let mut b = [0.0; 3];
        for i in 0..3 {
            b[i] = (0..3).map(|j| a[i][j] * x[j]).sum();
        }
        Lu::factor(a).unwrap().solve(&mut b);
        for i in 0..3 {
            assert!((b[i] - x[i]).abs() < 1e-14, "{b:?}");
        }
    }

    #[test]
    fn a_singular_matrix_is_reported() {
        assert!(Lu::factor([[1.0, 2.0], [2.0, 4.0]]).is_none());
        assert!(Lu::factor([[f64::NAN, 0.0], [0.0, 1.0]]).is_none());
    }
}
