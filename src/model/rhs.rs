//! The cell right-hand side, written once for one patient (`f64`) and for a batch of patients in SIMD lanes
//! ([`wide::f64x4`], one patient per lane).
//!
//! [`CellCoeffs`] holds every number the right-hand side reads, in canonical units (cells/µL, /day, µg/mL);
//! [`Structure`] the switches that select a model version's terms (they must agree across a batch). Each lane
//! performs exactly the operations of the one-patient code, in the same order — additions, multiplications,
//! divisions, square roots and `max` are exact IEEE operations in both — so a patient gets the same bits
//! whichever lane, batch or path computes it. The rare terms without a SIMD form (a Hill exponent other than 1, a
//! feedback exponent other than ½) call the scalar `powf` lane by lane for the same reason.

use std::ops::{Add, Div, Mul, Sub};

use wide::f64x4;

use super::state::cell;

/// Number of patients per SIMD batch.
pub const LANES: usize = 4;

/// The arithmetic the right-hand side needs, for one value (`f64`) or one value per lane (`f64x4`).
pub trait Real: Copy + Add<Output = Self> + Sub<Output = Self> + Mul<Output = Self> + Div<Output = Self> {
    /// The same value in every lane.
    fn splat(v: f64) -> Self;
    /// The larger of two values, lane by lane.
    fn max(self, o: Self) -> Self;
    /// The smaller of two values, lane by lane.
    fn min(self, o: Self) -> Self;
    /// Square root, lane by lane.
    fn sqrt(self) -> Self;
    /// `self^e` with the scalar `powf`, lane by lane.
    fn powf(self, e: Self) -> Self;
    /// `a` where `self > 0`, `b` elsewhere, lane by lane.
    fn where_positive(self, a: Self, b: Self) -> Self;
}

impl Real for f64 {
    #[inline(always)]
    fn splat(v: f64) -> Self {
        v
    }
    #[inline(always)]
    fn max(self, o: Self) -> Self {
        f64::max(self, o)
    }
    #[inline(always)]
    fn min(self, o: Self) -> Self {
        f64::min(self, o)
    }
    #[inline(always)]
    fn sqrt(self) -> Self {
        f64::sqrt(self)
    }
    #[inline(always)]
    fn powf(self, e: Self) -> Self {
        f64::powf(self, e)
    }
    #[inline(always)]
    fn where_positive(self, a: Self, b: Self) -> Self {
        if self > 0.0 {
            a
        } else {
            b
        }
    }
}

impl Real for f64x4 {
    #[inline(always)]
    fn splat(v: f64) -> Self {
        f64x4::splat(v)
    }
    #[inline(always)]
    fn max(self, o: Self) -> Self {
        f64x4::max(self, o)
    }
    #[inline(always)]
    fn min(self, o: Self) -> Self {
        f64x4::min(self, o)
    }
    #[inline(always)]
    fn sqrt(self) -> Self {
        f64x4::sqrt(self)
    }
    #[inline]
    fn powf(self, e: Self) -> Self {
        let (x, e) = (self.to_array(), e.to_array());
        f64x4::new(std::array::from_fn(|i| x[i].powf(e[i])))
    }
    #[inline(always)]
    fn where_positive(self, a: Self, b: Self) -> Self {
        self.simd_gt(f64x4::ZERO).select(a, b)
    }
}

/// Which terms of the cell equations a model version has. Patients in one SIMD batch must agree on all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Structure {
    /// Model v2: the impairment signal inhibits lymphopenia-induced proliferation (`IpC ≠ 0`).
    pub inhibited: bool,
    /// The naive homeostatic factor is hyperbolic (Hill exponent exactly 1).
    pub naive_hill_one: bool,
    /// The memory homeostatic factor is hyperbolic (Hill exponent exactly 1).
    pub memory_hill_one: bool,
    /// Model v3: NK output is partly coupled to the marrow precursors (`cNK ≠ 0`).
    pub nk_coupled: bool,
    /// The lymphopenia signal is the square root of the depletion ratio (exponent exactly ½).
    pub sqrt_feedback: bool,
    /// Model v3: the memory set points move (`s ≠ 1` or `s·r8 ≠ 1`).
    pub setpoint_moves: bool,
}

