//! Reference model v1: drug PK, drug effects, and T, B and NK cell kinetics.
//!
//! [`ModelParams`] holds the parameters of one patient; [`Model::new`] validates them and precomputes the
//! steady-state closure (the production terms that keep an untreated patient exactly at baseline). The
//! model then offers the right-hand sides of the drug subsystem ([`Model::drug_rhs`]) and of the cells
//! ([`Model::cell_rhs`]), the drug exposure that couples them ([`Model::exposure`]), and the observations
//! ([`Model::observe`]).
//!
//! The equations, with each parameter's meaning, are in `docs/model.md`.

mod count;
mod grade;
mod jacobian;
mod params;
pub mod rhs;
pub mod state;

pub use count::Count;
pub use grade::{Grade, GradeScale, DEFAULT_LLN};
pub use jacobian::{ExposurePartials, Matrix};
pub use params::{Constraint, ModelParams, ParamError, ParamId, ParamSpec, MAX_CELLS_PER_UL};
pub use rhs::{CellCoeffs, Real, Structure, LANES};

use state::{cell, drug, CellState, DrugState, FullState};

/// Drug exposure at one instant: what the cell equations need from the drug states.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Exposure {
    /// Alemtuzumab serum concentration `CA` (µg/mL).
    pub alemtuzumab_ug_per_ml: f64,
    /// Cladribine apoptotic damage `D` (dimensionless).
    pub cladribine_damage: f64,
    /// Model v2: impairment of lymphopenia-induced T-cell proliferation `R` (dimensionless; ignored in v1).
    pub impairment: f64,
}

/// Count quantities of one state.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Observables {
    /// Absolute lymphocyte count (cells/µL), scaled to the patient's baseline ALC.
    pub alc: f64,
    /// CD4+ T cells, naive + memory (cells/µL).
    pub cd4: f64,
    /// CD8+ T cells, naive + memory (cells/µL).
    pub cd8: f64,
    /// CD19+ B cells, naive + memory (cells/µL).
    pub cd19: f64,
    /// NK cells (cells/µL).
    pub nk: f64,
    /// Memory CD4+ T cells, the model's `M4` (cells/µL); flow-cytometric memory CD4 subsets compare with it.
    pub cd4_memory: f64,
    /// Memory B cells, the model's `BM` (cells/µL); CD19+CD27+ memory B cells compare with it.
    pub cd19_memory: f64,
    /// Alemtuzumab serum concentration (µg/mL).
    pub alemtuzumab_ug_per_ml: f64,
    /// Cladribine plasma concentration (ng/mL).
    pub cladribine_ng_per_ml: f64,
}

/// Constants derived once per patient from the parameters (steady-state closure and rate constants).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Derived {
    pub baseline: CellState,
    pub l0: f64,
    pub alc_scale: f64,
    pub theta4: f64,
    pub prolif_n4: f64,
    pub loss_n4: f64,
    pub prolif_m4: f64,
    pub theta8: f64,
    pub prolif_n8: f64,
    pub loss_n8: f64,
    pub prolif_m8: f64,
    pub source_b: f64,
    pub loss_bn: f64,
    pub prolif_bm: f64,
    pub source_nk: f64,
    /// Model v3: the memory niches at baseline, `M0 + ψ·N0` for CD4 and CD8 (cells/µL).
    pub niche4: f64,
    pub niche8: f64,
    /// `1 / N0` of the naive CD4 and CD8 pools (µL/cell): the right-hand side multiplies instead of dividing.
    pub inv_baseline_n4: f64,
    pub inv_baseline_n8: f64,
    /// Alemtuzumab elimination rate (/day).
    pub kel_a: f64,
    /// Cladribine micro-constants (/day).
    pub k10: f64,
    pub k12: f64,
    pub k21: f64,
    /// ng/mL of plasma concentration per mg in the central compartment.
    pub cp_per_mg: f64,
    /// Floors below which alemtuzumab does not kill (cells/µL), in cell-state order (PB and F unused).
    pub floor: CellState,
}

/// A validated patient model: parameters plus the constants derived from them.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    params: ModelParams,
    pub(crate) k: Derived,
    /// What the cell right-hand side reads, gathered once (see [`CellCoeffs`]).
    coeffs: CellCoeffs<f64>,
    /// Which terms of the cell equations this model has.
    structure: Structure,
}

