//! Named positions in the state vectors, so that no other module writes `y[7]`.
//!
//! The full model has 17 states: 7 drug states followed by 10 cell states. With exact drug propagation only
//! the 10 cell states are integrated; the drug states are evaluated in closed form.

/// Drug states (amounts and effect signals), in order.
pub mod drug {
    /// Alemtuzumab amount in the central compartment (mg).
    pub const AA: usize = 0;
    /// Cladribine amount in the gut (mg).
    pub const G: usize = 1;
    /// Cladribine amount in the central compartment (mg).
    pub const C1: usize = 2;
    /// Cladribine amount in the peripheral compartment (mg).
    pub const C2: usize = 3;
    /// Intracellular nucleotide exposure signal (ng·day/mL).
    pub const Z: usize = 4;
    /// Delayed apoptotic damage (dimensionless).
    pub const D: usize = 5;
    /// Model v2: slow impairment of T-cell proliferation, a low-pass of the damage (dimensionless; unused in v1).
    pub const R: usize = 6;
    /// Number of drug states.
    pub const COUNT: usize = 7;
    /// Short names, in order.
    pub const NAMES: [&str; COUNT] = ["AA", "G", "C1", "C2", "Z", "D", "R"];
}

/// Cell and feedback states, in order.
pub mod cell {
    /// Naive CD4+ T cells (cells/µL).
    pub const N4: usize = 0;
    /// Memory CD4+ T cells (cells/µL).
    pub const M4: usize = 1;
    /// Naive CD8+ T cells (cells/µL).
    pub const N8: usize = 2;
    /// Memory CD8+ T cells (cells/µL).
    pub const M8: usize = 3;
    /// Bone-marrow B precursor capacity (relative, 1 at baseline).
    pub const PB: usize = 4;
    /// Naive/transitional B cells (cells/µL).
    pub const BN: usize = 5;
    /// Memory B cells (cells/µL).
    pub const BM: usize = 6;
    /// NK cells (cells/µL).
    pub const NK: usize = 7;
    /// Shared lymphopenia feedback signal (relative, 1 at baseline).
    pub const F: usize = 8;
    /// Model v3: how far the memory T-cell set point has moved to its post-depletion value (0 before any
    /// lymphopenia, → 1 after a deep one; dimensionless; stays 0 in v1 and v2).
    pub const S: usize = 9;
    /// Number of cell states.
    pub const COUNT: usize = 10;
    /// Short names, in order.
    pub const NAMES: [&str; COUNT] = ["N4", "M4", "N8", "M8", "PB", "BN", "BM", "NK", "F", "S"];
}

/// Number of states of the full model.
pub const FULL: usize = drug::COUNT + cell::COUNT;

/// The 17-state vector of the full model: drug states first, then cell states.
pub type FullState = [f64; FULL];
/// The 7 drug states.
pub type DrugState = [f64; drug::COUNT];
/// The 10 cell states.
pub type CellState = [f64; cell::COUNT];

/// Splits a full state into its drug and cell parts.
#[inline]
pub fn split(y: &FullState) -> (DrugState, CellState) {
    (
        std::array::from_fn(|i| y[i]),
        std::array::from_fn(|i| y[drug::COUNT + i]),
    )
}

/// Joins drug and cell parts into a full state.
#[inline]
pub fn join(d: &DrugState, c: &CellState) -> FullState {
    // Element by element, so the compiler emits register moves rather than two calls to `memcpy` (which cost 6 %
    // of a cohort patient when this ran once per observed day).
    std::array::from_fn(|i| if i < drug::COUNT { d[i] } else { c[i - drug::COUNT] })
}

/// Names of all 17 states in full-state order.
pub fn full_names() -> impl Iterator<Item = &'static str> {
    drug::NAMES.iter().chain(cell::NAMES.iter()).copied()
}
