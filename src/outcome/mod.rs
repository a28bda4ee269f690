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
//! **Outcomes are read from the continuous solution**, not from samples: the tracker sees every accepted
//! integration step ([`CellStep`]) and interpolates each count inside it by the cubic Hermite curve through the
//! step's end values and slopes (steps never straddle a dose, and the counts are linear in the states). Nadirs
//! are the minima of those curves, threshold crossings (grades, CD4 < 200, recoveries) are located on them, and
//! durations are in fractional days. A definition on daily samples — the one a clinic with a daily lab would
//! use — is kept in the tests as a reference: the two agree to the day the sampling implies.

mod cubic;

use crate::model::state::FullState;
use crate::model::{Grade, GradeScale, Model, Observables};
use crate::regimen::{Count, Drug, Regimen};
use crate::simulate::{CellStep, Observer, RunRecord, Trajectory};
use cubic::Cubic;

/// CD4 threshold used for prophylaxis decisions (cells/µL).
pub const CD4_PROPHYLAXIS_THRESHOLD: f64 = 200.0;

/// Lowest value of a count and the day it was reached.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Nadir {
    /// Lowest value (cells/µL).
    pub value: f64,
    /// Day of the lowest value (fractional).
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
    /// Days of scheduled lab visits (whole days from day 0, ascending; empty: none). The worst grade *seen at
    /// these visits* ([`Window::worst_grade_at_visits`]) is what a trial or a clinic records, which can be milder
    /// than the worst grade the continuous solution reaches between visits. The observation days must include
    /// them (a cohort adds them to its band days).
    pub visit_days: Vec<f64>,
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
            visit_days: Vec::new(),
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
            visit_days: Vec::new(),
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
        /// When the count first fell below the threshold (day, fractional).
        first_below: f64,
        /// When it first came back to it (day, fractional).
        day: f64,
    },
    /// The count fell below the threshold and had not come back by the horizon (censored).
    NotWithinHorizon {
        /// When the count first fell below the threshold (day, fractional).
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
    /// Counts on the reference day, before any dose that day (cells/µL).
    pub at_reference: Counts,
    /// Nadirs from the reference day, in [`Count::ALL`] order.
    pub nadirs: [Nadir; 5],
    /// Worst CTCAE grade from the reference day.
    pub worst_grade: Grade,
    /// When the worst grade was first reached (day, fractional; the reference day at grade 0).
    pub worst_grade_day: f64,
    /// Time at grade ≥ 2 (days, fractional).
    pub days_grade_ge2: f64,
    /// Time at grade ≥ 3 (days, fractional).
    pub days_grade_ge3: f64,
    /// Time at grade 4 (days, fractional).
    pub days_grade4: f64,
    /// Time with CD4 below 200 cells/µL (days, fractional).
    pub days_cd4_below_200: f64,
    /// Worst grade at the scheduled lab visits from the reference day on ([`OutcomeConfig::visit_days`]);
    /// `None` without visits in the window.
    pub worst_grade_at_visits: Option<Grade>,
    /// Per configured recovery, when the lab *saw* the count back: days from the reference day to the first
    /// visit, after the count first fell below its threshold, at which it is at or above it (0 if it never fell
    /// below; `None` if no visit saw it back — a return after the last visit, or none). The whole is `None`
    /// without visits in the window. A return between two visits is seen at the second, as a trial or clinic
    /// records it; [`Window::recoveries`] has the continuous day.
    pub recoveries_at_visits: Option<Vec<Option<u32>>>,
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
    /// Replays a stored trajectory — its observations, its steps and the run's course decisions, in the order
    /// `solve` reported them — through the tracker.
    pub fn from_trajectory(model: &Model, traj: &Trajectory, cfg: &OutcomeConfig, regimen: &Regimen) -> Self {
        let mut t = OutcomeTracker::new(model, cfg, regimen);
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
        let (mut next_decision, mut next_obs) = (0, 0);
        // Everything up to `day`: an observation on a day comes before a decision on that day (a trough sample),
        // and a decision before any step that starts on its day.
        let mut replay_to = |t: &mut OutcomeTracker, day: f64| loop {
            let obs = traj.days.get(next_obs).copied().filter(|&d| d <= day);
            let dec = decisions.get(next_decision).copied().filter(|x| x.0 <= day);
            match (obs, dec) {
                (Some(d), Some(x)) if d <= x.0 => {
                    t.on_observation(d, &traj.states[next_obs]);
                    next_obs += 1;
                }
                (_, Some((d, course, drug, started))) => {
                    match started {
                        true => t.on_course_started(course, drug, d),
                        false => t.on_course_stopped(course, drug, d),
                    }
                    next_decision += 1;
                }
                (Some(d), None) => {
                    t.on_observation(d, &traj.states[next_obs]);
                    next_obs += 1;
                }
                (None, None) => break,
            }
        };
        for s in &traj.steps {
            replay_to(&mut t, s.t0);
            t.on_step(s);
        }
        replay_to(&mut t, f64::INFINITY);
        t.on_finish(&traj.run);
        t.finish()
    }

    /// Outcomes of the stretch `[from, to)` of a stored trajectory, counted from `from` (`None` if no step
    /// falls in it).
    pub fn between(model: &Model, traj: &Trajectory, from: f64, to: f64, cfg: &OutcomeConfig) -> Option<Window> {
        let base = counts(&model.observe(&model.initial_state()));
        let mut acc = WindowAcc::new(cfg, &base);
        for s in traj.steps.iter().filter(|s| s.t1 > from && s.t0 < to) {
            acc.step(model, s, from, to);
        }
        acc.finish(from, None, None)
    }
}

