//! What a simulation means for one patient: the one outcome engine.
//!
//! [`OutcomeTracker`] is an [`Observer`]: it watches one patient's observations and course decisions while
//! [`crate::simulate::solve`] runs and finishes into a [`PatientOutcome`]. The same tracker serves a single
//! patient (`lymphosim patient`, [`PatientOutcome::from_trajectory`]) and every cohort patient, so the two
//! cannot disagree.
//!
//! Outcomes count from a reference day ([`Reference`]): the start of treatment, the switch to the second drug
//! (its first dose, after any delay by a lab gate — or, if a gate cancelled it, the day of that decision), or a
//! fixed day. When the reference day is never reached within the horizon (a switch planned after it, say),
//! the outcome has no [`Window`]: it is *not reached* — censored — never a zero risk.
//!
//! Observations are usually daily, so "days at grade ≥ 3" is a count of daily observations at that grade.

use crate::model::state::FullState;
use crate::model::{Grade, GradeScale, Model, Observables};
use crate::regimen::{Count, Drug, Regimen};
use crate::simulate::{Observer, RunRecord, Trajectory};

/// CD4 threshold used for prophylaxis decisions (cells/µL).
pub const CD4_PROPHYLAXIS_THRESHOLD: f64 = 200.0;

/// Lowest value of a count and the day it was reached.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Nadir {
    /// Lowest observed value (cells/µL).
    pub value: f64,
    /// Observation day of the lowest value.
    pub day: f64,
}

/// Where outcomes start counting.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Reference {
    /// Day 0.
    Start,
    /// The first dose of the first course whose drug differs from the first course's (day 0 if there is none).
    Switch,
    /// A fixed day.
    Day(f64),
}

/// A recovery threshold.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Threshold {
    /// A count in cells/µL.
    Cells(f64),
    /// A fraction of the patient's own baseline.
    FractionOfBaseline(f64),
    /// The ALC lower limit of normal of the grade scale.
    Lln,
}

/// "Days until `observable` is back at or above `threshold`".
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Recovery {
    /// The count.
    pub observable: Count,
    /// The threshold.
    pub threshold: Threshold,
}

impl Recovery {
    /// A short label such as `ALC >= LLN`, `CD4 >= 200` or `CD19 >= 50% baseline`.
    pub fn label(&self) -> String {
        let o = self.observable.name();
        match self.threshold {
            Threshold::Cells(c) => format!("{o} >= {c}"),
            Threshold::FractionOfBaseline(f) => format!("{o} >= {}% baseline", f * 100.0),
            Threshold::Lln => format!("{o} >= LLN"),
        }
    }
}

/// What to measure for each patient.
#[derive(Debug, Clone, PartialEq)]
pub struct OutcomeConfig {
    /// Grade boundaries (LLN).
    pub scale: GradeScale,
    /// Where counting starts.
    pub reference: Reference,
    /// Recovery thresholds.
    pub recoveries: Vec<Recovery>,
}

impl Default for OutcomeConfig {
    /// Counting from the switch; recoveries of ALC to the LLN, CD4 to 200 cells/µL and CD19 to half its
    /// baseline.
    fn default() -> Self {
        OutcomeConfig {
            scale: GradeScale::default(),
            reference: Reference::Switch,
            recoveries: vec![
                Recovery {
                    observable: Count::Alc,
                    threshold: Threshold::Lln,
                },
                Recovery {
                    observable: Count::Cd4,
                    threshold: Threshold::Cells(CD4_PROPHYLAXIS_THRESHOLD),
                },
                Recovery {
                    observable: Count::Cd19,
                    threshold: Threshold::FractionOfBaseline(0.5),
                },
            ],
        }
    }
}

impl OutcomeConfig {
    /// Counting from day 0 with `scale` and the CD4 < 200 recovery only: what `lymphosim patient` reports.
    pub fn whole_run(scale: GradeScale) -> Self {
        OutcomeConfig {
            scale,
            reference: Reference::Start,
            recoveries: vec![Recovery {
                observable: Count::Cd4,
                threshold: Threshold::Cells(CD4_PROPHYLAXIS_THRESHOLD),
            }],
        }
    }
}

