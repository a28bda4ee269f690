//! Published targets and the model's comparison with them.
//!
//! [`targets`] reads a table of published figures (the shape of `calibration-targets.csv`: regimen,
//! population, subset, statistic, day, value, tolerance, source); [`typical`] evaluates every target that a
//! single typical patient can speak to and says whether the model is within tolerance. Cohort statistics
//! (fractions of patients, grade distributions) need a simulated cohort and are reported as such.

pub mod cohort;
pub mod fit;
pub mod posterior;
pub mod screening;
pub mod targets;
pub mod typical;
pub mod uncertainty;

/// The shared calibration targets, embedded so the binary needs no data files.
pub const EMBEDDED_TARGETS: &str = include_str!("../../data/calibration-targets.csv");

/// The validation table (`data/validation-targets.csv`): published figures the fit never sees — other cohorts,
/// other statistics, long-term follow-up. `lymphosim validate` reports it; no row ever moves to the calibration
/// table to make it pass.
pub const EMBEDDED_VALIDATION: &str = include_str!("../../data/validation-targets.csv");
