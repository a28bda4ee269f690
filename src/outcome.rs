//! What a trajectory means for one patient: nadirs, worst grade, CD4 recovery.

use crate::model::{Grade, GradeScale, Model, Observables};
use crate::simulate::Trajectory;

/// Lowest value of a subset and the day it was reached.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Nadir {
    /// Lowest observed value (cells/µL).
    pub value: f64,
    /// Observation day of the lowest value.
    pub day: f64,
}

/// CD4 threshold used for prophylaxis decisions (cells/µL).
pub const CD4_PROPHYLAXIS_THRESHOLD: f64 = 200.0;

/// Whether and when CD4 came back above 200 cells/µL.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cd4Recovery {
    /// CD4 never fell below 200 on the observation grid.
    NeverBelow,
    /// CD4 fell below 200 and returned above it on this day (the first observation ≥ 200 after the last
    /// stretch below it began — i.e. the first return after the first drop).
    Returned {
        /// First day below 200.
        first_below: f64,
        /// First later day at or above 200.
        day: f64,
    },
    /// CD4 fell below 200 and had not returned by the end of the horizon (censored).
    NotWithinHorizon {
        /// First day below 200.
        first_below: f64,
    },
}

/// Summary of one patient's trajectory.
#[derive(Debug, Clone, PartialEq)]
pub struct PatientSummary {
    /// ALC nadir.
    pub alc: Nadir,
    /// CD4 nadir.
    pub cd4: Nadir,
    /// CD8 nadir.
    pub cd8: Nadir,
    /// CD19 nadir.
    pub cd19: Nadir,
    /// NK nadir.
    pub nk: Nadir,
    /// Worst CTCAE grade over the observations, and the first day it was reached.
    pub worst_grade: (Grade, f64),
    /// CD4 below/above 200.
    pub cd4_recovery: Cd4Recovery,
}

fn nadir(days: &[f64], obs: &[Observables], f: impl Fn(&Observables) -> f64) -> Nadir {
    let mut best = Nadir {
        value: f64::INFINITY,
        day: f64::NAN,
    };
    for (d, o) in days.iter().zip(obs) {
        let v = f(o);
        if v < best.value {
            best = Nadir { value: v, day: *d };
        }
    }
    best
}

impl PatientSummary {
    /// Summarises a trajectory (an empty trajectory gives infinite nadirs and grade 0).
    pub fn from_trajectory(model: &Model, traj: &Trajectory, scale: &GradeScale) -> Self {
        let obs = traj.observables(model);
        Self::from_observations(&traj.days, &obs, scale)
    }

    /// Summarises observables at the given days.
    pub fn from_observations(days: &[f64], obs: &[Observables], scale: &GradeScale) -> Self {
        let mut worst = (Grade::NORMAL, days.first().copied().unwrap_or(0.0));
        for (d, o) in days.iter().zip(obs) {
            let g = scale.grade(o.alc);
            if g > worst.0 {
                worst = (g, *d);
            }
        }
        let mut recovery = Cd4Recovery::NeverBelow;
        for (d, o) in days.iter().zip(obs) {
            match recovery {
                Cd4Recovery::NeverBelow if o.cd4 < CD4_PROPHYLAXIS_THRESHOLD => {
                    recovery = Cd4Recovery::NotWithinHorizon { first_below: *d }
                }
                Cd4Recovery::NotWithinHorizon { first_below } if o.cd4 >= CD4_PROPHYLAXIS_THRESHOLD => {
                    recovery = Cd4Recovery::Returned { first_below, day: *d };
                    break;
                }
                _ => {}
            }
        }
        PatientSummary {
            alc: nadir(days, obs, |o| o.alc),
            cd4: nadir(days, obs, |o| o.cd4),
            cd8: nadir(days, obs, |o| o.cd8),
            cd19: nadir(days, obs, |o| o.cd19),
            nk: nadir(days, obs, |o| o.nk),
            worst_grade: worst,
            cd4_recovery: recovery,
        }
    }
}