/// Drug hazards at one exposure.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Hazards {
    /// Alemtuzumab kill rate of T cells above their floor (/day).
    pub alem_t: f64,
    /// Alemtuzumab kill rate of B cells above their floor (/day).
    pub alem_b: f64,
    /// Alemtuzumab kill rate of NK cells above their floor (/day).
    pub alem_nk: f64,
    /// Fraction of the maximal cladribine kill rates in effect, `D / (D50 + D)`.
    pub clad: f64,
}

impl Model {
    /// Validates `params` and derives the steady-state closure.
    ///
    /// Fails with [`ParamError`] if a parameter is out of range, or if the closure would need a negative
    /// memory proliferation rate (naive→memory conversion larger than memory death allows).
    pub fn new(params: ModelParams) -> Result<Self, ParamError> {
        params.validate()?;
        let p = &params;
        let n4 = p.naive_fraction_cd4 * p.cd4_0;
        let m4 = (1.0 - p.naive_fraction_cd4) * p.cd4_0;
        let n8 = p.naive_fraction_cd8 * p.cd8_0;
        let m8 = (1.0 - p.naive_fraction_cd8) * p.cd8_0;
        let bn = p.naive_fraction_b * p.cd19_0;
        let bm = (1.0 - p.naive_fraction_b) * p.cd19_0;
        let fthy = p.thymic_fraction_at_age();

        let loss_n4 = p.death_naive_cd4 + p.activation_cd4;
        let loss_n8 = p.death_naive_cd8 + p.activation_cd8;
        let loss_bn = p.death_naive_b + p.activation_b;
        let prolif_m4 = p.death_memory_cd4 - p.activation_cd4 * n4 / m4;
        let prolif_m8 = p.death_memory_cd8 - p.activation_cd8 * n8 / m8;
        let prolif_bm = p.death_memory_b - p.activation_b * bn / bm;
        for (names, v) in [
            ("activation_cd4, death_memory_cd4, naive_fraction_cd4", prolif_m4),
            ("activation_cd8, death_memory_cd8, naive_fraction_cd8", prolif_m8),
            ("activation_b, death_memory_b, naive_fraction_b", prolif_bm),
        ] {
            if v < 0.0 {
                return Err(ParamError::Inconsistent {
                    names,
                    reason: "steady-state closure needs memory proliferation >= 0 (naive->memory inflow exceeds memory death)",
                    value: v,
                });
            }
        }

        let mut baseline = [0.0; cell::COUNT];
        baseline[cell::N4] = n4;
        baseline[cell::M4] = m4;
        baseline[cell::N8] = n8;
        baseline[cell::M8] = m8;
        baseline[cell::PB] = 1.0;
        baseline[cell::BN] = bn;
        baseline[cell::BM] = bm;
        baseline[cell::NK] = p.nk_0;
        baseline[cell::F] = 1.0;
        baseline[cell::S] = 0.0;

        let mut floor = [0.0; cell::COUNT];
        floor[cell::N4] = p.floor_naive_t * n4;
        floor[cell::N8] = p.floor_naive_t * n8;
        floor[cell::M4] = p.floor_memory_cd4 * m4;
        floor[cell::M8] = p.floor_memory_cd8 * m8;
        floor[cell::BN] = p.floor_b * bn;
        floor[cell::BM] = p.floor_b * bm;
        floor[cell::NK] = p.floor_nk * p.nk_0;

        let k = Derived {
            baseline,
            l0: n4 + m4 + n8 + m8 + bn + bm,
            alc_scale: p.alc_0 / (p.cd4_0 + p.cd8_0 + p.cd19_0 + p.nk_0),
            theta4: fthy * loss_n4 * n4,
            prolif_n4: (1.0 - fthy) * loss_n4,
            loss_n4,
            prolif_m4,
            theta8: fthy * loss_n8 * n8,
            prolif_n8: (1.0 - fthy) * loss_n8,
            loss_n8,
            prolif_m8,
            source_b: loss_bn * bn,
            loss_bn,
            prolif_bm,
            source_nk: p.death_nk * p.nk_0,
            niche4: m4 + p.memory_niche_share * n4,
            niche8: m8 + p.memory_niche_share * n8,
            inv_baseline_n4: 1.0 / n4,
            inv_baseline_n8: 1.0 / n8,
            kel_a: p.alem_clearance_l_per_day / p.alem_volume_l,
            k10: p.clad_clearance_l_per_day() / p.clad_v1_l,
            k12: p.clad_q_l_per_day / p.clad_v1_l,
            k21: p.clad_q_l_per_day / p.clad_v2_l,
            cp_per_mg: 1000.0 / p.clad_v1_l,
            floor,
        };
        let [setpoint4, setpoint8] = [p.setpoint_shift, p.setpoint_shift * p.setpoint_ratio_cd8];
        let coeffs = CellCoeffs {
            alem_kill_max: p.alem_kill_max,
            alem_ec50: p.alem_ec50,
            alem_susceptibility_t: p.alem_susceptibility_t,
            alem_susceptibility_b: p.alem_susceptibility_b,
            alem_susceptibility_nk: p.alem_susceptibility_nk,
            clad_d50: p.clad_d50,
            clad_prolif_inhibition: p.clad_prolif_inhibition,
            kappa_naive: p.kappa_naive,
            hill_naive: p.hill_naive,
            kappa_memory: p.kappa_memory,
            hill_memory: p.hill_memory,
            memory_niche_share: p.memory_niche_share,
            setpoint4,
            setpoint8,
            activation_cd4: p.activation_cd4,
            death_memory_cd4: p.death_memory_cd4,
            activation_cd8: p.activation_cd8,
            death_memory_cd8: p.death_memory_cd8,
            activation_b: p.activation_b,
            death_memory_b: p.death_memory_b,
            clad_kill_n4: p.clad_kill_n4,
            clad_kill_m4: p.clad_kill_m4,
            clad_kill_n8: p.clad_kill_n8,
            clad_kill_m8: p.clad_kill_m8,
            clad_kill_pb: p.clad_kill_pb,
            clad_kill_bn: p.clad_kill_bn,
            clad_kill_bm: p.clad_kill_bm,
            clad_kill_nk: p.clad_kill_nk,
            precursor_recovery: p.precursor_recovery,
            feedback_gain: p.feedback_gain,
            nk_marrow_coupling: p.nk_marrow_coupling,
            death_nk: p.death_nk,
            feedback_max: p.feedback_max,
            feedback_exponent: p.feedback_exponent,
            feedback_rate: p.feedback_rate,
            setpoint_rate: p.setpoint_rate,
            theta4: k.theta4,
            prolif_n4: k.prolif_n4,
            inv_baseline_n4: k.inv_baseline_n4,
            loss_n4: k.loss_n4,
            prolif_m4: k.prolif_m4,
            niche4: k.niche4,
            theta8: k.theta8,
            prolif_n8: k.prolif_n8,
            inv_baseline_n8: k.inv_baseline_n8,
            loss_n8: k.loss_n8,
            prolif_m8: k.prolif_m8,
            niche8: k.niche8,
            source_b: k.source_b,
            loss_bn: k.loss_bn,
            prolif_bm: k.prolif_bm,
            source_nk: k.source_nk,
            l0: k.l0,
            floor: k.floor,
        };
        let structure = Structure {
            inhibited: p.clad_prolif_inhibition != 0.0,
            naive_hill_one: p.hill_naive == 1.0,
            memory_hill_one: p.hill_memory == 1.0,
            nk_coupled: p.nk_marrow_coupling != 0.0,
            sqrt_feedback: p.feedback_exponent == 0.5,
            setpoint_moves: [setpoint4, setpoint8] != [1.0, 1.0],
        };
        Ok(Model {
            params,
            k,
            coeffs,
            structure,
        })
    }

