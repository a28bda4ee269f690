//! Drug pharmacokinetics, propagated exactly between dose events.
//!
//! Between two events the drug states form a linear, time-invariant system (see `docs/model.md`):
//!
//! * alemtuzumab, one compartment with a constant infusion rate `R`:
//!   `AA(τ) = R/k + (AA₀ − R/k)·e^{−kτ}`, `k = CLA/VA`;
//! * (model v2 only) the impairment `R`, a low-pass of `D` with rate `kR`: one more mode, `e^{−kR τ}`; in v1
//!   `R ≡ 0` and nothing is computed for it;
//! * cladribine, the cascade gut → central ⇄ peripheral → nucleotide signal `Z` → damage `D`, a 5×5
//!   lower block-triangular matrix whose eigenvalues are `−ka`, the two distribution roots `−α`, `−β`,
//!   `−kZ` and `−kD`. With eigenvectors `V` the state is `x(τ) = V·diag(e^{λτ})·V⁻¹·x₀`, which is what
//!   NONMEM's ADVAN routines and rxode2's `linCmt()` do for their compartment models.
//!
//! [`DrugPropagator`] is built once per patient (eigenvectors and `V⁻¹`); [`DrugSegment`] is built at the
//! start of each event-free segment and answers the drug state and the exposure at any time inside it
//! with a handful of exponentials, so the cell integrator sees no stiff drug modes at all.
//!
//! **Washed-out modes are skipped.** At the start of a segment each mode's amplitude is known, so the time after
//! which it stays below [`NEGLIGIBLE`] (in every state's own unit: mg, ng·day/mL, damage units) follows in closed
//! form. Later evaluations skip it: no exponential, and no slow underflow path of `exp` for arguments like
//! `−72/day × 1000 days`. A damage signal of 1e-20 changes a kill hazard by at most 1e-20 /day, which over ten
//! years moves a cell count by less than one part in 10¹⁵ — below what a double can show.

use nalgebra::{Matrix5, Vector5};

use crate::model::state::{drug, DrugState};
use crate::model::{Exposure, Model};

/// The exact propagator cannot be used with these parameters.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum PkError {
    /// Two rate constants of the cladribine cascade coincide, so the eigenvector basis is singular.
    #[error("exact cladribine PK needs distinct rate constants, but {first} = {first_value} /day and {second} = {second_value} /day nearly coincide; use the ODE form of the drug model (PkForm::Ode)")]
    DegenerateRates {
        /// Name of the first rate.
        first: &'static str,
        /// Its value (/day).
        first_value: f64,
        /// Name of the second rate.
        second: &'static str,
        /// Its value (/day).
        second_value: f64,
    },
}

/// Indices of the cladribine cascade inside the 5-vector used here.
const CLAD: [usize; 5] = [drug::G, drug::C1, drug::C2, drug::Z, drug::D];
const MODE_NAMES: [&str; 5] = ["ka", "alpha (distribution)", "beta (terminal)", "kZ", "kD"];
/// A drug mode whose amplitude stays below this (in its states' own units) is treated as washed out.
pub const NEGLIGIBLE: f64 = 1e-20;
/// Relative gap under which two eigenvalues count as coincident.
const MIN_RELATIVE_GAP: f64 = 1e-6;

/// Per-patient constants of the exact drug solution.
#[derive(Debug, Clone)]
pub struct DrugPropagator {
    /// Eigenvalues of the cladribine cascade (/day, all negative).
    lambda: [f64; 5],
    /// Eigenvectors as columns.
    v: Matrix5<f64>,
    /// Inverse of `v`.
    v_inv: Matrix5<f64>,
    /// Model v2: the impairment component `R` of each of the five modes (all 0 in v1, where `R ≡ 0`).
    impairment_row: [f64; 5],
    /// Model v2: rate of the impairment's own mode (/day); `R` has eigenvalue `−kR`.
    kr: f64,
    /// Whether the model tracks the impairment signal (v2).
    tracks_impairment: bool,
    /// Alemtuzumab elimination rate (/day).
    kel_a: f64,
    /// Alemtuzumab central volume (L).
    volume_a: f64,
}

