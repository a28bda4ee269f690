//! Analytic derivatives of the model's right-hand sides, for implicit (Rosenbrock) integrators.
//!
//! A Rosenbrock step solves linear systems with `I/(hγ) − J`, so it needs the Jacobian `J = ∂f/∂y`; for the
//! cell system with exactly propagated drugs it also needs `∂f/∂t`, which enters only through the drug
//! exposure: `∂f/∂t = ∂f/∂Ca · dCa/dt + ∂f/∂D · dD/dt`. All of this follows term by term from
//! [`Model::cell_rhs`]; the kinks (`(x − floor)₊`, the feedback cap `min(L0/L, Fmax)`) take the derivative of
//! the branch that is active. The unit tests compare every entry with central differences.

use super::state::{cell, drug, CellState, FullState, FULL};
use super::{rhs, Exposure, Model};

/// Row-major square matrix: `m[i][j] = ∂f_i/∂y_j`.
pub type Matrix<const N: usize> = [[f64; N]; N];

/// `d/dx [x · (1 + κ)/(1 + κ xⁿ)]`, the derivative of the homeostatic proliferation term per unit of rate.
#[inline]
fn homeostasis_slope(x: f64, kappa: f64, hill: f64) -> f64 {
    let xh = if hill == 1.0 { x } else { x.max(0.0).powf(hill) };
    let denom = 1.0 + kappa * xh;
    // h(x) + x h'(x) with h = (1+κ)/(1+κxⁿ), x h'(x) = −(1+κ) κ n xⁿ / (1+κxⁿ)².
    (1.0 + kappa) / denom - (1.0 + kappa) * kappa * hill * xh / (denom * denom)
}

/// `dH/dx` of the homeostatic factor `H = (1 + κ)/(1 + κ xⁿ)`.
#[inline]
fn homeostasis_derivative(x: f64, kappa: f64, hill: f64) -> f64 {
    if hill == 1.0 {
        let denom = 1.0 + kappa * x;
        -(1.0 + kappa) * kappa / (denom * denom)
    } else {
        let x = x.max(0.0);
        let denom = 1.0 + kappa * x.powf(hill);
        -(1.0 + kappa) * kappa * hill * x.powf(hill - 1.0) / (denom * denom)
    }
}

#[inline]
fn step_above(x: f64, floor: f64) -> f64 {
    if x > floor {
        1.0
    } else {
        0.0
    }
}

/// How the cell right-hand side responds to the two drug exposures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ExposurePartials {
    /// `∂f/∂Ca`: per µg/mL of alemtuzumab (cells/µL/day per µg/mL).
    pub alemtuzumab: CellState,
    /// `∂f/∂D`: per unit of cladribine damage signal (cells/µL/day).
    pub damage: CellState,
    /// `∂f/∂R`: per unit of the v2 impairment signal (cells/µL/day; zero in v1).
    pub impairment: CellState,
}

