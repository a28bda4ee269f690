//! # lymphosim
//!
//! Simulates how T, B and NK lymphocytes are depleted and repopulate after the multiple-sclerosis immune
//! reconstitution therapies **alemtuzumab** and **cladribine tablets**.
//!
//! ## Map of the crate
//!
//! | module | what it holds |
//! |---|---|
//! | [`model`] | reference model v1 and v2: parameters with units and sources, steady-state closure, right-hand sides, observations ([`model::Count`]), CTCAE grades |
//! | [`pk`] | exact propagation of the linear drug subsystem between dose events |
//! | [`regimen`] | doses, courses and regimens as data; lab gates and the label's rules; label and trial presets; weight bands; NONMEM-style event tables |
//! | [`solver`] | integrators behind one interface (own Dopri5 and Rodas4, ode_solvers Dopri5/Dop853/RK4) |
//! | [`simulate`] | [`simulate::Problem`] and [`simulate::solve`], the one driver (gates, delays, course placement); observers; trajectories |
//! | [`outcome`] | the one outcome engine: nadirs, worst grade, days at grade, CD4 < 200, recoveries, counted from a reference day |
//! | [`population`] | covariates, correlated variability, per-patient random streams, parameter sets (the shipped calibrated set) |
//! | [`cohort`] | the [`cohort::Cohort`] builder, the parallel runner, exact-merge histograms, summaries and output files |
//! | [`scenario`] | scenario files (TOML) translated into a cohort study; embedded presets |
//! | [`calibration`] | published targets, the typical patient's and cohorts' comparison with them, the fit |
//! | [`output`] | atomic file writes and the trajectory CSV |
//! | `plot` | figures (plotters, bundled font; feature `plot`): patients, fan charts, risk curves, calibration, work-precision |
//! | [`units`] | unit conversions, written once |
//! | [`work_precision`] | the solver study: error against time per patient on a fixed cohort |
//! | [`error`] | the crate's error type |
//!
//! Data flow: scenario file or [`cohort::Cohort`] builder → per patient a [`simulate::Problem`] (sampled
//! parameters + regimen with its gates) → [`simulate::solve`] → observers ([`outcome::OutcomeTracker`],
//! [`simulate::Trajectory`]) → per-arm accumulators → summary → tables, JSON, CSV, figures.
//!
//! ## Quick start
//!
//! ```
//! use lymphosim::prelude::*;
//!
//! # fn main() -> lymphosim::Result<()> {
//! let model = Model::shipped();
//! let regimen = presets::build("alemtuzumab-label", &PresetOptions::default())?;
//! let problem = Problem::new(model, &regimen, 2.0 * 365.25)?;
//! let trajectory = simulate(&problem, &SimOptions::default())?;
//! let cfg = OutcomeConfig::whole_run(GradeScale::default());
//! let outcome = PatientOutcome::from_trajectory(problem.model(), &trajectory, &cfg, problem.regimen());
//! let window = outcome.window.expect("counted from day 0");
//! assert!(window.nadir(Count::Cd4).value < 100.0); // alemtuzumab removes most CD4 T cells
//! # Ok(())
//! # }
//! ```

// Numerical kernels index several arrays in lock-step; range loops read better there than zipped iterators.
#![allow(clippy::needless_range_loop)]

pub mod calibration;
pub mod cohort;
pub mod error;
pub mod forecast;
pub mod model;
pub mod outcome;
pub mod output;
pub mod pk;
#[cfg(feature = "plot")]
pub mod plot;
pub mod population;
pub mod regimen;
pub mod scenario;
pub mod simulate;
pub mod solver;
pub mod units;
pub mod work_precision;

pub use error::{Error, Result};

/// The types most programs need.
pub mod prelude {
    pub use crate::cohort::summary::ArmSummary;
    pub use crate::cohort::{Cohort, CohortRun, Shard};
    pub use crate::model::{Count, Grade, GradeScale, Model, ModelParams, Observables};
    pub use crate::outcome::{OutcomeConfig, OutcomeTracker, PatientOutcome, Reference};
    pub use crate::population::rng::patient_rng;
    pub use crate::population::{Patient, PopulationModel};
    pub use crate::regimen::presets::{self, PresetOptions};
    pub use crate::regimen::{
        Course, Dose, Drug, Gate, LabelRules, OnFail, Regimen, Route, Rules, Start, TrialProtocol,
    };
    pub use crate::simulate::{simulate, solve, Observer, PkForm, Problem, RunRecord, SimOptions, Trajectory};
    pub use crate::solver::{Method, SolverOptions};
}

/// Compiles and runs the README's code blocks as doctests, so the README cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