impl DrugPropagator {
    /// Builds the eigen-decomposition for `model`'s parameters.
    pub fn new(model: &Model) -> Result<Self, PkError> {
        let p = model.params();
        let k = &model.k;
        let (k10, k12, k21) = (k.k10, k.k12, k.k21);
        let ka = p.clad_ka_per_day;
        let kz = p.clad_kz_per_day;
        let kd = p.clad_kd_per_day;
        let cp = k.cp_per_mg;
        let zd = kd / p.clad_zref;

        // Roots of the central/peripheral block [[-(k10+k12), k21], [k12, -k21]].
        let sum = k10 + k12 + k21;
        let disc = (sum * sum - 4.0 * k10 * k21).max(0.0).sqrt();
        let alpha = 0.5 * (sum + disc);
        let beta = (k10 * k21) / alpha; // product of roots, better conditioned than (sum - disc)/2
        let lambda = [-ka, -alpha, -beta, -kz, -kd];
        let tracks_impairment = p.clad_prolif_inhibition != 0.0;
        let kr = p.clad_kr_per_day;
        if tracks_impairment {
            for (i, &l) in lambda.iter().enumerate() {
                if (l + kr).abs() <= MIN_RELATIVE_GAP * l.abs().max(kr) {
                    return Err(PkError::DegenerateRates {
                        first: MODE_NAMES[i],
                        first_value: -l,
                        second: "kR",
                        second_value: kr,
                    });
                }
            }
        }

        for i in 0..5 {
            for j in i + 1..5 {
                let (a, b) = (lambda[i], lambda[j]);
                if (a - b).abs() <= MIN_RELATIVE_GAP * a.abs().max(b.abs()) {
                    return Err(PkError::DegenerateRates {
                        first: MODE_NAMES[i],
                        first_value: -a,
                        second: MODE_NAMES[j],
                        second_value: -b,
                    });
                }
            }
        }

        // Eigenvectors by forward substitution through the cascade: for eigenvalue l,
        // (A - l I) v = 0 row by row, with the component that defines the mode set to one.
        let mut v = Matrix5::<f64>::zeros();
        for (col, &l) in lambda.iter().enumerate() {
            let (g, c1, c2) = match col {
                0 => {
                    // Gut mode: solve the 2x2 block for the central/peripheral response to the gut input.
                    let g = 1.0;
                    let a11 = -(k10 + k12) - l;
                    let a12 = k21;
                    let a21 = k12;
                    let a22 = -k21 - l;
                    let det = a11 * a22 - a12 * a21;
                    let r1 = -ka * g;
                    let c1 = (r1 * a22) / det;
                    let c2 = (-a21 * r1) / det;
                    (g, c1, c2)
                }
                1 | 2 => (0.0, k21, k10 + k12 + l),
                _ => (0.0, 0.0, 0.0),
            };
            let z = if col == 4 {
                0.0
            } else if col == 3 {
                1.0
            } else {
                cp * c1 / (kz + l)
            };
            let d = if col == 4 { 1.0 } else { zd * z / (kd + l) };
            v.set_column(col, &Vector5::new(g, c1, c2, z, d));
        }
        // The impairment R = low-pass of D: its component in each mode follows from kR (R − D) = λ R.
        let mut impairment_row = [0.0; 5];
        if tracks_impairment {
            for (j, r) in impairment_row.iter_mut().enumerate() {
                *r = kr * v[(4, j)] / (kr + lambda[j]);
            }
        }
        let v_inv = v.try_inverse().ok_or(PkError::DegenerateRates {
            first: MODE_NAMES[0],
            first_value: ka,
            second: MODE_NAMES[1],
            second_value: alpha,
        })?;
        Ok(DrugPropagator {
            lambda,
            v,
            v_inv,
            impairment_row,
            kr,
            tracks_impairment,
            kel_a: k.kel_a,
            volume_a: p.alem_volume_l,
        })
    }

    /// Eigenvalues of the cladribine cascade (/day).
    pub fn eigenvalues(&self) -> [f64; 5] {
        self.lambda
    }