impl Model {
    /// Writes `∂(cell_rhs)/∂(cells)` at cell state `c` under exposure `e` into `jac`.
    pub fn cell_jacobian(&self, c: &CellState, e: Exposure, jac: &mut Matrix<{ cell::COUNT }>) {
        let p = self.params();
        let k = &self.k;
        let b = &k.baseline;
        let super::Hazards {
            alem_t: ka_t,
            alem_b: ka_b,
            alem_nk: ka_nk,
            clad,
        } = self.hazards(e);
        // Model v2: only the fraction g of the lymphopenia-induced proliferation survives the impairment.
        let g = 1.0 / (1.0 + p.clad_prolif_inhibition * e.impairment.max(0.0));
        let lip_slope = |slope: f64| {
            if p.clad_prolif_inhibition == 0.0 {
                slope
            } else {
                1.0 + g * (slope - 1.0)
            }
        };
        *jac = [[0.0; cell::COUNT]; cell::COUNT];
        let fl = &k.floor;

        let psi = p.memory_niche_share;
        let [target4, target8] = self.setpoint_targets(c[cell::S]);
        // d target / dS (0 in v1/v2).
        let [s4, s8] = self.setpoint_shifts();
        let slope = |s: f64| if s == 1.0 { 0.0 } else { s - 1.0 };
        let t_rows = [
            (
                cell::N4,
                cell::M4,
                k.prolif_n4,
                k.loss_n4,
                p.clad_kill_n4,
                p.activation_cd4,
                k.prolif_m4,
                p.death_memory_cd4,
                p.clad_kill_m4,
                k.niche4,
                target4,
                slope(s4),
            ),
            (
                cell::N8,
                cell::M8,
                k.prolif_n8,
                k.loss_n8,
                p.clad_kill_n8,
                p.activation_cd8,
                k.prolif_m8,
                p.death_memory_cd8,
                p.clad_kill_m8,
                k.niche8,
                target8,
                slope(s8),
            ),
        ];
        for (n, m, prolif_n, loss_n, kill_n, activation, prolif_m, death_m, kill_m, niche0, target, dtarget) in t_rows {
            jac[n][n] = prolif_n * lip_slope(homeostasis_slope(c[n] / b[n], p.kappa_naive, p.hill_naive))
                - loss_n
                - ka_t * step_above(c[n], fl[n])
                - kill_n * clad;
            // Memory: prolif_m · lip(H(x)) · M with x = (M + ψN) / (T · niche0).
            let x = rhs::memory_signal(c[m], c[n], niche0, psi, target);
            let h = rhs::homeostasis(x, p.kappa_memory, p.hill_memory, p.hill_memory == 1.0);
            let dh = homeostasis_derivative(x, p.kappa_memory, p.hill_memory);
            let lip_h = if p.clad_prolif_inhibition == 0.0 {
                h
            } else {
                1.0 + g * (h - 1.0)
            };
            let gm = if p.clad_prolif_inhibition == 0.0 { 1.0 } else { g };
            let dx_dm = 1.0 / (target * niche0);
            jac[m][n] = activation + prolif_m * c[m] * gm * dh * psi * dx_dm;
            jac[m][m] =
                prolif_m * (lip_h + c[m] * gm * dh * dx_dm) - death_m - ka_t * step_above(c[m], fl[m]) - kill_m * clad;
            jac[m][cell::S] = prolif_m * c[m] * gm * dh * (-x * dtarget / target);
        }

        jac[cell::PB][cell::PB] = -p.precursor_recovery - p.clad_kill_pb * clad;
        let (pb, f) = (c[cell::PB], c[cell::F]);
        jac[cell::BN][cell::PB] = k.source_b * (1.0 + p.feedback_gain * (f - 1.0));
        jac[cell::BN][cell::F] = k.source_b * pb * p.feedback_gain;
        jac[cell::BN][cell::BN] = -k.loss_bn - ka_b * step_above(c[cell::BN], fl[cell::BN]) - p.clad_kill_bn * clad;
        jac[cell::BM][cell::BN] = p.activation_b;
        jac[cell::BM][cell::BM] =
            k.prolif_bm - p.death_memory_b - ka_b * step_above(c[cell::BM], fl[cell::BM]) - p.clad_kill_bm * clad;
        jac[cell::NK][cell::PB] = k.source_nk * p.nk_marrow_coupling;
        jac[cell::NK][cell::NK] = -p.death_nk - ka_nk * step_above(c[cell::NK], fl[cell::NK]) - p.clad_kill_nk * clad;

        let lymph = [cell::N4, cell::M4, cell::N8, cell::M8, cell::BN, cell::BM];
        let l: f64 = lymph.iter().map(|&i| c[i]).sum();
        if l > 0.0 && k.l0 / l < p.feedback_max {
            // signal = (L0/L)^γ, d signal/dL = −γ · signal / L.
            let signal = (k.l0 / l).powf(p.feedback_exponent);
            let d = -p.feedback_rate * p.feedback_exponent * signal / l;
            for i in lymph {
                jac[cell::F][i] = d;
            }
        }
        jac[cell::F][cell::F] = -p.feedback_rate;
        if self.setpoint_moves() {
            let (f, sp) = (c[cell::F], c[cell::S]);
            jac[cell::S][cell::F] = if f > 1.0 { p.setpoint_rate * (1.0 - sp) } else { 0.0 };
            jac[cell::S][cell::S] = -p.setpoint_rate * (f - 1.0).max(0.0);
        }
    }

