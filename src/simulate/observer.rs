//! What a simulation reports while it runs.
//!
//! [`solve`](super::solve) hands every observation and every course decision to an [`Observer`], in time
//! order. Storing a trajectory ([`Trajectory`]) and tracking a patient's outcomes
//! ([`crate::outcome::OutcomeTracker`]) are two implementations; a pair `(A, B)` of observers feeds both, and
//! [`ObserveFn`] turns a closure into an observer for quick studies.

use crate::model::state::{CellState, FullState};
use crate::model::{Model, Observables};
use crate::regimen::{Administration, Drug};
use crate::solver::SolverStats;

/// Why a planned course was not given, or not given when planned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CourseFate {
    /// Given on its planned day.
    OnTime,
    /// A lab gate delayed it; it was given later.
    Delayed,
    /// An earlier course was delayed past this course's planned start, or the course would have overlapped a
    /// running course of the same drug: it was moved to the first day it could be given (see
    /// [`super::solve`]'s placement rules).
    Moved,
    /// A lab gate cancelled it (and every later course of the same drug).
    StoppedByGate,
    /// An earlier course of the same drug was cancelled by its gate.
    StoppedWithDrug,
    /// Its planned start lies at or after the horizon: not simulated (censored, not cancelled).
    BeyondHorizon,
}

impl CourseFate {
    /// Stable name used in outputs.
    pub fn name(self) -> &'static str {
        match self {
            CourseFate::OnTime => "on-time",
            CourseFate::Delayed => "delayed",
            CourseFate::Moved => "moved",
            CourseFate::StoppedByGate => "stopped-by-gate",
            CourseFate::StoppedWithDrug => "stopped-with-drug",
            CourseFate::BeyondHorizon => "beyond-horizon",
        }
    }

    /// Whether a gate cancelled the course.
    pub fn is_stopped(self) -> bool {
        matches!(self, CourseFate::StoppedByGate | CourseFate::StoppedWithDrug)
    }
}

/// What happened to one course of the regimen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CourseRecord {
    /// Index of the course in the regimen.
    pub course: usize,
    /// The drug.
    pub drug: Drug,
    /// Planned start (day), resolved from the actual (or, if not given, planned) start of the previous course.
    pub planned_start: f64,
    /// Actual start (day); `None` if the course was cancelled or lies beyond the horizon.
    pub start: Option<f64>,
    /// Days between the planned and the actual start (gate delay or move; 0 if on time or not given).
    pub delay_days: f64,
    /// What happened.
    pub fate: CourseFate,
    /// Day of the gate visit that cancelled the course (for [`CourseFate::StoppedByGate`]).
    pub stopped_on: Option<f64>,
    /// Number of visits at which a gate was checked.
    pub visits: u32,
    /// Doses the regimen plans for this course.
    pub doses_planned: usize,
    /// Doses given before the horizon (a course that straddles the horizon gives only its first doses).
    pub doses_given: usize,
}

/// What a run did, besides its observations.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RunRecord {
    /// One record per course, in the regimen's order.
    pub courses: Vec<CourseRecord>,
    /// The administrations actually given before the horizon, sorted by day.
    pub administrations: Vec<Administration>,
    /// Integrator work.
    pub stats: SolverStats,
}

impl RunRecord {
    /// Total gate delay and moves over all courses (days).
    pub fn total_delay_days(&self) -> f64 {
        self.courses.iter().map(|c| c.delay_days).sum()
    }
}

/// One accepted integration step, as the cells saw it: the cell states and their time derivatives at both ends
/// (cells/µL and cells/µL/day; see [`crate::model::state::cell`]). Steps never straddle a dose event, so the
/// cubic Hermite interpolant of the two ends is the solution's shape inside the step to the method's accuracy.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CellStep {
    /// Start of the step (day).
    pub t0: f64,
    /// End of the step (day).
    pub t1: f64,
    /// Cell states at `t0`.
    pub cells0: CellState,
    /// Their time derivatives at `t0` (per day).
    pub rates0: CellState,
    /// Cell states at `t1`.
    pub cells1: CellState,
    /// Their time derivatives at `t1` (per day).
    pub rates1: CellState,
}