#[derive(Debug, Clone, Copy)]
enum RecoveryState {
    NotBelowYet,
    Below(f64),
    Returned(f64, f64),
}

/// The running outcomes of a window, fed step by step.
struct WindowAcc {
    started: Option<Counts>,
    nadirs: [Nadir; 5],
    /// The ALC below which grades 1–4 begin.
    grade_bounds: [f64; 4],
    /// When ALC first fell below each grade bound (NaN: not yet).
    grade_first: [f64; 4],
    /// Time at grade ≥ 2, ≥ 3, 4 and with CD4 < 200 (days).
    durations: [f64; 4],
    recovery: Vec<RecoveryState>,
    /// Whether each recovery's count was below its threshold at the end of the last step.
    below_now: Vec<bool>,
    /// Each recovery's count index and threshold (cells/µL).
    thresholds: Vec<(usize, f64)>,
}

impl WindowAcc {
    fn new(cfg: &OutcomeConfig, baseline: &Counts) -> Self {
        let thresholds = cfg
            .recoveries
            .iter()
            .map(|r| {
                let k = r.observable as usize;
                let level = match r.threshold {
                    Threshold::Cells(c) => c,
                    Threshold::FractionOfBaseline(f) => f * baseline[k],
                    Threshold::Lln => cfg.scale.lln(),
                };
                (k, level)
            })
            .collect();
        WindowAcc {
            started: None,
            nadirs: [Nadir {
                value: f64::INFINITY,
                day: f64::NAN,
            }; 5],
            grade_bounds: cfg.scale.bounds(),
            grade_first: [f64::NAN; 4],
            durations: [0.0; 4],
            recovery: vec![RecoveryState::NotBelowYet; cfg.recoveries.len()],
            below_now: vec![false; cfg.recoveries.len()],
            thresholds,
        }
    }

    /// Adds the part of a step inside `[from, to]`.
    fn step(&mut self, model: &Model, s: &CellStep, from: f64, to: f64) {
        let (t0, t1) = (s.t0.max(from), s.t1.min(to));
        if t1 <= t0 {
            return;
        }
        let h = s.t1 - s.t0;
        let (v0, d0) = (model.counts_of_cells(&s.cells0), model.counts_of_cells(&s.rates0));
        let (v1, d1) = (model.counts_of_cells(&s.cells1), model.counts_of_cells(&s.rates1));
        let clipped = t0 > s.t0 || t1 < s.t1;
        let (x0, x1) = ((t0 - s.t0) / h, (t1 - s.t0) / h);
        let curve = |k: usize| {
            let c = Cubic::hermite(v0[k], d0[k], v1[k], d1[k], h);
            if clipped {
                c.restrict(x0, x1)
            } else {
                c
            }
        };
        let curves: [Cubic; 5] = std::array::from_fn(curve);
        self.add(&curves, t0, t1 - t0);
    }