/// Whether and when a count came back at or above a recovery threshold.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RecoveryOutcome {
    /// The count never fell below the threshold in the window.
    NeverBelow,
    /// The count fell below the threshold on `first_below` and was first back at or above it on `day` (the
    /// first return after the first drop).
    Returned {
        /// First observation day below the threshold.
        first_below: f64,
        /// First later observation day at or above it.
        day: f64,
    },
    /// The count fell below the threshold and had not come back by the horizon (censored).
    NotWithinHorizon {
        /// First observation day below the threshold.
        first_below: f64,
    },
}

impl RecoveryOutcome {
    /// Days from `reference_day` to recovery, rounded (0 if the count never fell below; `None` if censored).
    pub fn days_after(self, reference_day: f64) -> Option<u32> {
        match self {
            RecoveryOutcome::NeverBelow => Some(0),
            RecoveryOutcome::Returned { day, .. } => Some((day - reference_day).round().max(0.0) as u32),
            RecoveryOutcome::NotWithinHorizon { .. } => None,
        }
    }
}

/// The counts in [`Count::ALL`] order (ALC, CD4, CD8, CD19, NK), cells/µL.
pub type Counts = [f64; 5];

fn counts(o: &Observables) -> Counts {
    Count::ALL.map(|c| c.of(o))
}

/// What happened from the reference day to the horizon.
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    /// The reference day (day).
    pub reference_day: f64,
    /// Counts at the first observation at or after the reference day, before any dose that day.
    pub at_reference: Counts,
    /// Nadirs from the reference day, in [`Count::ALL`] order.
    pub nadirs: [Nadir; 5],
    /// Worst CTCAE grade from the reference day.
    pub worst_grade: Grade,
    /// First observation day at the worst grade.
    pub worst_grade_day: f64,
    /// Observation days at grade ≥ 2.
    pub days_grade_ge2: u32,
    /// Observation days at grade ≥ 3.
    pub days_grade_ge3: u32,
    /// Observation days at grade 4.
    pub days_grade4: u32,
    /// Observation days with CD4 below 200 cells/µL.
    pub days_cd4_below_200: u32,
    /// One entry per configured recovery, in order.
    pub recoveries: Vec<RecoveryOutcome>,
}

impl Window {
    /// The nadir of one count.
    pub fn nadir(&self, count: Count) -> Nadir {
        self.nadirs[count as usize]
    }
}

/// One patient's outcomes on one regimen.
#[derive(Debug, Clone, PartialEq)]
pub struct PatientOutcome {
    /// Outcomes from the reference day; `None` if the reference day was not reached within the horizon.
    pub window: Option<Window>,
    /// Total delay of courses by gates and moves (days).
    pub delay_days: f64,
    /// Whether a gate cancelled a course.
    pub stopped: bool,
    /// Counts and grade at each band day (see [`OutcomeTracker::with_bands`]), in order.
    pub bands: Vec<(Counts, Grade)>,
}

impl PatientOutcome {
    /// Replays a stored trajectory through the tracker (observations and the run's course decisions).
    pub fn from_trajectory(model: &Model, traj: &Trajectory, cfg: &OutcomeConfig, regimen: &Regimen) -> Self {
        let mut t = OutcomeTracker::new(model, cfg, regimen);
        // Course decisions in time order; each is replayed before the first observation after its day, as
        // `solve` reports them.
        let mut decisions: Vec<(f64, usize, Drug, bool)> = traj
            .run
            .courses
            .iter()
            .filter_map(|c| match (c.start, c.stopped_on) {
                (Some(s), _) => Some((s, c.course, c.drug, true)),
                (None, Some(d)) => Some((d, c.course, c.drug, false)),
                (None, None) => None,
            })
            .collect();
        decisions.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut next = 0;
        for (d, y) in traj.days.iter().zip(&traj.states) {
            while let Some(&(day, course, drug, started)) = decisions.get(next).filter(|x| x.0 < *d) {
                match started {
                    true => t.on_course_started(course, drug, day),
                    false => t.on_course_stopped(course, drug, day),
                }
                next += 1;
            }
            t.on_observation(*d, y);
        }
        for &(day, course, drug, started) in &decisions[next..] {
            match started {
                true => t.on_course_started(course, drug, day),
                false => t.on_course_stopped(course, drug, day),
            }
        }
        t.on_finish(&traj.run);
        t.finish()
    }

    /// Outcomes of observables at the given days, counted from the first day (a stretch of a trajectory).
    pub fn from_observations(days: &[f64], obs: &[Observables], cfg: &OutcomeConfig) -> Option<Window> {
        let base = obs.first().map(counts).unwrap_or([f64::NAN; 5]);
        let mut acc = WindowAcc::new(cfg, &base);
        for (d, o) in days.iter().zip(obs) {
            acc.count(cfg, days[0], *d, o);
        }
        acc.finish()
    }
}

