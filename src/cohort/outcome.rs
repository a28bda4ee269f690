//! Per-patient outcomes, tracked while the patient is simulated.
//!
//! Outcomes count from a reference day ([`Reference`]): the start of treatment, the switch to the second drug
//! (its first dose, after any delay by a lab gate — or, if a gate cancelled it, the day of that decision), or a
//! fixed day. Observations are daily, so "days at grade ≥ 3" is a count of daily observations.

use crate::model::state::FullState;
use crate::model::{GradeScale, Model, Observables};
use crate::outcome::{Nadir, CD4_PROPHYLAXIS_THRESHOLD};
use crate::regimen::{Drug, Observable};
use crate::simulate::PlanObserver;

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
    pub observable: Observable,
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
    fn default() -> Self {
        OutcomeConfig {
            scale: GradeScale::default(),
            reference: Reference::Switch,
            recoveries: vec![
                Recovery {
                    observable: Observable::Alc,
                    threshold: Threshold::Lln,
                },
                Recovery {
                    observable: Observable::Cd4,
                    threshold: Threshold::Cells(CD4_PROPHYLAXIS_THRESHOLD),
                },
                Recovery {
                    observable: Observable::Cd19,
                    threshold: Threshold::FractionOfBaseline(0.5),
                },
            ],
        }
    }
}

/// The subsets whose nadirs are reported.
pub const NADIR_SUBSETS: [Observable; 4] = [Observable::Alc, Observable::Cd4, Observable::Cd8, Observable::Cd19];

/// Outcomes of one patient on one arm.
#[derive(Debug, Clone, PartialEq)]
pub struct PatientOutcome {
    /// Reference day actually used.
    pub reference_day: f64,
    /// Counts at the reference day (ALC, CD4, CD8, CD19, NK), before any dose that day.
    pub at_reference: [f64; 5],
    /// Nadirs from the reference day (ALC, CD4, CD8, CD19).
    pub nadir: [Nadir; 4],
    /// Worst CTCAE grade from the reference day.
    pub worst_grade: u8,
    /// Days at grade ≥ 2, ≥ 3 and 4.
    pub days_grade_ge2: u32,
    /// Days at grade ≥ 3.
    pub days_grade_ge3: u32,
    /// Days at grade 4.
    pub days_grade4: u32,
    /// Days with CD4 below 200 cells/µL.
    pub days_cd4_below_200: u32,
    /// Days from the reference day until the count is back at or above each configured threshold after first
    /// falling below it (0 if it never fell below; `None` if it had not come back by the horizon: censored).
    pub recovery_days: Vec<Option<u32>>,
    /// Whether any course was delayed by a gate, and the total delay (days).
    pub delay_days: f64,
    /// Whether a gate cancelled a course.
    pub stopped: bool,
}

#[derive(Debug, Clone, Copy)]
enum RecoveryState {
    NotBelowYet,
    Below,
    Recovered(u32),
}

/// Accumulates one patient's outcomes from the observations of a plan run.
pub struct OutcomeTracker<'a> {
    model: &'a Model,
    cfg: &'a OutcomeConfig,
    reference_course: Option<usize>,
    reference_day: Option<f64>,
    last: Option<(f64, Observables)>,
    out: PatientOutcome,
    recovery: Vec<RecoveryState>,
    thresholds: Vec<f64>,
    /// Values at band days (ALC, CD4, CD8, CD19, NK) and the grade, kept until the patient succeeds.
    pub band_values: Vec<([f64; 5], u8)>,
    band_step: f64,
    delayed_total: f64,
}

fn values(o: &Observables) -> [f64; 5] {
    [o.alc, o.cd4, o.cd8, o.cd19, o.nk]
}