    /// Starts a segment at drug state `d0` with an alemtuzumab infusion of `infusion_mg_per_day` running.
    pub fn segment(&self, d0: &DrugState, infusion_mg_per_day: f64) -> DrugSegment<'_> {
        let x0 = Vector5::new(d0[CLAD[0]], d0[CLAD[1]], d0[CLAD[2]], d0[CLAD[3]], d0[CLAD[4]]);
        let coef = self.v_inv * x0;
        let mut damage_weight = [0.0; 5];
        let mut impairment_weight = [0.0; 5];
        let mut alive_until = [0.0; 5];
        for j in 0..5 {
            damage_weight[j] = self.v[(4, j)] * coef[j];
            impairment_weight[j] = self.impairment_row[j] * coef[j];
            let amplitude = (0..5)
                .map(|row| (self.v[(row, j)] * coef[j]).abs())
                .fold(impairment_weight[j].abs(), f64::max);
            alive_until[j] = washout_time(amplitude, self.lambda[j]);
        }
        // R's own mode takes what the five cladribine modes do not explain of the current R.
        let impairment_coef = if self.tracks_impairment {
            d0[drug::R] - impairment_weight.iter().sum::<f64>()
        } else {
            0.0
        };
        let plateau = infusion_mg_per_day / self.kel_a;
        let excess = d0[drug::AA] - plateau;
        DrugSegment {
            prop: self,
            coef: [coef[0], coef[1], coef[2], coef[3], coef[4]],
            damage_weight,
            impairment_weight,
            impairment_coef,
            impairment_alive_until: washout_time(impairment_coef.abs(), -self.kr),
            alive_until,
            alem_plateau: plateau,
            alem_excess: excess,
            alem_alive_until: washout_time(excess.abs(), -self.kel_a),
        }
    }

    /// Drug state after `tau` days, from `d0`, with a constant infusion (a convenience over [`Self::segment`]).
    pub fn propagate(&self, d0: &DrugState, infusion_mg_per_day: f64, tau: f64) -> DrugState {
        self.segment(d0, infusion_mg_per_day).state_at(tau)
    }
}

/// Time after which `amplitude · e^{λτ}` (λ < 0) stays below [`NEGLIGIBLE`]; 0 if it already is.
fn washout_time(amplitude: f64, lambda: f64) -> f64 {
    if amplitude <= NEGLIGIBLE {
        0.0
    } else if lambda < 0.0 {
        (NEGLIGIBLE / amplitude).ln() / lambda
    } else {
        f64::INFINITY
    }
}

/// The exact drug solution on one event-free segment, as a function of the time since its start.
#[derive(Debug, Clone)]
pub struct DrugSegment<'a> {
    prop: &'a DrugPropagator,
    coef: [f64; 5],
    damage_weight: [f64; 5],
    /// Model v2: each mode's contribution to the impairment `R`.
    impairment_weight: [f64; 5],
    /// Model v2: amplitude of `R`'s own mode.
    impairment_coef: f64,
    /// Segment time (days) after which `R`'s own mode is washed out.
    impairment_alive_until: f64,
    /// Segment time (days) after which each mode is washed out.
    alive_until: [f64; 5],
    alem_plateau: f64,
    alem_excess: f64,
    /// Segment time (days) after which the alemtuzumab amount equals its plateau.
    alem_alive_until: f64,
}