    /// `∂(cell_rhs)/∂(exposure)` at cell state `c` under exposure `e`.
    pub fn exposure_partials(&self, c: &CellState, e: Exposure) -> ExposurePartials {
        let p = self.params();
        let fl = &self.k.floor;
        let mut out = ExposurePartials {
            alemtuzumab: [0.0; cell::COUNT],
            damage: [0.0; cell::COUNT],
            impairment: [0.0; cell::COUNT],
        };
        let ip = p.clad_prolif_inhibition;
        let r = e.impairment;
        if ip > 0.0 && r > 0.0 {
            // d/dR of prolif · x · (1 + (H − 1) / (1 + IpC · R)).
            let dg = -ip / (1.0 + ip * r).powi(2);
            let k = &self.k;
            let b = &k.baseline;
            let [target4, target8] = self.setpoint_targets(c[cell::S]);
            let psi = p.memory_niche_share;
            let x4 = rhs::memory_signal(c[cell::M4], c[cell::N4], k.niche4, psi, target4);
            let x8 = rhs::memory_signal(c[cell::M8], c[cell::N8], k.niche8, psi, target8);
            let naive = |n: usize| c[n] / b[n];
            for (i, prolif, x, kappa, hill) in [
                (cell::N4, k.prolif_n4, naive(cell::N4), p.kappa_naive, p.hill_naive),
                (cell::M4, k.prolif_m4, x4, p.kappa_memory, p.hill_memory),
                (cell::N8, k.prolif_n8, naive(cell::N8), p.kappa_naive, p.hill_naive),
                (cell::M8, k.prolif_m8, x8, p.kappa_memory, p.hill_memory),
            ] {
                let h = rhs::homeostasis(x, kappa, hill, hill == 1.0);
                out.impairment[i] = prolif * c[i] * (h - 1.0) * dg;
            }
        }
        let ca = e.alemtuzumab_ug_per_ml;
        if ca > 0.0 {
            let slope = p.alem_kill_max * p.alem_ec50 / (p.alem_ec50 + ca).powi(2);
            for (i, s) in [
                (cell::N4, p.alem_susceptibility_t),
                (cell::M4, p.alem_susceptibility_t),
                (cell::N8, p.alem_susceptibility_t),
                (cell::M8, p.alem_susceptibility_t),
                (cell::BN, p.alem_susceptibility_b),
                (cell::BM, p.alem_susceptibility_b),
                (cell::NK, p.alem_susceptibility_nk),
            ] {
                out.alemtuzumab[i] = -slope * s * (c[i] - fl[i]).max(0.0);
            }
        }
        let dmg = e.cladribine_damage;
        if dmg > 0.0 {
            let slope = p.clad_d50 / (p.clad_d50 + dmg).powi(2);
            for (i, kill) in [
                (cell::N4, p.clad_kill_n4),
                (cell::M4, p.clad_kill_m4),
                (cell::N8, p.clad_kill_n8),
                (cell::M8, p.clad_kill_m8),
                (cell::PB, p.clad_kill_pb),
                (cell::BN, p.clad_kill_bn),
                (cell::BM, p.clad_kill_bm),
                (cell::NK, p.clad_kill_nk),
            ] {
                out.damage[i] = -slope * kill * c[i];
            }
        }
        out
    }