    /// Adds one stretch `[t0, t0 + len]` given by each count's curve on it.
    fn add(&mut self, curves: &[Cubic; 5], t0: f64, len: f64) {
        if self.started.is_none() {
            self.started = Some(std::array::from_fn(|k| curves[k].at(0.0)));
        }
        let bounds: [(f64, f64); 5] = std::array::from_fn(|k| curves[k].bounds());
        let mut pieces: [Option<cubic::Pieces>; 5] = [None; 5];
        let mut pieces_of = |k: usize| *pieces[k].get_or_insert_with(|| curves[k].pieces());
        for k in 0..5 {
            if bounds[k].0 < self.nadirs[k].value {
                let (v, x) = pieces_of(k).min();
                if v < self.nadirs[k].value {
                    self.nadirs[k] = Nadir {
                        value: v,
                        day: t0 + x * len,
                    };
                }
            }
        }
        // The sub-intervals (as fractions of the stretch) on which count `k` is below `level`.
        let mut below = |k: usize, level: f64| -> cubic::Intervals {
            let (lo, hi) = bounds[k];
            if lo >= level {
                cubic::Intervals::default()
            } else if hi < level {
                cubic::Intervals {
                    list: [(0.0, 1.0), (0.0, 0.0)],
                    n: 1,
                }
            } else {
                curves[k].below(level, &pieces_of(k))
            }
        };
        let alc = Count::Alc as usize;
        for g in 0..4 {
            let iv = below(alc, self.grade_bounds[g]);
            if iv.n > 0 && self.grade_first[g].is_nan() {
                self.grade_first[g] = t0 + iv.list[0].0 * len;
            }
            if g > 0 {
                self.durations[g - 1] += iv.length() * len;
            }
        }
        self.durations[3] += below(Count::Cd4 as usize, CD4_PROPHYLAXIS_THRESHOLD).length() * len;
        for i in 0..self.thresholds.len() {
            let (k, level) = self.thresholds[i];
            let iv = below(k, level);
            let mut events: [(f64, bool); 5] = [(0.0, false); 5];
            let mut m = 0;
            let starts_below = iv.n > 0 && iv.list[0].0 == 0.0;
            if self.below_now[i] && !starts_below {
                events[m] = (t0, true);
                m += 1;
            }
            let mut now_below = false;
            for (j, (a, b)) in iv.iter().enumerate() {
                if !(j == 0 && starts_below && self.below_now[i]) {
                    events[m] = (t0 + a * len, false);
                    m += 1;
                }
                if b < 1.0 {
                    events[m] = (t0 + b * len, true);
                    m += 1;
                } else {
                    now_below = true;
                }
            }
            self.below_now[i] = now_below;
            for &(t, up) in &events[..m] {
                self.recovery[i] = match (self.recovery[i], up) {
                    (RecoveryState::NotBelowYet, false) => RecoveryState::Below(t),
                    (RecoveryState::Below(first), true) => RecoveryState::Returned(first, t),
                    (s, _) => s,
                };
            }
        }
    }