    /// The typical patient of reference model v1.
    pub fn reference_v1() -> Self {
        Model::new(ModelParams::reference_v1()).expect("reference parameters are valid")
    }

    /// The parameters this model was built from.
    pub fn params(&self) -> &ModelParams {
        &self.params
    }

    /// Baseline (pre-treatment steady state) of the cell states.
    pub fn baseline_cells(&self) -> CellState {
        self.k.baseline
    }

    /// The untreated full state: drugs at zero, cells at baseline.
    pub fn initial_state(&self) -> FullState {
        state::join(&[0.0; drug::COUNT], &self.k.baseline)
    }

    /// The fastest first-order turnover rate of the cell states at baseline (/day): the largest of the naive
    /// and memory loss rates, marrow recovery, B and NK turnover, and the feedback relaxation. Explicit
    /// integrators keep `h · rate` inside their stability region so that rounding noise in quiet stretches
    /// is damped instead of amplified (see [`crate::simulate`]).
    pub fn fastest_cell_turnover_per_day(&self) -> f64 {
        let p = &self.params;
        [
            self.k.loss_n4,
            self.k.loss_n8,
            p.death_memory_cd4,
            p.death_memory_cd8,
            p.precursor_recovery,
            self.k.loss_bn,
            p.death_memory_b,
            p.death_nk,
            p.feedback_rate,
            // Model v3: the set point's fastest movement, at the largest lymphopenia signal.
            if !self.setpoint_moves() {
                0.0
            } else {
                p.setpoint_rate * (p.feedback_max.powf(p.feedback_exponent) - 1.0)
            },
        ]
        .into_iter()
        .fold(0.0, f64::max)
    }