/// Receives a run's observations and course decisions, in time order.
///
/// Every method but [`Observer::on_observation`] has a default that does nothing.
pub trait Observer {
    /// The full state at an observation day (before any dose due that day: a trough sample).
    ///
    /// If [`Observer::observes_drugs`] is `false`, the drug states in `state` are zeros (with the exact drug
    /// propagation they are then not computed at each observation day); the cell states are always exact.
    fn on_observation(&mut self, day: f64, state: &FullState);
    /// Whether [`Observer::on_observation`] reads the drug states (default `true`). An observer that looks only
    /// at the cells says `false` and saves their computation at every observation day.
    fn observes_drugs(&self) -> bool {
        true
    }
    /// Whether [`Observer::on_step`] should be called (default `false`).
    fn observes_steps(&self) -> bool {
        false
    }
    /// One accepted integration step (only if [`Observer::observes_steps`]); steps arrive in time order,
    /// after the observations they contain, and a course decision on `day` arrives before any step after `day`.
    fn on_step(&mut self, _step: &CellStep) {}
    /// A course starts on `day` (reported before any observation after `day`).
    fn on_course_started(&mut self, _course: usize, _drug: Drug, _day: f64) {}
    /// A gate visit on `day` found `measured` cells/µL, below its threshold: the course waits.
    fn on_course_delayed(&mut self, _course: usize, _drug: Drug, _day: f64, _measured: f64) {}
    /// A gate cancelled a course on `day`.
    fn on_course_stopped(&mut self, _course: usize, _drug: Drug, _day: f64) {}
    /// The run reached its horizon; `run` holds every course's fate and the doses given.
    fn on_finish(&mut self, _run: &RunRecord) {}
}

impl<A: Observer + ?Sized, B: Observer + ?Sized> Observer for (&mut A, &mut B) {
    fn on_observation(&mut self, day: f64, state: &FullState) {
        self.0.on_observation(day, state);
        self.1.on_observation(day, state);
    }
    fn observes_drugs(&self) -> bool {
        self.0.observes_drugs() || self.1.observes_drugs()
    }
    fn observes_steps(&self) -> bool {
        self.0.observes_steps() || self.1.observes_steps()
    }
    fn on_step(&mut self, step: &CellStep) {
        if self.0.observes_steps() {
            self.0.on_step(step);
        }
        if self.1.observes_steps() {
            self.1.on_step(step);
        }
    }
    fn on_course_started(&mut self, course: usize, drug: Drug, day: f64) {
        self.0.on_course_started(course, drug, day);
        self.1.on_course_started(course, drug, day);
    }
    fn on_course_delayed(&mut self, course: usize, drug: Drug, day: f64, measured: f64) {
        self.0.on_course_delayed(course, drug, day, measured);
        self.1.on_course_delayed(course, drug, day, measured);
    }
    fn on_course_stopped(&mut self, course: usize, drug: Drug, day: f64) {
        self.0.on_course_stopped(course, drug, day);
        self.1.on_course_stopped(course, drug, day);
    }
    fn on_finish(&mut self, run: &RunRecord) {
        self.0.on_finish(run);
        self.1.on_finish(run);
    }
}

/// A closure `(day, state)` as an observer of observations only.
pub struct ObserveFn<F>(pub F);

impl<F: FnMut(f64, &FullState)> Observer for ObserveFn<F> {
    fn on_observation(&mut self, day: f64, state: &FullState) {
        (self.0)(day, state);
    }
}

/// An observer that ignores everything (for timing the integrator alone).
pub struct Discard;

impl Observer for Discard {
    fn on_observation(&mut self, _day: f64, _state: &FullState) {}
    fn observes_drugs(&self) -> bool {
        false
    }
}

/// The states at the observation days and every integration step, with what the run did.
#[derive(Debug, Clone, Default)]
pub struct Trajectory {
    /// Observation days, ascending.
    pub days: Vec<f64>,
    /// Full state vector at each observation day (drug states first; see [`crate::model::state`]).
    pub states: Vec<FullState>,
    /// Every accepted integration step, in time order: the continuous solution the outcomes are read from
    /// ([`crate::outcome::PatientOutcome::from_trajectory`]).
    pub steps: Vec<CellStep>,
    /// Courses, doses given and integrator work (filled when the run finishes).
    pub run: RunRecord,
}

impl Trajectory {
    /// An empty trajectory with room for `problem`'s observations and for one step per observation day and 64
    /// more (a 10-year run takes 560 steps at the default tolerance and 1 141 at rtol 1e-8; more grow the store),
    /// so that a run does not reallocate as it goes. Only the memory a run writes is touched.
    pub fn for_problem(problem: &super::Problem) -> Self {
        let n = problem.observation_days().len();
        Trajectory {
            days: Vec::with_capacity(n),
            states: Vec::with_capacity(n),
            steps: Vec::with_capacity(64 + n),
            run: RunRecord::default(),
        }
    }

    /// Observables at each observation day.
    pub fn observables(&self, model: &Model) -> Vec<Observables> {
        self.states.iter().map(|s| model.observe(s)).collect()
    }

    /// Integrator work.
    pub fn stats(&self) -> SolverStats {
        self.run.stats
    }
}

impl Observer for Trajectory {
    fn on_observation(&mut self, day: f64, state: &FullState) {
        self.days.push(day);
        self.states.push(*state);
    }
    fn observes_steps(&self) -> bool {
        true
    }
    fn on_step(&mut self, step: &CellStep) {
        self.steps.push(*step);
    }
    fn on_finish(&mut self, run: &RunRecord) {
        self.run = run.clone();
    }
}
