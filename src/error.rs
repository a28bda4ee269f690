//! The crate's error type.
//!
//! Every module has its own error enum that says *where* and *with what value* something went wrong; they
//! fold into [`Error`]. Nothing in the library panics on user input: a bad parameter, regimen, event table or
//! solver setting comes back as one of these values.

use std::path::PathBuf;

pub use crate::calibration::targets::TargetError;
pub use crate::model::ParamError;
pub use crate::pk::PkError;
pub use crate::population::paramset::ParamSetError;
pub use crate::population::PopulationError;
pub use crate::regimen::RegimenError;
pub use crate::scenario::ScenarioError;
pub use crate::solver::SolverError;

/// Any error the library reports.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A model parameter is out of its valid range.
    #[error(transparent)]
    Param(#[from] ParamError),
    /// A regimen or dose could not be built or expanded.
    #[error(transparent)]
    Regimen(#[from] RegimenError),
    /// The exact drug propagator could not be set up for these parameters.
    #[error(transparent)]
    Pk(#[from] PkError),
    /// The integrator failed.
    #[error(transparent)]
    Solver(#[from] SolverError),
    /// A simulation setting (horizon, observation grid …) is invalid.
    #[error("{field}: {reason}, got {value}")]
    InvalidInput {
        /// Name of the offending setting.
        field: String,
        /// The value as given.
        value: String,
        /// What was expected.
        reason: String,
    },
    /// A population setting is invalid.
    #[error(transparent)]
    Population(#[from] PopulationError),
    /// A parameter-set file is invalid.
    #[error(transparent)]
    ParamSet(#[from] ParamSetError),
    /// A scenario file is invalid.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// A targets table is invalid.
    #[error(transparent)]
    Target(#[from] TargetError),
    /// A figure could not be drawn.
    #[error("figure {path}: {message}")]
    Plot {
        /// The figure's file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// Shards that cannot be merged.
    #[error("merge: {0}")]
    Merge(String),
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

impl Error {
    /// Shorthand for [`Error::InvalidInput`].
    pub fn invalid(field: impl Into<String>, value: impl ToString, reason: impl Into<String>) -> Self {
        Error::InvalidInput {
            field: field.into(),
            value: value.to_string(),
            reason: reason.into(),
        }
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