    /// Drug exposure implied by the drug states.
    #[inline]
    pub fn exposure(&self, d: &DrugState) -> Exposure {
        Exposure {
            alemtuzumab_ug_per_ml: d[drug::AA] / self.params.alem_volume_l,
            cladribine_damage: d[drug::D],
            impairment: d[drug::R],
        }
    }

    /// Right-hand side of the linear drug subsystem (mg/day, and per day for `Z`, `D`), with an
    /// alemtuzumab infusion running at `infusion_mg_per_day`.
    #[inline]
    pub fn drug_rhs(&self, d: &DrugState, infusion_mg_per_day: f64, dd: &mut DrugState) {
        let p = &self.params;
        let k = &self.k;
        dd[drug::AA] = infusion_mg_per_day - k.kel_a * d[drug::AA];
        dd[drug::G] = -p.clad_ka_per_day * d[drug::G];
        dd[drug::C1] = p.clad_ka_per_day * d[drug::G] - (k.k10 + k.k12) * d[drug::C1] + k.k21 * d[drug::C2];
        dd[drug::C2] = k.k12 * d[drug::C1] - k.k21 * d[drug::C2];
        dd[drug::Z] = k.cp_per_mg * d[drug::C1] - p.clad_kz_per_day * d[drug::Z];
        dd[drug::D] = p.clad_kd_per_day * (d[drug::Z] / p.clad_zref - d[drug::D]);
        // Model v2's impairment signal; in v1 it is identically zero.
        dd[drug::R] = if p.clad_prolif_inhibition == 0.0 {
            0.0
        } else {
            p.clad_kr_per_day * (d[drug::D] - d[drug::R])
        };
    }

    /// The drug hazards under exposure `e`: what the right-hand side and its Jacobian share.
    #[inline]
    pub(crate) fn hazards(&self, e: Exposure) -> Hazards {
        let [alem_t, alem_b, alem_nk, clad] = rhs::hazards(&self.coeffs, e.alemtuzumab_ug_per_ml, e.cladribine_damage);
        Hazards {
            alem_t,
            alem_b,
            alem_nk,
            clad,
        }
    }

    /// What the cell right-hand side reads ([`CellCoeffs`]), and which of its terms this model has: what a SIMD
    /// batch gathers lane by lane.
    pub fn cell_coeffs(&self) -> (&CellCoeffs<f64>, Structure) {
        (&self.coeffs, self.structure)
    }

    /// Right-hand side of the cell and feedback states (cells/µL/day; per day for `PB`, `F`) under the
    /// drug exposure `e`.
    #[inline]
    pub fn cell_rhs(&self, c: &CellState, e: Exposure, dc: &mut CellState) {
        rhs::cell_rhs(
            &self.coeffs,
            self.structure,
            c,
            e.alemtuzumab_ug_per_ml,
            e.cladribine_damage,
            e.impairment,
            dc,
        );
    }

