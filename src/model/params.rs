//! Parameters of reference model v1, with units, defaults and sources.
//!
//! Every parameter is declared once in the table below: field name, the symbol used in the model
//! guide (`docs/model.md`), its constraint, its default for a typical 35-year-old, 70 kg patient with a
//! creatinine clearance of 100 mL/min, and its evidence flag:
//! **\[lit\]** a published figure, **\[label\]** a product label, **\[fit\]** a first guess chosen to reproduce
//! published kinetics (to be calibrated). Time-based rates are stored per day even where the source gives
//! them per hour; the conversions happen here, through [`crate::units`], and nowhere else.

use crate::units::{half_life_hours_to_rate_per_day, per_hour_to_per_day};

/// A parameter outside its valid range, named by field and model symbol.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ParamError {
    /// One parameter violates its own constraint.
    #[error("parameter {name} ({symbol}): must be {requirement}, got {value}")]
    OutOfRange {
        /// Field name, as used in scenario files.
        name: &'static str,
        /// Symbol in the model equations.
        symbol: &'static str,
        /// The offending value.
        value: f64,
        /// The constraint, in words.
        requirement: &'static str,
    },
    /// A combination of parameters makes the steady-state closure impossible.
    #[error("parameters {names}: {reason} (got {value})")]
    Inconsistent {
        /// The parameters involved.
        names: &'static str,
        /// Why they cannot be combined.
        reason: &'static str,
        /// The derived quantity that came out wrong.
        value: f64,
    },
    /// A parameter name that the model does not have.
    #[error("unknown model parameter `{name}` (the names are listed by `ModelParams::names()`)")]
    Unknown {
        /// The name as given.
        name: String,
    },
}

/// Largest blood count a parameter accepts (cells/µL); the highest normal ALC is about 4 000.
pub const MAX_CELLS_PER_UL: f64 = 20_000.0;

/// The constraint a parameter must satisfy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Constraint {
    /// Finite and > 0.
    Positive,
    /// A blood count in cells/µL: > 0 and at most 20 000 (a count 10⁶ times too large was given in cells/L).
    CellCount,
    /// Finite and ≥ 0.
    NonNegative,
    /// In [0, 1].
    Fraction,
    /// In (0, 1), both ends excluded.
    OpenFraction,
    /// In [0, 1), 1 excluded.
    FloorFraction,
    /// Finite and ≥ 1.
    AtLeastOne,
    /// Any finite number.
    Finite,
}

impl Constraint {
    /// Whether `v` satisfies the constraint (NaN and infinities never do).
    pub fn admits(self, v: f64) -> bool {
        v.is_finite()
            && match self {
                Constraint::Positive => v > 0.0,
                Constraint::CellCount => v > 0.0 && v <= MAX_CELLS_PER_UL,
                Constraint::NonNegative => v >= 0.0,
                Constraint::Fraction => (0.0..=1.0).contains(&v),
                Constraint::OpenFraction => v > 0.0 && v < 1.0,
                Constraint::FloorFraction => (0.0..1.0).contains(&v),
                Constraint::AtLeastOne => v >= 1.0,
                Constraint::Finite => true,
            }
    }

    /// The smallest value a search on the log scale may try: 1 for a quantity that must be at least 1, else 0
    /// (a log-scale search never reaches 0 itself).
    pub fn search_floor(self) -> f64 {
        match self {
            Constraint::AtLeastOne => 1.0,
            _ => 0.0,
        }
    }

    /// The largest value a search may try (`f64::INFINITY` when unbounded above): 1 for a fraction that admits
    /// 1, 0.99 for one that excludes it.
    pub fn search_ceiling(self) -> f64 {
        match self {
            Constraint::Fraction => 1.0,
            Constraint::OpenFraction | Constraint::FloorFraction => 0.99,
            Constraint::CellCount => MAX_CELLS_PER_UL,
            _ => f64::INFINITY,
        }
    }