#[derive(Debug, Clone, Copy)]
enum RecoveryState {
    NotBelowYet,
    Below(f64),
    Returned(f64, f64),
}

/// The running counts of a window.
struct WindowAcc {
    started: Option<(f64, Counts)>,
    nadirs: [Nadir; 5],
    worst: (Grade, f64),
    days: [u32; 4],
    recovery: Vec<RecoveryState>,
    thresholds: Vec<f64>,
}

impl WindowAcc {
    fn new(cfg: &OutcomeConfig, baseline: &Counts) -> Self {
        let thresholds = cfg
            .recoveries
            .iter()
            .map(|r| match r.threshold {
                Threshold::Cells(c) => c,
                Threshold::FractionOfBaseline(f) => f * baseline[r.observable as usize],
                Threshold::Lln => cfg.scale.lln(),
            })
            .collect();
        WindowAcc {
            started: None,
            nadirs: [Nadir {
                value: f64::INFINITY,
                day: f64::NAN,
            }; 5],
            worst: (Grade::NORMAL, f64::NAN),
            days: [0; 4],
            recovery: vec![RecoveryState::NotBelowYet; cfg.recoveries.len()],
            thresholds,
        }
    }

    fn count(&mut self, cfg: &OutcomeConfig, reference: f64, day: f64, o: &Observables) {
        let v = counts(o);
        if self.started.is_none() {
            self.started = Some((reference, v));
            self.worst.1 = day;
        }
        for (n, x) in self.nadirs.iter_mut().zip(v) {
            if x < n.value {
                *n = Nadir { value: x, day };
            }
        }
        let g = cfg.scale.grade(o.alc);
        if g > self.worst.0 {
            self.worst = (g, day);
        }
        let gv = g.value();
        self.days[0] += (gv >= 2) as u32;
        self.days[1] += (gv >= 3) as u32;
        self.days[2] += (gv == 4) as u32;
        self.days[3] += (o.cd4 < CD4_PROPHYLAXIS_THRESHOLD) as u32;
        for (i, rec) in cfg.recoveries.iter().enumerate() {
            let below = rec.observable.of(o) < self.thresholds[i];
            self.recovery[i] = match (self.recovery[i], below) {
                (RecoveryState::NotBelowYet, true) => RecoveryState::Below(day),
                (RecoveryState::Below(first), false) => RecoveryState::Returned(first, day),
                (s, _) => s,
            };
        }
    }

    fn finish(self) -> Option<Window> {
        let (reference_day, at_reference) = self.started?;
        Some(Window {
            reference_day,
            at_reference,
            nadirs: self.nadirs,
            worst_grade: self.worst.0,
            worst_grade_day: self.worst.1,
            days_grade_ge2: self.days[0],
            days_grade_ge3: self.days[1],
            days_grade4: self.days[2],
            days_cd4_below_200: self.days[3],
            recoveries: self
                .recovery
                .iter()
                .map(|s| match *s {
                    RecoveryState::NotBelowYet => RecoveryOutcome::NeverBelow,
                    RecoveryState::Below(first_below) => RecoveryOutcome::NotWithinHorizon { first_below },
                    RecoveryState::Returned(first_below, day) => RecoveryOutcome::Returned { first_below, day },
                })
                .collect(),
        })
    }
}

/// Index of the course that defines the switch: the first course of a different drug than the first (the first
/// course itself if all courses are of one drug).
pub fn switch_course(r: &Regimen) -> Option<usize> {
    let first: Drug = r.courses.first()?.course.drug;
    Some(r.courses.iter().position(|c| c.course.drug != first).unwrap_or(0))
}

/// Tracks one patient's outcomes while it is simulated: an [`Observer`] that finishes into a
/// [`PatientOutcome`].
pub struct OutcomeTracker<'a> {
    model: &'a Model,
    cfg: &'a OutcomeConfig,
    reference_course: Option<usize>,
    reference_day: Option<f64>,
    last: Option<(f64, Observables)>,
    acc: WindowAcc,
    bands: Vec<(Counts, Grade)>,
    band_step: f64,
    /// The next band day at or after the last observation: `band_index · band_step`.
    next_band: f64,
    band_index: u32,
    delay_days: f64,
    stopped: bool,
}