    /// Writes the Jacobian of [`Model::full_rhs`] (17 × 17, drugs first) at `y` into `jac`. The drug block is
    /// constant (the drug model is linear); the infusion rate does not enter.
    pub fn full_jacobian(&self, y: &FullState, jac: &mut Matrix<FULL>) {
        let p = self.params();
        let k = &self.k;
        let (d, c) = super::state::split(y);
        *jac = [[0.0; FULL]; FULL];
        jac[drug::AA][drug::AA] = -k.kel_a;
        jac[drug::G][drug::G] = -p.clad_ka_per_day;
        jac[drug::C1][drug::G] = p.clad_ka_per_day;
        jac[drug::C1][drug::C1] = -(k.k10 + k.k12);
        jac[drug::C1][drug::C2] = k.k21;
        jac[drug::C2][drug::C1] = k.k12;
        jac[drug::C2][drug::C2] = -k.k21;
        jac[drug::Z][drug::C1] = k.cp_per_mg;
        jac[drug::Z][drug::Z] = -p.clad_kz_per_day;
        jac[drug::D][drug::Z] = p.clad_kd_per_day / p.clad_zref;
        jac[drug::D][drug::D] = -p.clad_kd_per_day;
        if p.clad_prolif_inhibition != 0.0 {
            jac[drug::R][drug::D] = p.clad_kr_per_day;
            jac[drug::R][drug::R] = -p.clad_kr_per_day;
        }

        let e = self.exposure(&d);
        let mut cj = [[0.0; cell::COUNT]; cell::COUNT];
        self.cell_jacobian(&c, e, &mut cj);
        let off = drug::COUNT;
        for i in 0..cell::COUNT {
            jac[off + i][off..off + cell::COUNT].copy_from_slice(&cj[i]);
        }
        let ep = self.exposure_partials(&c, e);
        // Ca = AA / VA; the clamps at zero in cell_rhs are inactive wherever the partials are non-zero.
        for i in 0..cell::COUNT {
            jac[off + i][drug::AA] = ep.alemtuzumab[i] / p.alem_volume_l;
            jac[off + i][drug::D] = ep.damage[i];
            jac[off + i][drug::R] = ep.impairment[i];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::state;

    /// Central-difference Jacobian of `f` at `y`.
    fn numeric<const N: usize>(y: &[f64; N], f: impl Fn(&[f64; N]) -> [f64; N]) -> Matrix<N> {
        let mut jac = [[0.0; N]; N];
        for j in 0..N {
            let h = 1e-6 * y[j].abs().max(1e-3);
            let (mut yp, mut ym) = (*y, *y);
            yp[j] += h;
            ym[j] -= h;
            let (fp, fm) = (f(&yp), f(&ym));
            for i in 0..N {
                jac[i][j] = (fp[i] - fm[i]) / (2.0 * h);
            }
        }
        jac
    }

    fn assert_close<const N: usize>(a: &Matrix<N>, n: &Matrix<N>, what: &str) {
        for i in 0..N {
            for j in 0..N {
                let tol = 1e-5 * (a[i][j].abs() + n[i][j].abs()) + 1e-9;
                assert!(
                    (a[i][j] - n[i][j]).abs() <= tol,
                    "{what}[{i}][{j}]: analytic {} vs numeric {}",
                    a[i][j],
                    n[i][j]
                );
            }
        }
    }

    /// A depleted, recovering patient with both drugs present, away from every kink.
    fn depleted(m: &Model) -> FullState {
        let mut y = m.initial_state();
        let factors = [0.3, 0.55, 0.4, 0.6, 0.7, 0.2, 0.35, 0.5, 1.4, 1.0];
        for (i, f) in factors.iter().enumerate() {
            y[drug::COUNT + i] *= f;
        }
        y[drug::AA] = 3.0;
        y[drug::G] = 2.0;
        y[drug::C1] = 1.5;
        y[drug::C2] = 4.0;
        y[drug::Z] = 20.0;
        y[drug::D] = 0.8;
        y[drug::R] = 0.5;
        y[drug::COUNT + cell::S] = 0.4;
        y
    }

    #[test]
    fn full_jacobian_matches_central_differences() {
        for (hill, inhibition, psi, shift, ratio8) in [
            (1.0, 0.0, 0.0, 1.0, 1.0),
            (2.0, 0.0, 0.0, 1.0, 1.0),
            (1.0, 3.0, 0.0, 1.0, 1.0),
            (1.0, 3.0, 0.6, 0.8, 1.0),
            (1.5, 0.0, 1.0, 1.3, 1.0),
            (1.0, 3.0, 0.6, 0.8, 1.6),
            (1.0, 0.0, 0.6, 1.0, 0.7),
        ] {
            let mut p = crate::model::ModelParams::reference_v1();
            p.hill_memory = hill;
            p.clad_prolif_inhibition = inhibition;
            p.memory_niche_share = psi;
            p.setpoint_shift = shift;
            p.setpoint_ratio_cd8 = ratio8;
            p.nk_marrow_coupling = psi / 2.0;
            let m = Model::new(p).unwrap();
            let y = depleted(&m);
            let mut a = [[0.0; FULL]; FULL];
            m.full_jacobian(&y, &mut a);
            let n = numeric(&y, |y| {
                let mut dy = [0.0; FULL];
                m.full_rhs(y, 5.0, &mut dy);
                dy
            });
            assert_close(&a, &n, &format!("full (hill {hill})"));
        }
    }

    #[test]
    fn exposure_partials_match_central_differences() {
        let mut p = crate::model::ModelParams::reference_v1();
        p.clad_prolif_inhibition = 2.5;
        p.memory_niche_share = 0.7;
        p.setpoint_shift = 0.85;
        p.setpoint_ratio_cd8 = 1.4;
        let m = Model::new(p).unwrap();
        let y = depleted(&m);
        let (d, c) = state::split(&y);
        let e = m.exposure(&d);
        let ep = m.exposure_partials(&c, e);
        let rhs = |e: Exposure| {
            let mut dc = [0.0; cell::COUNT];
            m.cell_rhs(&c, e, &mut dc);
            dc
        };
        let h = 1e-6;
        let (mut ep_a, mut em_a) = (e, e);
        ep_a.alemtuzumab_ug_per_ml += h;
        em_a.alemtuzumab_ug_per_ml -= h;
        let (mut ep_d, mut em_d) = (e, e);
        ep_d.cladribine_damage += h;
        em_d.cladribine_damage -= h;
        let (fa, ga, fd, gd) = (rhs(ep_a), rhs(em_a), rhs(ep_d), rhs(em_d));
        let (mut ep_r, mut em_r) = (e, e);
        ep_r.impairment += h;
        em_r.impairment -= h;
        let (fr, gr) = (rhs(ep_r), rhs(em_r));
        for i in 0..cell::COUNT {
            let nr = (fr[i] - gr[i]) / (2.0 * h);
            assert!(
                (ep.impairment[i] - nr).abs() <= 1e-6 * nr.abs() + 1e-9,
                "{i}: {ep:?} vs {nr}"
            );
        }
        assert!(ep.impairment.iter().any(|&x| x != 0.0));
        for i in 0..cell::COUNT {
            let na = (fa[i] - ga[i]) / (2.0 * h);
            let nd = (fd[i] - gd[i]) / (2.0 * h);
            assert!(
                (ep.alemtuzumab[i] - na).abs() <= 1e-6 * na.abs() + 1e-9,
                "{i}: {ep:?} vs {na}"
            );
            assert!(
                (ep.damage[i] - nd).abs() <= 1e-6 * nd.abs() + 1e-9,
                "{i}: {ep:?} vs {nd}"
            );
        }
    }
}