    /// The constraint in words, for error messages.
    pub fn describe(self) -> &'static str {
        match self {
            Constraint::Positive => "a finite number > 0",
            Constraint::CellCount => "a count in cells/uL, > 0 and <= 20000 (cells/L are 10^6 times larger)",
            Constraint::NonNegative => "a finite number >= 0",
            Constraint::Fraction => "a fraction in [0, 1]",
            Constraint::OpenFraction => "a fraction strictly between 0 and 1",
            Constraint::FloorFraction => "a fraction in [0, 1)",
            Constraint::AtLeastOne => "a finite number >= 1",
            Constraint::Finite => "a finite number",
        }
    }
}

/// Static description of one parameter.
#[derive(Debug, Clone, Copy)]
pub struct ParamSpec {
    /// Field name (also the name in scenario files and sweeps).
    pub name: &'static str,
    /// Symbol in the model equations.
    pub symbol: &'static str,
    /// Unit in words.
    pub unit: &'static str,
    /// Evidence flag and short source.
    pub basis: &'static str,
    /// Valid range.
    pub constraint: Constraint,
}

macro_rules! model_params {
    ($(
        $(#[$doc:meta])*
        $field:ident : $symbol:literal, $unit:literal, $basis:literal, $constraint:ident = $default:expr;
    )*) => {
        /// Every parameter of one patient under reference model v1.
        ///
        /// Build one with [`ModelParams::reference_v1`] (the typical patient) and change fields, then
        /// hand it to [`crate::model::Model::new`], which validates it. Units are in each field's doc; all
        /// rates are per day.
        #[derive(Debug, Clone, PartialEq)]
        pub struct ModelParams {
            $( $(#[$doc])* pub $field: f64, )*
        }

        impl ModelParams {
            /// Specification (name, symbol, unit, source, constraint) of every parameter, in declaration order.
            pub const SPECS: &'static [ParamSpec] = &[
                $( ParamSpec {
                    name: stringify!($field),
                    symbol: $symbol,
                    unit: $unit,
                    basis: $basis,
                    constraint: Constraint::$constraint,
                }, )*
            ];

            /// The typical patient of reference model v1 (35 years, 70 kg, CrCL 100 mL/min).
            pub fn reference_v1() -> Self {
                ModelParams { $( $field: $default, )* }
            }

            /// Value of the parameter called `name`.
            pub fn get(&self, name: &str) -> Result<f64, ParamError> {
                match name {
                    $( stringify!($field) => Ok(self.$field), )*
                    _ => Err(ParamError::Unknown { name: name.to_string() }),
                }
            }

            /// Sets the parameter called `name` (not validated until [`ModelParams::validate`]).
            pub fn set(&mut self, name: &str, value: f64) -> Result<(), ParamError> {
                match name {
                    $( stringify!($field) => { self.$field = value; Ok(()) } )*
                    _ => Err(ParamError::Unknown { name: name.to_string() }),
                }
            }

            fn values(&self) -> [f64; ModelParams::SPECS.len()] {
                [ $( self.$field, )* ]
            }

            fn slots_mut(&mut self) -> [&mut f64; ModelParams::SPECS.len()] {
                [ $( &mut self.$field, )* ]
            }
        }
    };
}

/// A model parameter resolved from its name once ([`ModelParams::id`]): reading or scaling it by id cannot
/// fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ParamId(usize);

impl ParamId {
    /// The parameter's name.
    pub fn name(self) -> &'static str {
        ModelParams::SPECS[self.0].name
    }
}

impl std::fmt::Display for ParamId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

model_params! {
    // ---------------------------------------------------------------- baselines
    /// Baseline CD4+ T cells (cells/µL). CLARITY baseline median [lit: Soelberg Sørensen 2017].
    cd4_0: "CD40", "cells/uL", "[lit] CLARITY baseline median", CellCount = 851.0;
    /// Baseline CD8+ T cells (cells/µL). CLARITY baseline median \[lit\].
    cd8_0: "CD80", "cells/uL", "[lit] CLARITY baseline median", CellCount = 378.0;
    /// Baseline CD19+ B cells (cells/µL). CLARITY baseline median \[lit\].
    cd19_0: "B0", "cells/uL", "[lit] CLARITY baseline median", CellCount = 205.0;
    /// Baseline NK cells (cells/µL). MS cohort mean \[lit\].
    nk_0: "NK0", "cells/uL", "[lit] MS cohort mean", CellCount = 180.0;
    /// Baseline absolute lymphocyte count (cells/µL). CLARITY baseline median \[lit\]. ALC is the modelled
    /// subsets scaled by `alc_0 / (cd4_0 + cd8_0 + cd19_0 + nk_0)`.
    alc_0: "ALC0", "cells/uL", "[lit] CLARITY baseline median", CellCount = 1860.0;
    /// Naive fraction of CD4 at baseline. \[fit\] typical adult phenotype.
    naive_fraction_cd4: "fN4", "1", "[fit] typical adult phenotype", OpenFraction = 0.45;
    /// Naive fraction of CD8 at baseline. \[fit\].
    naive_fraction_cd8: "fN8", "1", "[fit] typical adult phenotype", OpenFraction = 0.35;
    /// Naive (transitional) fraction of B cells at baseline. \[fit\].
    naive_fraction_b: "fBN", "1", "[fit] typical adult phenotype", OpenFraction = 0.70;

    // ---------------------------------------------------------------- T cells
    /// Naive CD4 death rate (/day): half-life 4.2 years [lit: Vrisekoop 2008, den Braber 2012].
    death_naive_cd4: "dN4", "1/day", "[lit] deuterium labelling, t1/2 4.2 y", Positive = 0.00045;
    /// Naive CD8 death rate (/day): half-life 6.5 years \[lit\].
    death_naive_cd8: "dN8", "1/day", "[lit] deuterium labelling, t1/2 6.5 y", Positive = 0.0003;
    /// Fraction of naive T-cell production from the thymus at age 35 (the rest is peripheral division).
    /// [lit qualitative: den Braber 2012; value fit].
    thymic_fraction: "fthy", "1", "[lit qualitative] den Braber 2012; value fit", Fraction = 0.15;
    /// Patient age (years); thymic output scales as `exp(-lambda (age - 35))`.
    age_years: "age", "year", "covariate", Positive = 35.0;
    /// Decline of thymic output with age (/year). \[fit\].
    thymic_decline_per_year: "lambda", "1/year", "[fit]", NonNegative = 0.03;
    /// Naive → memory conversion of CD4 (/day). \[fit\].
    activation_cd4: "a4", "1/day", "[fit]", NonNegative = 1e-4;
    /// Naive → memory conversion of CD8 (/day). \[fit\].
    activation_cd8: "a8", "1/day", "[fit]", NonNegative = 1e-4;
    /// Memory CD4 death rate (/day): half-life 0.4–0.7 years [lit: Macallan/De Boer].
    death_memory_cd4: "dM4", "1/day", "[lit] memory t1/2 0.4-0.7 y", Positive = 0.005;
    /// Memory CD8 death rate (/day) \[lit\].
    death_memory_cd8: "dM8", "1/day", "[lit] memory t1/2 0.4-0.7 y", Positive = 0.005;
    /// Maximal extra memory proliferation when the memory pool is empty (H → 1 + κ). \[fit\].
    kappa_memory: "kappaM", "1", "[fit] lymphopenia-induced proliferation", NonNegative = 4.0;
    /// Hill exponent of memory homeostasis. \[fit\].
    hill_memory: "hM", "1", "[fit]", Positive = 1.0;
    /// Maximal extra naive proliferation when the naive pool is empty. \[fit\].
    kappa_naive: "kappaN", "1", "[fit]", NonNegative = 1.0;
    /// Hill exponent of naive homeostasis. \[fit\].
    hill_naive: "hN", "1", "[fit]", Positive = 1.0;

    // ---------------------------------------------------------------- B cells, NK, feedback
    /// Naive/transitional B death rate (/day): turnover ≈ 1.9 %/day [lit: Macallan 2005].
    death_naive_b: "dBN", "1/day", "[lit] Macallan 2005", Positive = 0.02;
    /// Memory B death rate (/day) [lit: Macallan 2005].
    death_memory_b: "dBM", "1/day", "[lit] Macallan 2005", Positive = 0.02;
    /// Naive → memory B conversion (/day). \[fit\].
    activation_b: "aB", "1/day", "[fit]", NonNegative = 0.001;
    /// Recovery rate of the bone-marrow precursor capacity (/day). \[fit\].
    precursor_recovery: "kP", "1/day", "[fit]", Positive = 0.012;
    /// Gain of the lymphopenia feedback (BAFF/IL-7-like) on B-cell output. \[fit\].
    feedback_gain: "kappaF", "1", "[fit]", NonNegative = 1.0;
    /// Exponent of the feedback signal in the lymphopenia ratio. \[fit\].
    feedback_exponent: "gamma", "1", "[fit]", Positive = 0.5;
    /// Relaxation rate of the feedback signal (/day): 1/90. \[fit\].
    feedback_rate: "kF", "1/day", "[fit]", Positive = 1.0 / 90.0;
    /// Cap on the lymphopenia ratio L0/L. \[fit\].
    feedback_max: "Fmax", "1", "[fit]", AtLeastOne = 4.0;
    /// NK death rate (/day): turnover ≈ 2 %/day [lit: De Boer 2003].
    death_nk: "dNK", "1/day", "[lit] De Boer 2003", Positive = 0.03;

    // ---------------------------------------------------------------- alemtuzumab
    /// Alemtuzumab central volume (L) [label: LEMTRADA, 14.1 L].
    alem_volume_l: "VA", "L", "[label] LEMTRADA central volume", Positive = 14.1;
    /// Alemtuzumab linear clearance (L/day); reproduces the label Cmax of both courses [label/fit].
    alem_clearance_l_per_day: "CLA", "L/day", "[label/fit] label Cmax of courses 1 and 2", Positive = 2.17;
    /// Alemtuzumab concentration at half-maximal lysis (µg/mL); in-vivo lytic threshold 0.1–0.16 [lit: Marsh 2016].
    alem_ec50: "EC50A", "ug/mL", "[lit] lytic threshold 0.1-0.16 ug/mL", Positive = 0.15;
    /// Maximal alemtuzumab kill rate of fully susceptible cells (/day). \[fit\].
    alem_kill_max: "kA", "1/day", "[fit]", NonNegative = 6.0;
    /// Relative alemtuzumab susceptibility of T cells \[lit ordering: Rao 2012; value fit\].
    alem_susceptibility_t: "sT", "1", "[lit ordering] Rao 2012; value fit", NonNegative = 1.0;
    /// Relative alemtuzumab susceptibility of B cells \[lit ordering; value fit\].
    alem_susceptibility_b: "sB_A", "1", "[lit ordering] Rao 2012; value fit", NonNegative = 1.0;
    /// Relative alemtuzumab susceptibility of NK cells \[lit ordering; value fit\].
    alem_susceptibility_nk: "sNK_A", "1", "[lit ordering] Rao 2012; value fit", NonNegative = 0.3;
    /// Protected floor of naive T cells, as a fraction of baseline. \[fit\].
    floor_naive_t: "phiN", "1", "[fit] CARE-MS month 1", FloorFraction = 0.0;
    /// Protected floor of memory CD4, fraction of baseline. [fit: CARE-MS month-1 means].
    floor_memory_cd4: "phiM4", "1", "[fit] CARE-MS month 1", FloorFraction = 0.08;
    /// Protected floor of memory CD8, fraction of baseline. \[fit\].
    floor_memory_cd8: "phiM8", "1", "[fit] CARE-MS month 1", FloorFraction = 0.23;
    /// Protected floor of B cells (naive and memory), fraction of baseline. \[fit\].
    floor_b: "phiB", "1", "[fit] CARE-MS month 1", FloorFraction = 0.02;
    /// Protected floor of NK cells, fraction of baseline. \[fit\].
    floor_nk: "phiNK", "1", "[fit] CARE-MS month 1", FloorFraction = 0.35;

    // ---------------------------------------------------------------- cladribine PK
    /// Oral bioavailability of cladribine tablets [lit: Hermann 2019, ≈ 40 %].
    clad_bioavailability: "F", "1", "[lit] Hermann 2019", Fraction = 0.40;
    /// Absorption rate (/day): 3 /h, tmax ≈ 0.5 h [lit: Hermann 2019].
    clad_ka_per_day: "ka", "1/day", "[lit] Hermann 2019, 3/h", Positive = per_hour_to_per_day(3.0);
    /// Renal clearance at CrCL 100 mL/min (L/day): 22.2 L/h \[lit/label\].
    clad_renal_cl_l_per_day: "CLR", "L/day", "[lit/label] 22.2 L/h", NonNegative = per_hour_to_per_day(22.2);
    /// Non-renal clearance (L/day): 23.4 L/h \[lit/label\].
    clad_nonrenal_cl_l_per_day: "CLNR", "L/day", "[lit/label] 23.4 L/h", NonNegative = per_hour_to_per_day(23.4);
    /// Creatinine clearance (mL/min); renal clearance scales with CrCL / 100 mL/min.
    creatinine_clearance_ml_min: "CrCL", "mL/min", "covariate", NonNegative = 100.0;
    /// Central volume (L) \[lit/label split fit; Vss ≈ 490 L\].
    clad_v1_l: "V1", "L", "[lit/label, split fit] Vss 485-490 L", Positive = 90.0;
    /// Peripheral volume (L) \[lit/label split fit\].
    clad_v2_l: "V2", "L", "[lit/label, split fit]", Positive = 400.0;
    /// Inter-compartmental clearance (L/day): 15 L/h [fit to terminal t1/2 ≈ 24 h].
    clad_q_l_per_day: "Q", "L/day", "[lit/label, split fit] 15 L/h", Positive = per_hour_to_per_day(15.0);
    /// Decay of the intracellular nucleotide signal (/day): Cd-ATP half-life 10 h \[lit\].
    clad_kz_per_day: "kZ", "1/day", "[lit] Cd-ATP intracellular t1/2 10 h", Positive = half_life_hours_to_rate_per_day(10.0);
    /// Exposure that gives unit apoptotic damage (ng·day/mL). [fit: nadir timing].
    clad_zref: "Zref", "ng*day/mL", "[fit] nadir timing", Positive = 4.0;
    /// Rate at which damage follows exposure (/day). [fit: nadirs in weeks 5–16].
    clad_kd_per_day: "kD", "1/day", "[fit] nadir timing", Positive = 0.05;
    /// Damage giving half-maximal cladribine kill. \[fit\].
    clad_d50: "D50", "1", "[fit]", Positive = 1.0;
    /// Model v2 only: how strongly the impairment signal `R` suppresses lymphopenia-induced T-cell
    /// proliferation (the extra proliferation is multiplied by `1 / (1 + IpC · R)`). 0 in v1. \[v2, fit\].
    clad_prolif_inhibition: "IpC", "1", "[v2, fit] 0 in v1", NonNegative = 0.0;
    /// Model v2: rate at which the impairment signal `R` follows the damage `D` and recovers (/day). \[v2, fit\].
    clad_kr_per_day: "kR", "1/day", "[v2, fit] unused in v1", Positive = 0.01;

    // ---------------------------------------------------------------- cladribine kill rates
    /// Maximal cladribine kill rate of naive CD4 (/day) \[lit ordering dCK/5'-NT; value fit\].
    clad_kill_n4: "kmaxC_N4", "1/day", "[lit ordering] B >> T > NK; value fit", NonNegative = 0.25;
    /// Maximal cladribine kill rate of memory CD4 (/day).
    clad_kill_m4: "kmaxC_M4", "1/day", "[lit ordering] B >> T > NK; value fit", NonNegative = 0.06;
    /// Maximal cladribine kill rate of naive CD8 (/day).
    clad_kill_n8: "kmaxC_N8", "1/day", "[lit ordering] B >> T > NK; value fit", NonNegative = 0.12;
    /// Maximal cladribine kill rate of memory CD8 (/day).
    clad_kill_m8: "kmaxC_M8", "1/day", "[lit ordering] B >> T > NK; value fit", NonNegative = 0.04;
    /// Maximal cladribine kill rate of naive B (/day).
    clad_kill_bn: "kmaxC_BN", "1/day", "[lit ordering] B >> T > NK; value fit", NonNegative = 0.6;
    /// Maximal cladribine kill rate of memory B (/day).
    clad_kill_bm: "kmaxC_BM", "1/day", "[lit ordering] B >> T > NK; value fit", NonNegative = 0.85;
    /// Maximal cladribine kill rate of NK cells (/day).
    clad_kill_nk: "kmaxC_NK", "1/day", "[lit ordering] B >> T > NK; value fit", NonNegative = 0.08;
    /// Maximal cladribine kill rate of the marrow B precursor capacity (/day).
    clad_kill_pb: "kmaxC_PB", "1/day", "[lit ordering] B >> T > NK; value fit", NonNegative = 0.5;

    // ---------------------------------------------------------------- model v3: T-cell homeostasis
    /// Model v3: how much of the naive pool counts in the memory T cells' homeostatic niche, `ψ`. The memory
    /// proliferation signal reads `(M + ψ·N) / (M0 + ψ·N0)`: 0 is v1/v2 (memory senses only itself); 1 is one
    /// niche shared with naive cells (IL-7 is consumed by both), so memory expands into the room naive cells
    /// leave. [v3, lit qualitative: Mackall et al., Nat Rev Immunol 2011;11:330 (IL-7 and T-cell homeostasis);
    /// memory-dominated reconstitution after alemtuzumab, Cox et al., Eur J Immunol 2005;35:3332; value fit].
    memory_niche_share: "psi", "1", "[v3, lit qualitative; value fit] 0 in v1/v2", Fraction = 0.0;
    /// Model v3: the memory T cells' homeostatic set point after a lymphopenia, relative to the pre-treatment
    /// one, `s` (the typical patient's; it varies between patients, `variability.setpoint_cv`). 1 is v1/v2 (the
    /// pool returns to where it was). [v3, lit qualitative: long-term plateaus that differ between patients,
    /// above and below baseline, Hill-Cawthorne et al., J Neurol Neurosurg Psychiatry 2012;83:298; value fit].
    setpoint_shift: "s", "1", "[v3, lit qualitative; value fit] 1 in v1/v2", Positive = 1.0;
    /// Model v3: rate at which the set point moves per unit of lymphopenia signal above baseline, `kS`
    /// (dS/dt = kS · (F − 1)₊ · (1 − S)). [v3, assumption: a deep depletion (F ≈ 2) moves it within weeks;
    /// unused when `setpoint_shift` is 1].
    setpoint_rate: "kS", "1/day", "[v3, assumption] unused when s = 1", Positive = 0.05;
    /// Model v3: the CD8 memory set point after a lymphopenia relative to the CD4 one, `r8`: the CD8 pool's set
    /// point moves to `s·r8`. The typical patient's is 1 (both pools move alike); it varies between patients
    /// (`variability.setpoint_cd8_cv`), because CD8 counts vary more between people than CD4 counts, before
    /// treatment and a year after alemtuzumab (calibration rows A26–A29: between-patient CV about 0.44 for CD4
    /// and 0.64 for CD8 at month 12), in line with CD8 memory expansions that differ from person to person
    /// (for instance with CMV: Klenerman and Oxenius, Nat Rev Immunol 2016;16:367). [v3, data: A26–A29;
    /// lit qualitative; 1 keeps the pools together].
    setpoint_ratio_cd8: "r8", "1", "[v3, data A26-A29; spread fit] 1: CD8 moves as CD4", Positive = 1.0;
    /// Model v3: share of NK-cell production that comes from the marrow precursor capacity `PB` that cladribine
    /// depletes, `cNK` (NK source × (1 − cNK + cNK·PB)); 0 in v1/v2 (NK output constant). [v3, lit qualitative:
    /// NK and B cells share common lymphoid progenitors in the marrow, and NK counts stay low for months after
    /// cladribine (C30–C31: Stüve et al., Ther Adv Neurol Disord 2019;12:1756286419854986); value fit].
    nk_marrow_coupling: "cNK", "1", "[v3, lit qualitative; value fit] 0 in v1/v2", Fraction = 0.0;
}

impl Default for ModelParams {
    fn default() -> Self {
        Self::reference_v1()
    }
}

impl ModelParams {
    /// Resolves a parameter name to its id; an unknown name is an error.
    pub fn id(name: &str) -> Result<ParamId, ParamError> {
        Self::SPECS
            .iter()
            .position(|s| s.name == name)
            .map(ParamId)
            .ok_or_else(|| ParamError::Unknown { name: name.to_string() })
    }

    /// Value of a resolved parameter.
    pub fn value(&self, id: ParamId) -> f64 {
        self.values()[id.0]
    }

    /// Sets a resolved parameter (not validated until [`ModelParams::validate`]).
    pub fn set_value(&mut self, id: ParamId, value: f64) {
        *self.slots_mut()[id.0] = value;
    }

    /// Names of all parameters, in declaration order.
    pub fn names() -> impl Iterator<Item = &'static str> {
        Self::SPECS.iter().map(|s| s.name)
    }

    /// Checks every parameter against its constraint; the first violation is returned with its name and value.
    pub fn validate(&self) -> Result<(), ParamError> {
        for (spec, value) in Self::SPECS.iter().zip(self.values()) {
            if !spec.constraint.admits(value) {
                return Err(ParamError::OutOfRange {
                    name: spec.name,
                    symbol: spec.symbol,
                    value,
                    requirement: spec.constraint.describe(),
                });
            }
        }
        Ok(())
    }

    /// Total cladribine clearance (L/day): `CL = CLR · CrCL/100 + CLNR`.
    pub fn clad_clearance_l_per_day(&self) -> f64 {
        self.clad_renal_cl_l_per_day * self.creatinine_clearance_ml_min / 100.0 + self.clad_nonrenal_cl_l_per_day
    }

    /// Thymic fraction at this patient's age: `fthy · exp(−λ · (age − 35))`, capped at 1.
    pub fn thymic_fraction_at_age(&self) -> f64 {
        (self.thymic_fraction * (-self.thymic_decline_per_year * (self.age_years - 35.0)).exp()).min(1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_is_valid_and_names_are_unique() {
        ModelParams::reference_v1().validate().unwrap();
        let mut names: Vec<_> = ModelParams::names().collect();
        let n = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), n);
    }

    #[test]
    fn invalid_values_name_the_parameter() {
        let mut p = ModelParams::reference_v1();
        p.death_nk = -0.1;
        let e = p.validate().unwrap_err().to_string();
        assert!(e.contains("death_nk") && e.contains("dNK") && e.contains("-0.1"), "{e}");
        let mut p = ModelParams::reference_v1();
        p.set("naive_fraction_cd4", f64::NAN).unwrap();
        let e = p.validate().unwrap_err().to_string();
        assert!(e.contains("naive_fraction_cd4") && e.contains("NaN"), "{e}");
        assert!(p.set("no_such", 1.0).is_err());
    }

    #[test]
    fn get_set_round_trip() {
        let mut p = ModelParams::reference_v1();
        for name in ModelParams::names() {
            let v = p.get(name).unwrap();
            p.set(name, v * 2.0 + 1.0).unwrap();
            assert_eq!(p.get(name).unwrap(), v * 2.0 + 1.0);
        }
    }
}