impl<'a> OutcomeTracker<'a> {
    /// A tracker for `model`; `reference_course` is the course whose start defines the reference day (for
    /// [`Reference::Switch`]); `band_step` is the spacing of band days.
    pub fn new(model: &'a Model, cfg: &'a OutcomeConfig, reference_course: Option<usize>, band_step: f64) -> Self {
        let base = model.observe(&model.initial_state());
        let thresholds = cfg
            .recoveries
            .iter()
            .map(|r| match r.threshold {
                Threshold::Cells(c) => c,
                Threshold::FractionOfBaseline(f) => f * r.observable.of(&base),
                Threshold::Lln => cfg.scale.lln(),
            })
            .collect();
        let reference_day = match cfg.reference {
            Reference::Start => Some(0.0),
            Reference::Day(d) => Some(d),
            Reference::Switch if reference_course.is_none() => Some(0.0),
            Reference::Switch => None,
        };
        let nadir = Nadir {
            value: f64::INFINITY,
            day: f64::NAN,
        };
        OutcomeTracker {
            model,
            cfg,
            reference_course,
            reference_day,
            last: None,
            out: PatientOutcome {
                reference_day: f64::NAN,
                at_reference: [f64::NAN; 5],
                nadir: [nadir; 4],
                worst_grade: 0,
                days_grade_ge2: 0,
                days_grade_ge3: 0,
                days_grade4: 0,
                days_cd4_below_200: 0,
                recovery_days: vec![None; cfg.recoveries.len()],
                delay_days: 0.0,
                stopped: false,
            },
            recovery: vec![RecoveryState::NotBelowYet; cfg.recoveries.len()],
            thresholds,
            band_values: Vec::new(),
            band_step,
            delayed_total: 0.0,
        }
    }

    fn set_reference(&mut self, day: f64) {
        if self.reference_day.is_none() {
            self.reference_day = Some(day);
            if let Some((d, o)) = self.last {
                if d >= day {
                    self.count(d, &o);
                }
            }
        }
    }

    fn count(&mut self, day: f64, o: &Observables) {
        let r = self.reference_day.expect("called after the reference is known");
        if self.out.reference_day.is_nan() {
            self.out.reference_day = r;
            self.out.at_reference = values(o);
        }
        let v = values(o);
        for (k, sub) in NADIR_SUBSETS.iter().enumerate() {
            let x = sub.of(o);
            if x < self.out.nadir[k].value {
                self.out.nadir[k] = Nadir { value: x, day };
            }
        }
        let g = self.cfg.scale.grade(v[0]).value();
        self.out.worst_grade = self.out.worst_grade.max(g);
        self.out.days_grade_ge2 += (g >= 2) as u32;
        self.out.days_grade_ge3 += (g >= 3) as u32;
        self.out.days_grade4 += (g == 4) as u32;
        self.out.days_cd4_below_200 += (o.cd4 < CD4_PROPHYLAXIS_THRESHOLD) as u32;
        for (i, rec) in self.cfg.recoveries.iter().enumerate() {
            let x = rec.observable.of(o);
            let below = x < self.thresholds[i];
            self.recovery[i] = match (self.recovery[i], below) {
                (RecoveryState::NotBelowYet, false) => RecoveryState::NotBelowYet,
                (RecoveryState::NotBelowYet | RecoveryState::Below, true) => RecoveryState::Below,
                (RecoveryState::Below, false) => RecoveryState::Recovered((day - r).round().max(0.0) as u32),
                (done @ RecoveryState::Recovered(_), _) => done,
            };
        }
    }

    /// The finished outcome.
    pub fn finish(mut self) -> PatientOutcome {
        for (i, s) in self.recovery.iter().enumerate() {
            self.out.recovery_days[i] = match s {
                RecoveryState::Recovered(d) => Some(*d),
                RecoveryState::NotBelowYet => Some(0),
                RecoveryState::Below => None,
            };
        }
        self.out.delay_days = self.delayed_total;
        self.out
    }

    /// Records the delay of a course (days).
    pub fn add_delay(&mut self, days: f64) {
        self.delayed_total += days;
    }
}

impl PlanObserver for OutcomeTracker<'_> {
    fn observe(&mut self, day: f64, state: &FullState) {
        let o = self.model.observe(state);
        if self.band_step > 0.0 && (day / self.band_step).fract() == 0.0 {
            self.band_values.push((values(&o), self.cfg.scale.grade(o.alc).value()));
        }
        self.last = Some((day, o));
        if let Some(r) = self.reference_day {
            if day >= r {
                self.count(day, &o);
            }
        }
    }

    fn course_started(&mut self, course: usize, _drug: Drug, day: f64) {
        if Some(course) == self.reference_course {
            self.set_reference(day);
        }
    }

    fn course_stopped(&mut self, course: usize, _drug: Drug, day: f64) {
        self.out.stopped = true;
        if Some(course) == self.reference_course {
            self.set_reference(day);
        }
    }
}