    /// `visits` (the counts at the lab visits in the window, in order; `None` without visits) decide
    /// [`Window::recoveries_at_visits`]: a count is seen back at the first visit after it first fell below its
    /// threshold (by the continuous solution) at which it is at or above it. Read at the end, so the order in which
    /// a solver reports a visit and the step holding it does not matter.
    fn finish(
        self,
        reference_day: f64,
        worst_grade_at_visits: Option<Grade>,
        visits: Option<&[(f64, Counts)]>,
    ) -> Option<Window> {
        let at_reference = self.started?;
        let (worst_grade, worst_grade_day) = (0..4)
            .rev()
            .find(|&g| !self.grade_first[g].is_nan())
            .map(|g| (Grade::from_value(g as u8 + 1), self.grade_first[g]))
            .unwrap_or((Grade::NORMAL, reference_day));
        Some(Window {
            reference_day,
            at_reference,
            nadirs: self.nadirs,
            worst_grade,
            worst_grade_day,
            days_grade_ge2: self.durations[0],
            days_grade_ge3: self.durations[1],
            days_grade4: self.durations[2],
            days_cd4_below_200: self.durations[3],
            worst_grade_at_visits,
            recoveries_at_visits: visits.map(|visits| {
                self.recovery
                    .iter()
                    .zip(&self.thresholds)
                    .map(|(r, &(k, level))| match *r {
                        RecoveryState::NotBelowYet => Some(0),
                        RecoveryState::Below(first) | RecoveryState::Returned(first, _) => visits
                            .iter()
                            .find(|(day, c)| *day > first && c[k] >= level)
                            .map(|(day, _)| (day - reference_day).round().max(0.0) as u32),
                    })
                    .collect()
            }),
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
    acc: WindowAcc,
    bands: Vec<(Counts, Grade)>,
    band_step: f64,
    /// The next band day at or after the last observation: `band_index · band_step`.
    next_band: f64,
    band_index: u32,
    /// The next visit (index into the visit days) and the worst grade seen at visits in the window.
    next_visit: usize,
    visit_worst: Option<Grade>,
    /// The counts at each visit in the window, in order (kept only with recoveries to read at them).
    visit_counts: Vec<(f64, Counts)>,
    /// The last visit before the reference day was known (it counts if it falls on that day).
    last_visit: Option<(f64, Grade)>,
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
            acc: WindowAcc::new(cfg, &base),
            bands: Vec::new(),
            band_step: 0.0,
            next_band: 0.0,
            band_index: 0,
            next_visit: 0,
            visit_worst: None,
            visit_counts: Vec::new(),
            last_visit: None,
            delay_days: 0.0,
            stopped: false,
        }
    }

    /// Also records the counts and grade at every observation day that is a multiple of `step_days` (> 0): the
    /// observation days should hold them (the cohort observes on exactly those days).
    pub fn with_bands(mut self, step_days: f64) -> Self {
        self.band_step = step_days;
        self
    }

    fn set_reference(&mut self, day: f64) {
        if self.reference_day.is_none() {
            self.reference_day = Some(day);
            if let Some((d, g)) = self.last_visit {
                if d >= day {
                    self.visit_worst = Some(g);
                }
            }
        }
    }

    /// The finished outcome.
    pub fn finish(self) -> PatientOutcome {
        PatientOutcome {
            window: self.reference_day.and_then(|r| {
                self.acc.finish(
                    r,
                    self.visit_worst,
                    self.visit_worst.map(|_| self.visit_counts.as_slice()),
                )
            }),
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

    /// Observations serve the bands and the lab visits; the other outcomes come from the steps.
    fn on_observation(&mut self, day: f64, state: &FullState) {
        let visits = &self.cfg.visit_days;
        while self.next_visit < visits.len() && visits[self.next_visit] < day {
            self.next_visit += 1;
        }
        if self.next_visit < visits.len() && visits[self.next_visit] == day {
            let c = counts(&self.model.observe(state));
            let g = self.cfg.scale.grade(c[Count::Alc as usize]);
            match self.reference_day {
                Some(r) if day >= r => {
                    self.visit_worst = Some(self.visit_worst.map_or(g, |w| w.max(g)));
                    if !self.cfg.recoveries.is_empty() {
                        self.visit_counts.push((day, c));
                    }
                }
                Some(_) => {}
                None => self.last_visit = Some((day, g)),
            }
        }
        if self.band_step > 0.0 {
            // Observation days increase, so the band days are walked once (no division or rounding per day).
            while self.next_band < day {
                self.band_index += 1;
                self.next_band = f64::from(self.band_index) * self.band_step;
            }
            if day == self.next_band {
                let o = self.model.observe(state);
                self.bands.push((counts(&o), self.cfg.scale.grade(o.alc)));
            }
        }
    }

    fn observes_steps(&self) -> bool {
        true
    }

    fn on_step(&mut self, step: &CellStep) {
        if let Some(r) = self.reference_day {
            if step.t1 > r {
                self.acc.step(self.model, step, r, f64::INFINITY);
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
    /// End of the phase (day, exclusive): the next phase's start or the end of the run.
    pub end_day: f64,
    /// Observables at the last observation at or before the phase start (what a clinician sees before dosing).
    pub at_start: Option<Observables>,
    /// Outcomes between the phase start and its end (`None` if the run ends at the phase start).
    pub within: Option<Window>,
}

/// Splits a trajectory into drug phases by the doses it actually gave (see [`PhaseSummary`]). Runs of courses
/// of the same drug form one phase.
pub fn phases(model: &Model, traj: &Trajectory, scale: &GradeScale) -> Vec<PhaseSummary> {
    let mut starts: Vec<(Drug, f64)> = Vec::new();
    for a in &traj.run.administrations {
        if starts.last().is_none_or(|(d, _)| *d != a.drug) {
            starts.push((a.drug, a.day));
        }
    }
    let cfg = OutcomeConfig::whole_run(*scale);
    let last_day = traj.steps.last().map(|s| s.t1).unwrap_or(0.0);
    let mut out = Vec::new();
    for (i, &(drug, start)) in starts.iter().enumerate() {
        if start > last_day {
            break;
        }
        let end = starts.get(i + 1).map(|s| s.1).unwrap_or(f64::INFINITY);
        let before = traj.days.partition_point(|&d| d <= start);
        let at_start = before.checked_sub(1).map(|k| model.observe(&traj.states[k]));
        let within = PatientOutcome::between(model, traj, start, end, &cfg);
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