impl DrugSegment<'_> {
    /// Alemtuzumab amount (mg) after `tau` days.
    #[inline]
    fn alemtuzumab_mg(&self, tau: f64) -> f64 {
        if tau >= self.alem_alive_until {
            return self.alem_plateau;
        }
        (self.alem_plateau + self.alem_excess * (-self.prop.kel_a * tau).exp()).max(0.0)
    }

    /// Drug exposure after `tau` days: what the cell equations need.
    #[inline]
    pub fn exposure_at(&self, tau: f64) -> Exposure {
        let mut damage = 0.0;
        let mut impairment = 0.0;
        for j in 0..5 {
            let w = self.damage_weight[j];
            if w != 0.0 && tau < self.alive_until[j] {
                let x = (self.prop.lambda[j] * tau).exp();
                damage += w * x;
                impairment += self.impairment_weight[j] * x;
            }
        }
        if self.prop.tracks_impairment && tau < self.impairment_alive_until {
            impairment += self.impairment_coef * (-self.prop.kr * tau).exp();
        }
        Exposure {
            alemtuzumab_ug_per_ml: self.alemtuzumab_mg(tau) / self.prop.volume_a,
            cladribine_damage: damage.max(0.0),
            impairment: impairment.max(0.0),
        }
    }

    /// Time derivative of the exposure after `tau` days (µg/mL/day and damage units/day): what the
    /// `∂f/∂t` term of a Rosenbrock step needs.
    #[inline]
    pub fn exposure_rate_at(&self, tau: f64) -> Exposure {
        let mut damage = 0.0;
        let mut impairment = 0.0;
        for j in 0..5 {
            let w = self.damage_weight[j];
            if w != 0.0 && tau < self.alive_until[j] {
                let l = self.prop.lambda[j];
                let x = l * (l * tau).exp();
                damage += w * x;
                impairment += self.impairment_weight[j] * x;
            }
        }
        if self.prop.tracks_impairment && tau < self.impairment_alive_until {
            let kr = self.prop.kr;
            impairment -= kr * self.impairment_coef * (-kr * tau).exp();
        }
        let kel = self.prop.kel_a;
        let excess = if tau < self.alem_alive_until {
            self.alem_excess * (-kel * tau).exp()
        } else {
            0.0
        };
        let alem = if excess != 0.0 && self.alem_plateau + excess > 0.0 {
            -kel * excess / self.prop.volume_a
        } else {
            0.0
        };
        Exposure {
            alemtuzumab_ug_per_ml: alem,
            cladribine_damage: damage,
            impairment,
        }
    }

    /// All drug states after `tau` days. Values are clamped at zero: the exact solution is
    /// non-negative, so only rounding noise is removed.
    pub fn state_at(&self, tau: f64) -> DrugState {
        let mut d = [0.0; drug::COUNT];
        d[drug::AA] = self.alemtuzumab_mg(tau);
        let mut e = [0.0; 5];
        let mut alive = false;
        for j in 0..5 {
            if self.coef[j] != 0.0 && tau < self.alive_until[j] {
                e[j] = self.coef[j] * (self.prop.lambda[j] * tau).exp();
                alive = true;
            }
        }
        if self.prop.tracks_impairment {
            let mut r: f64 = (0..5).map(|j| self.prop.impairment_row[j] * e[j]).sum();
            if tau < self.impairment_alive_until {
                r += self.impairment_coef * (-self.prop.kr * tau).exp();
            }
            d[drug::R] = r.max(0.0);
        }
        if !alive {
            return d;
        }
        for (row, &idx) in CLAD.iter().enumerate() {
            let mut s = 0.0;
            for (j, ej) in e.iter().enumerate() {
                s += self.prop.v[(row, j)] * ej;
            }
            d[idx] = s.max(0.0);
        }
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::state::drug;

    #[test]
    fn exposure_rate_is_the_derivative_of_exposure() {
        let m = Model::reference_v1();
        let prop = DrugPropagator::new(&m).unwrap();
        let mut d0 = [0.0; drug::COUNT];
        d0[drug::AA] = 5.0;
        d0[drug::G] = 4.0;
        d0[drug::Z] = 3.0;
        d0[drug::D] = 0.5;
        let seg = prop.segment(&d0, 10.0);
        for &tau in &[0.05, 0.5, 3.0, 40.0] {
            let h = 1e-5;
            let (a, b) = (seg.exposure_at(tau + h), seg.exposure_at(tau - h));
            let r = seg.exposure_rate_at(tau);
            let fa = (a.alemtuzumab_ug_per_ml - b.alemtuzumab_ug_per_ml) / (2.0 * h);
            let fd = (a.cladribine_damage - b.cladribine_damage) / (2.0 * h);
            assert!(
                (fa - r.alemtuzumab_ug_per_ml).abs() < 1e-6 * (1.0 + fa.abs()),
                "tau {tau}: {fa} vs {r:?}"
            );
            assert!(
                (fd - r.cladribine_damage).abs() < 1e-6 * (1.0 + fd.abs()),
                "tau {tau}: {fd} vs {r:?}"
            );
        }
    }

    #[test]
    fn washed_out_modes_are_skipped_without_changing_values() {
        // An oral dose then ten years: late values equal the full sum to within NEGLIGIBLE, and become exact
        // zeros once every mode has washed out.
        let m = Model::reference_v1();
        let prop = DrugPropagator::new(&m).unwrap();
        let mut d0 = [0.0; drug::COUNT];
        d0[drug::G] = 4.0;
        d0[drug::AA] = 12.0;
        let seg = prop.segment(&d0, 0.0);
        for &tau in &[1.0, 30.0, 300.0, 2000.0] {
            let d = seg.state_at(tau);
            // Full sums without skipping.
            let coef = prop.v_inv * Vector5::new(4.0, 0.0, 0.0, 0.0, 0.0);
            for (row, &idx) in CLAD.iter().enumerate() {
                let full: f64 = (0..5)
                    .map(|j| prop.v[(row, j)] * coef[j] * (prop.lambda[j] * tau).exp())
                    .sum();
                assert!(
                    (d[idx] - full.max(0.0)).abs() <= 5.0 * NEGLIGIBLE + 1e-14 * full.abs(),
                    "tau {tau}, {idx}: {} vs {full}",
                    d[idx]
                );
            }
        }
        let late = seg.state_at(1e5);
        assert!(late.iter().all(|&x| x == 0.0), "{late:?}");
        assert_eq!(seg.exposure_at(1e5), Exposure::default());
    }

    /// The propagator must satisfy the drug ODE: compare its derivative (by central differences) with the RHS.
    #[test]
    fn propagator_solves_the_drug_ode() {
        let mut v2 = crate::model::ModelParams::reference_v1();
        v2.clad_prolif_inhibition = 3.0;
        for m in [Model::reference_v1(), Model::new(v2).unwrap()] {
            propagator_solves_the_drug_ode_for(&m);
        }
    }

    fn propagator_solves_the_drug_ode_for(m: &Model) {
        let prop = DrugPropagator::new(m).unwrap();
        let tracks = m.params().clad_prolif_inhibition != 0.0;
        let mut d0 = [0.0; drug::COUNT];
        d0[drug::AA] = 5.0;
        d0[drug::G] = 4.0;
        d0[drug::C1] = 1.0;
        d0[drug::C2] = 2.0;
        d0[drug::Z] = 3.0;
        d0[drug::D] = 0.5;
        if tracks {
            d0[drug::R] = 0.25;
        }
        let seg = prop.segment(&d0, 72.0);
        let d_at_0 = seg.state_at(0.0);
        for i in 0..drug::COUNT {
            assert!(
                (d_at_0[i] - d0[i]).abs() < 1e-12,
                "state {i}: {} vs {}",
                d_at_0[i],
                d0[i]
            );
        }
        for &tau in &[0.01, 0.3, 2.0, 10.0, 100.0] {
            let h = 1e-5;
            let (a, b) = (seg.state_at(tau + h), seg.state_at(tau - h));
            let mut rhs = [0.0; drug::COUNT];
            m.drug_rhs(&seg.state_at(tau), 72.0, &mut rhs);
            // The exposure agrees with the state it summarises.
            let (x, st) = (seg.exposure_at(tau), seg.state_at(tau));
            assert!((x.impairment - st[drug::R]).abs() < 1e-12, "tau {tau}: {x:?} vs {st:?}");
            assert_eq!(tracks, st[drug::R] > 0.0, "tau {tau}: {st:?}");
            for i in 0..drug::COUNT {
                let fd = (a[i] - b[i]) / (2.0 * h);
                assert!(
                    (fd - rhs[i]).abs() < 1e-5 * (1.0 + rhs[i].abs()),
                    "tau {tau}, state {i}: {fd} vs {}",
                    rhs[i]
                );
            }
        }
    }

    #[test]
    fn coincident_rates_are_a_clear_error() {
        let mut p = crate::model::ModelParams::reference_v1();
        p.clad_kd_per_day = p.clad_kz_per_day;
        let m = Model::new(p).unwrap();
        let e = DrugPropagator::new(&m).unwrap_err().to_string();
        assert!(e.contains("kZ") && e.contains("kD") && e.contains("PkForm::Ode"), "{e}");
    }
}