    /// Model v3: the memory set points of CD4 and CD8 reached at progress `s_state`: `1 + (s − 1)·S` and
    /// `1 + (s·r8 − 1)·S` (exactly 1 in v1/v2).
    #[inline]
    pub(crate) fn setpoint_targets(&self, s_state: f64) -> [f64; 2] {
        self.setpoint_shifts().map(|s| rhs::setpoint_target(s, s_state))
    }

    /// Model v3: the post-depletion set points of CD4 and CD8 memory relative to baseline, `s` and `s·r8`.
    #[inline]
    pub(crate) fn setpoint_shifts(&self) -> [f64; 2] {
        let p = &self.params;
        [p.setpoint_shift, p.setpoint_shift * p.setpoint_ratio_cd8]
    }

    /// Whether a set point can move at all (model v3 with `s ≠ 1` or `s·r8 ≠ 1`); if not, `S` stays 0.
    #[inline]
    pub(crate) fn setpoint_moves(&self) -> bool {
        self.setpoint_shifts() != [1.0, 1.0]
    }

    /// Right-hand side of the full 17-state model.
    #[inline]
    pub fn full_rhs(&self, y: &FullState, infusion_mg_per_day: f64, dy: &mut FullState) {
        let (d, c) = state::split(y);
        let mut dd = [0.0; drug::COUNT];
        let mut dc = [0.0; cell::COUNT];
        self.drug_rhs(&d, infusion_mg_per_day, &mut dd);
        self.cell_rhs(&c, self.exposure(&d), &mut dc);
        *dy = state::join(&dd, &dc);
    }

    /// The five counts of a cell state in [`Count::ALL`] order (ALC, CD4, CD8, CD19, NK; cells/µL). The map
    /// is linear, so applied to the cells' time derivatives it gives the counts' (cells/µL/day).
    #[inline]
    pub fn counts_of_cells(&self, c: &CellState) -> [f64; 5] {
        let cd4 = c[cell::N4] + c[cell::M4];
        let cd8 = c[cell::N8] + c[cell::M8];
        let cd19 = c[cell::BN] + c[cell::BM];
        let nk = c[cell::NK];
        [(cd4 + cd8 + cd19 + nk) * self.k.alc_scale, cd4, cd8, cd19, nk]
    }

    /// Observations of a full state.
    pub fn observe(&self, y: &FullState) -> Observables {
        let (d, c) = state::split(y);
        let cd4 = c[cell::N4] + c[cell::M4];
        let cd8 = c[cell::N8] + c[cell::M8];
        let cd19 = c[cell::BN] + c[cell::BM];
        let nk = c[cell::NK];
        Observables {
            alc: (cd4 + cd8 + cd19 + nk) * self.k.alc_scale,
            cd4,
            cd8,
            cd19,
            nk,
            cd4_memory: c[cell::M4],
            cd19_memory: c[cell::BM],
            alemtuzumab_ug_per_ml: d[drug::AA] / self.params.alem_volume_l,
            cladribine_ng_per_ml: d[drug::C1] * self.k.cp_per_mg,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn baseline_is_a_steady_state() {
        let m = Model::reference_v1();
        let mut dy = [0.0; state::FULL];
        m.full_rhs(&m.initial_state(), 0.0, &mut dy);
        for (i, (v, name)) in dy.iter().zip(state::full_names()).enumerate() {
            assert!(v.abs() < 1e-12, "d{name}/dt = {v} at baseline (index {i})");
        }
    }

    #[test]
    fn baseline_observations_match_parameters() {
        let m = Model::reference_v1();
        let o = m.observe(&m.initial_state());
        assert!((o.cd4 - 851.0).abs() < 1e-9);
        assert!((o.cd8 - 378.0).abs() < 1e-9);
        assert!((o.cd19 - 205.0).abs() < 1e-9);
        assert!((o.alc - 1860.0).abs() < 1e-9);
    }

    #[test]
    fn closure_rejects_negative_memory_proliferation() {
        let mut p = ModelParams::reference_v1();
        p.activation_cd4 = 0.1;
        let e = Model::new(p).unwrap_err().to_string();
        assert!(e.contains("activation_cd4"), "{e}");
    }
}