impl<'a> OutcomeTracker<'a> {
    /// A tracker for `model` on `regimen` (whose switch course defines [`Reference::Switch`]).
    pub fn new(model: &'a Model, cfg: &'a OutcomeConfig, regimen: &Regimen) -> Self {
        let reference_course = switch_course(regimen);
        let reference_day = match cfg.reference {
            Reference::Start => Some(0.0),
            Reference::Day(d) => Some(d),
            Reference::Switch if reference_course.is_none() => Some(0.0),
            Reference::Switch => None,
        };
        let base = counts(&model.observe(&model.initial_state()));
        OutcomeTracker {
            model,
            cfg,
            reference_course,
            reference_day,
            last: None,
            acc: WindowAcc::new(cfg, &base),
            bands: Vec::new(),
            band_step: 0.0,
            next_band: 0.0,
            band_index: 0,
            delay_days: 0.0,
            stopped: false,
        }
    }

    /// Also records the counts and grade at every observation day that is a multiple of `step_days` (> 0).
    pub fn with_bands(mut self, step_days: f64) -> Self {
        self.band_step = step_days;
        self
    }

    fn set_reference(&mut self, day: f64) {
        if self.reference_day.is_none() {
            self.reference_day = Some(day);
            if let Some((d, o)) = self.last {
                if d >= day {
                    self.acc.count(self.cfg, day, d, &o);
                }
            }
        }
    }

    /// The finished outcome.
    pub fn finish(self) -> PatientOutcome {
        PatientOutcome {
            window: self.acc.finish(),
            delay_days: self.delay_days,
            stopped: self.stopped,
            bands: self.bands,
        }
    }
}

impl Observer for OutcomeTracker<'_> {
    /// Outcomes read cell counts only.
    fn observes_drugs(&self) -> bool {
        false
    }

    fn on_observation(&mut self, day: f64, state: &FullState) {
        let o = self.model.observe(state);
        if self.band_step > 0.0 {
            // Observation days increase, so the band days are walked once (no division or rounding per day).
            while self.next_band < day {
                self.band_index += 1;
                self.next_band = f64::from(self.band_index) * self.band_step;
            }
            if day == self.next_band {
                self.bands.push((counts(&o), self.cfg.scale.grade(o.alc)));
            }
        }
        self.last = Some((day, o));
        if let Some(r) = self.reference_day {
            if day >= r {
                self.acc.count(self.cfg, r, day, &o);
            }
        }
    }

    fn on_course_started(&mut self, course: usize, _drug: Drug, day: f64) {
        if Some(course) == self.reference_course {
            self.set_reference(day);
        }
    }

    fn on_course_stopped(&mut self, course: usize, _drug: Drug, day: f64) {
        self.stopped = true;
        if Some(course) == self.reference_course {
            self.set_reference(day);
        }
    }

    fn on_finish(&mut self, run: &RunRecord) {
        self.delay_days = run.total_delay_days();
    }
}

/// One drug phase of a regimen: from the first dose of a run of same-drug courses to the next drug's first dose
/// (or the end of the observations).
#[derive(Debug, Clone, PartialEq)]
pub struct PhaseSummary {
    /// The drug of this phase.
    pub drug: Drug,
    /// First dose of the phase (day).
    pub start_day: f64,
    /// End of the phase (day, exclusive): the next phase's start or the last observation.
    pub end_day: f64,
    /// Observables at the last observation at or before the phase start (what a clinician sees before dosing).
    pub at_start: Option<Observables>,
    /// Outcomes between the phase start and its end (`None` if no observation falls in the phase).
    pub within: Option<Window>,
}

/// Splits a trajectory into drug phases by the doses it actually gave (see [`PhaseSummary`]). Runs of courses
/// of the same drug form one phase.
pub fn phases(model: &Model, traj: &Trajectory, scale: &GradeScale) -> Vec<PhaseSummary> {
    let obs = traj.observables(model);
    let mut starts: Vec<(Drug, f64)> = Vec::new();
    for a in &traj.run.administrations {
        if starts.last().is_none_or(|(d, _)| *d != a.drug) {
            starts.push((a.drug, a.day));
        }
    }
    let cfg = OutcomeConfig::whole_run(*scale);
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
        let within = PatientOutcome::from_observations(&traj.days[from..to], &obs[from..to], &cfg);
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