macro_rules! cell_coeffs {
    ($($(#[$doc:meta])* $name:ident,)*) => {
        /// Every number the cell right-hand side reads, for one patient (`T = f64`) or one patient per lane.
        #[derive(Debug, Clone, Copy, PartialEq)]
        pub struct CellCoeffs<T> {
            $($(#[$doc])* pub $name: T,)*
            /// Floors below which alemtuzumab does not kill (cells/µL), in cell-state order (0 for `PB`, `F`, `S`).
            pub floor: [T; cell::COUNT],
        }

        impl CellCoeffs<f64x4> {
            /// The coefficients of `lanes[i]` in lane `i`.
            pub fn gather(lanes: [&CellCoeffs<f64>; LANES]) -> Self {
                CellCoeffs {
                    $($name: f64x4::new(std::array::from_fn(|l| lanes[l].$name)),)*
                    floor: std::array::from_fn(|i| f64x4::new(std::array::from_fn(|l| lanes[l].floor[i]))),
                }
            }
        }
    };
}

cell_coeffs! {
    /// Maximal alemtuzumab kill rate (/day).
    alem_kill_max,
    /// Alemtuzumab concentration of half-maximal kill (µg/mL).
    alem_ec50,
    /// Relative alemtuzumab susceptibility of T cells (dimensionless).
    alem_susceptibility_t,
    /// Relative alemtuzumab susceptibility of B cells (dimensionless).
    alem_susceptibility_b,
    /// Relative alemtuzumab susceptibility of NK cells (dimensionless).
    alem_susceptibility_nk,
    /// Cladribine damage of half-maximal kill (dimensionless).
    clad_d50,
    /// Model v2: proliferation inhibition per unit of impairment (dimensionless).
    clad_prolif_inhibition,
    /// Naive homeostatic gain κ (dimensionless).
    kappa_naive,
    /// Naive Hill exponent (dimensionless).
    hill_naive,
    /// Memory homeostatic gain κ (dimensionless).
    kappa_memory,
    /// Memory Hill exponent (dimensionless).
    hill_memory,
    /// Model v3: the naive pool's share ψ of the memory niche (dimensionless).
    memory_niche_share,
    /// Model v3: the CD4 memory set point relative to baseline, `s` (dimensionless).
    setpoint4,
    /// Model v3: the CD8 memory set point relative to baseline, `s·r8` (dimensionless).
    setpoint8,
    /// Naive→memory activation of CD4 (/day).
    activation_cd4,
    /// Memory CD4 death (/day).
    death_memory_cd4,
    /// Naive→memory activation of CD8 (/day).
    activation_cd8,
    /// Memory CD8 death (/day).
    death_memory_cd8,
    /// Naive→memory activation of B cells (/day).
    activation_b,
    /// Memory B death (/day).
    death_memory_b,
    /// Cladribine kill of naive CD4 at full damage (/day).
    clad_kill_n4,
    /// Cladribine kill of memory CD4 at full damage (/day).
    clad_kill_m4,
    /// Cladribine kill of naive CD8 at full damage (/day).
    clad_kill_n8,
    /// Cladribine kill of memory CD8 at full damage (/day).
    clad_kill_m8,
    /// Cladribine kill of marrow B precursors at full damage (/day).
    clad_kill_pb,
    /// Cladribine kill of naive B cells at full damage (/day).
    clad_kill_bn,
    /// Cladribine kill of memory B cells at full damage (/day).
    clad_kill_bm,
    /// Cladribine kill of NK cells at full damage (/day).
    clad_kill_nk,
    /// Marrow precursor recovery (/day).
    precursor_recovery,
    /// Gain of B-cell output on the lymphopenia signal (dimensionless).
    feedback_gain,
    /// Model v3: share of NK output coupled to the marrow precursors (dimensionless).
    nk_marrow_coupling,
    /// NK death (/day).
    death_nk,
    /// Largest depletion ratio the lymphopenia signal responds to (dimensionless).
    feedback_max,
    /// Exponent of the lymphopenia signal (dimensionless).
    feedback_exponent,
    /// Relaxation rate of the lymphopenia signal (/day).
    feedback_rate,
    /// Model v3: rate at which the set point moves (/day).
    setpoint_rate,
    /// Thymic output of naive CD4 (cells/µL/day).
    theta4,
    /// Naive CD4 proliferation at baseline (/day).
    prolif_n4,
    /// `1 / N4(0)` (µL/cell).
    inv_baseline_n4,
    /// Naive CD4 loss, death plus activation (/day).
    loss_n4,
    /// Memory CD4 proliferation at baseline (/day).
    prolif_m4,
    /// Model v3: the CD4 memory niche at baseline (cells/µL).
    niche4,
    /// Thymic output of naive CD8 (cells/µL/day).
    theta8,
    /// Naive CD8 proliferation at baseline (/day).
    prolif_n8,
    /// `1 / N8(0)` (µL/cell).
    inv_baseline_n8,
    /// Naive CD8 loss, death plus activation (/day).
    loss_n8,
    /// Memory CD8 proliferation at baseline (/day).
    prolif_m8,
    /// Model v3: the CD8 memory niche at baseline (cells/µL).
    niche8,
    /// Marrow output of naive B cells at baseline (cells/µL/day).
    source_b,
    /// Naive B loss, death plus activation (/day).
    loss_bn,
    /// Memory B proliferation at baseline (/day).
    prolif_bm,
    /// NK output at baseline (cells/µL/day).
    source_nk,
    /// Baseline of the six lymphocyte pools the signal compares with (cells/µL).
    l0,
}

/// The drug hazards `[alemtuzumab on T, on B, on NK, cladribine fraction]` (/day, /day, /day, dimensionless) at
/// an alemtuzumab concentration `ca` (µg/mL) and a cladribine damage `dmg`.
#[inline(always)]
pub fn hazards<T: Real>(k: &CellCoeffs<T>, ca: T, dmg: T) -> [T; 4] {
    let zero = T::splat(0.0);
    let ca = ca.max(zero);
    let alem = k.alem_kill_max * ca / (k.alem_ec50 + ca);
    let dmg = dmg.max(zero);
    [
        alem * k.alem_susceptibility_t,
        alem * k.alem_susceptibility_b,
        alem * k.alem_susceptibility_nk,
        dmg / (k.clad_d50 + dmg),
    ]
}

/// The homeostatic factor `(1 + κ)/(1 + κ xⁿ)`; `hill_one` says `n` is exactly 1.
#[inline(always)]
pub(crate) fn homeostasis<T: Real>(x: T, kappa: T, hill: T, hill_one: bool) -> T {
    let one = T::splat(1.0);
    let xh = if hill_one { x } else { x.max(T::splat(0.0)).powf(hill) };
    (one + kappa) / (one + kappa * xh)
}

/// Model v3: the memory set point reached at progress `s_state`, `1 + (s − 1)·S` for the post-depletion set
/// point `s` (exactly 1 while `S = 0` or `s = 1`).
#[inline(always)]
pub(crate) fn setpoint_target<T: Real>(setpoint: T, s_state: T) -> T {
    let one = T::splat(1.0);
    one + (setpoint - one) * s_state
}

/// Model v3: the memory T cells' homeostatic signal `(M + ψ·N) / (T · niche0)`, with `T` the set point reached
/// so far (exactly `M / M0` in v1/v2, where ψ = 0 and `T` = 1).
#[inline(always)]
pub(crate) fn memory_signal<T: Real>(m: T, n: T, niche0: T, psi: T, target: T) -> T {
    (m + psi * n) / (target * niche0)
}

#[inline(always)]
fn above<T: Real>(x: T, floor: T) -> T {
    (x - floor).max(T::splat(0.0))
}

/// The right-hand side of the cell and feedback states (cells/µL/day; per day for `PB`, `F`, `S`) under an
/// alemtuzumab concentration `ca` (µg/mL), a cladribine damage `dmg` and the v2 impairment `imp`. See
/// `docs/model.md` for the equations.
#[inline(always)]
pub fn cell_rhs<T: Real>(
    k: &CellCoeffs<T>,
    st: Structure,
    c: &[T; cell::COUNT],
    ca: T,
    dmg: T,
    imp: T,
    dc: &mut [T; cell::COUNT],
) {
    let zero = T::splat(0.0);
    let one = T::splat(1.0);
    let [ka_t, ka_b, ka_nk, clad] = hazards(k, ca, dmg);
    // Model v2: the impairment signal suppresses the lymphopenia-induced (extra) part of T-cell proliferation,
    // by one factor for all four T-cell pools. In v1 (IpC = 0) the homeostatic factor is used as it is.
    let lip_scale = if st.inhibited {
        one / (one + k.clad_prolif_inhibition * imp.max(zero))
    } else {
        one
    };
    let lip = |h: T| if st.inhibited { one + (h - one) * lip_scale } else { h };

    let n4 = c[cell::N4];
    let m4 = c[cell::M4];
    let n8 = c[cell::N8];
    let m8 = c[cell::M8];
    let pb = c[cell::PB];
    let bn = c[cell::BN];
    let bm = c[cell::BM];
    let nk = c[cell::NK];
    let f = c[cell::F];
    let s = c[cell::S];
    let psi = k.memory_niche_share;
    let signal4 = memory_signal(m4, n4, k.niche4, psi, setpoint_target(k.setpoint4, s));
    let signal8 = memory_signal(m8, n8, k.niche8, psi, setpoint_target(k.setpoint8, s));
    let floor = &k.floor;

    dc[cell::N4] = k.theta4
        + k.prolif_n4
            * lip(homeostasis(
                n4 * k.inv_baseline_n4,
                k.kappa_naive,
                k.hill_naive,
                st.naive_hill_one,
            ))
            * n4
        - k.loss_n4 * n4
        - ka_t * above(n4, floor[cell::N4])
        - k.clad_kill_n4 * clad * n4;
    dc[cell::M4] = k.activation_cd4 * n4
        + k.prolif_m4 * lip(homeostasis(signal4, k.kappa_memory, k.hill_memory, st.memory_hill_one)) * m4
        - k.death_memory_cd4 * m4
        - ka_t * above(m4, floor[cell::M4])
        - k.clad_kill_m4 * clad * m4;
    dc[cell::N8] = k.theta8
        + k.prolif_n8
            * lip(homeostasis(
                n8 * k.inv_baseline_n8,
                k.kappa_naive,
                k.hill_naive,
                st.naive_hill_one,
            ))
            * n8
        - k.loss_n8 * n8
        - ka_t * above(n8, floor[cell::N8])
        - k.clad_kill_n8 * clad * n8;
    dc[cell::M8] = k.activation_cd8 * n8
        + k.prolif_m8 * lip(homeostasis(signal8, k.kappa_memory, k.hill_memory, st.memory_hill_one)) * m8
        - k.death_memory_cd8 * m8
        - ka_t * above(m8, floor[cell::M8])
        - k.clad_kill_m8 * clad * m8;
    dc[cell::PB] = k.precursor_recovery * (one - pb) - k.clad_kill_pb * clad * pb;
    dc[cell::BN] = k.source_b * pb * (one + k.feedback_gain * (f - one))
        - k.loss_bn * bn
        - ka_b * above(bn, floor[cell::BN])
        - k.clad_kill_bn * clad * bn;
    dc[cell::BM] = k.activation_b * bn + k.prolif_bm * bm
        - k.death_memory_b * bm
        - ka_b * above(bm, floor[cell::BM])
        - k.clad_kill_bm * clad * bm;
    // Model v3: part of NK output comes from the marrow precursors (cNK = 0 in v1/v2: constant output).
    let nk_source = if st.nk_coupled {
        k.source_nk * (one - k.nk_marrow_coupling + k.nk_marrow_coupling * pb)
    } else {
        k.source_nk
    };
    dc[cell::NK] = nk_source - k.death_nk * nk - ka_nk * above(nk, floor[cell::NK]) - k.clad_kill_nk * clad * nk;
    let l = n4 + m4 + n8 + m8 + bn + bm;
    let ratio = l.where_positive((k.l0 / l).min(k.feedback_max), k.feedback_max);
    let signal = if st.sqrt_feedback {
        ratio.sqrt()
    } else {
        ratio.powf(k.feedback_exponent)
    };
    dc[cell::F] = k.feedback_rate * (signal - f);
    // Model v3: the set point moves while the lymphopenia signal is above baseline; in v1/v2 it never moves.
    dc[cell::S] = if st.setpoint_moves {
        k.setpoint_rate * (f - one).max(zero) * (one - s)
    } else {
        zero
    };
}
