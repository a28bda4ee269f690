//! Integration tests, in layers: closed-form oracles, tight-tolerance references, invariants, published
//! targets, and the command line.

mod baseline;
mod calibration;
mod cli;
mod cohort;
mod core;
mod forecast;
mod fuzz;
mod invariants;
mod kinetics;
mod lanes;
mod model_v3;
mod outcomes;
mod pk_oracles;
mod properties;
mod regimens;
mod scenarios;
mod solvers;
mod support;
mod value_stability;
