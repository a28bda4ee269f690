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

/// One drug phase of a regimen: from the first dose of a run of same-drug courses to the next drug's first dose
/// (or the end of the observations).
#[derive(Debug, Clone, PartialEq)]
pub struct PhaseSummary {
    /// The drug of this phase.
    pub drug: crate::regimen::Drug,
    /// First dose of the phase (day).
    pub start_day: f64,
    /// End of the phase (day, exclusive): the next phase's start or the last observation.
    pub end_day: f64,
    /// Observables at the last observation at or before the phase start (what a clinician sees before dosing).
    pub at_start: Option<Observables>,
    /// Nadirs and worst grade between the phase start and its end.
    pub within: PatientSummary,
}

/// Splits a trajectory into drug phases (see [`PhaseSummary`]). Runs of courses of the same drug form one phase.
pub fn phases(
    model: &Model,
    traj: &Trajectory,
    admins: &[crate::regimen::Administration],
    scale: &GradeScale,
) -> Vec<PhaseSummary> {
    let obs = traj.observables(model);
    let mut starts: Vec<(crate::regimen::Drug, f64)> = Vec::new();
    for a in admins {
        if starts.last().is_none_or(|(d, _)| *d != a.drug) {
            starts.push((a.drug, a.day));
        }
    }
    let last_day = traj.days.last().copied().unwrap_or(0.0);
    let mut out = Vec::new();
    for (i, &(drug, start)) in starts.iter().enumerate() {
        if start > last_day {
            break;
        }
        let end = starts.get(i + 1).map(|s| s.1).unwrap_or(f64::INFINITY);
        let before = traj.days.partition_point(|&d| d <= start);
        let at_start = before.checked_sub(1).map(|k| obs[k]);
        let from = traj.days.partition_point(|&d| d < start);
        let to = traj.days.partition_point(|&d| d < end);
        let within = PatientSummary::from_observations(&traj.days[from..to], &obs[from..to], scale);
        out.push(PhaseSummary {
            drug,
            start_day: start,
            end_day: end.min(last_day),
            at_start,
            within,
        });
    }
    out
}
