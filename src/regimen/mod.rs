//! Regimens as data: doses grouped in courses, courses placed in time, expanded to sorted dose events.
//!
//! * A [`Dose`] is one administration inside a course: a day offset from the course start, an amount in mg
//!   and a [`Route`] (an IV infusion with its duration, or an oral tablet dose).
//! * A [`Course`] is a named block of doses of one [`Drug`] (e.g. "alemtuzumab course 1": 12 mg on 5
//!   consecutive days, or "cladribine year 1, week 1").
//! * A [`Regimen`] places courses in time with a [`Start`]: at an absolute day, or a gap after the previous
//!   course's start or end. Sequences of drugs are regimens joined with [`Regimen::then`].
//! * [`Regimen::administrations`] validates and resolves everything to absolute days;
//!   [`Regimen::events`] expands administrations to sorted [`DoseEvent`]s (oral doses; infusion start and
//!   stop), each of which is a stop for the integrator.
//!
//! [`presets`] builds the label and trial regimens by stable name; [`event_table`] writes and reads them as a
//! NONMEM-style CSV.

pub mod event_table;
mod gate;
pub mod presets;
pub mod weight_band;

pub use crate::model::Count;
pub use gate::{Gate, LabelRules, OnFail, Rules, TrialProtocol, MAX_GATE_DAYS, MIN_RECHECK_DAYS};

use std::fmt;

/// A drug the model knows (`alemtuzumab` or `cladribine` in files).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Drug {
    /// Alemtuzumab (LEMTRADA), IV infusion into the central compartment `AA`.
    Alemtuzumab,
    /// Cladribine tablets (MAVENCLAD), oral dose into the gut compartment `G`.
    Cladribine,
}

impl fmt::Display for Drug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Drug::Alemtuzumab => "alemtuzumab",
            Drug::Cladribine => "cladribine",
        })
    }
}

/// How a dose is given.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Route {
    /// Constant-rate IV infusion lasting `duration_days` (> 0).
    Infusion {
        /// Infusion duration (days); a 4-hour infusion is `units::hours(4.0)`.
        duration_days: f64,
    },
    /// Oral dose; the model's bioavailability is applied once, when the dose enters the gut.
    Oral,
}

/// One administration inside a course.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Dose {
    /// Day offset from the start of the course (days, ≥ 0).
    pub offset_days: f64,
    /// Nominal amount (mg, > 0), before bioavailability.
    pub amount_mg: f64,
    /// Route of administration.
    pub route: Route,
}

impl Dose {
    /// Offset from the course start at which this dose has been fully given (days): the end of an infusion,
    /// or the offset itself for an oral dose.
    pub fn end_offset_days(&self) -> f64 {
        match self.route {
            Route::Infusion { duration_days } => self.offset_days + duration_days,
            Route::Oral => self.offset_days,
        }
    }
}

/// A named block of doses of one drug.
#[derive(Debug, Clone, PartialEq)]
pub struct Course {
    /// Human-readable name, used in error messages and outputs.
    pub name: String,
    /// The drug given.
    pub drug: Drug,
    /// The doses, with offsets from the course start.
    pub doses: Vec<Dose>,
}

impl Course {
    /// A course of `amounts_mg[i]` given orally on consecutive days starting at offset 0.
    pub fn oral_daily(name: impl Into<String>, drug: Drug, amounts_mg: &[f64]) -> Self {
        Course {
            name: name.into(),
            drug,
            doses: amounts_mg
                .iter()
                .enumerate()
                .map(|(i, &a)| Dose {
                    offset_days: i as f64,
                    amount_mg: a,
                    route: Route::Oral,
                })
                .collect(),
        }
    }

    /// A course of `days` daily infusions of `amount_mg` each lasting `duration_days`.
    pub fn infusion_daily(
        name: impl Into<String>,
        drug: Drug,
        days: usize,
        amount_mg: f64,
        duration_days: f64,
    ) -> Self {
        Course {
            name: name.into(),
            drug,
            doses: (0..days)
                .map(|i| Dose {
                    offset_days: i as f64,
                    amount_mg,
                    route: Route::Infusion { duration_days },
                })
                .collect(),
        }
    }

    /// Total nominal amount of the course (mg).
    pub fn total_mg(&self) -> f64 {
        self.doses.iter().map(|d| d.amount_mg).sum()
    }
}

/// Where a course starts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Start {
    /// At an absolute day of the simulation (≥ 0).
    AtDay(f64),
    /// This many days after the previous course's start (≥ 0).
    AfterPreviousStart(f64),
    /// This many days after the previous course's end — the moment its last dose has been fully given
    /// (the end of the last infusion, or the last oral dose) (≥ 0).
    AfterPreviousEnd(f64),
}

/// A course placed in time, optionally behind a lab gate.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduledCourse {
    /// When the course starts (if its gate lets it).
    pub start: Start,
    /// The course.
    pub course: Course,
    /// A lab rule checked at the planned start; `None` starts the course unconditionally.
    pub gate: Option<Gate>,
}

/// A treatment plan: courses placed in time.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Regimen {
    /// Name of the regimen (a preset name or the user's).
    pub name: String,
    /// The courses, in the order their starts are resolved.
    pub courses: Vec<ScheduledCourse>,
}

impl From<&Regimen> for Regimen {
    fn from(r: &Regimen) -> Self {
        r.clone()
    }
}

impl Start {
    /// The start day, given the previous course's (start, end) if there is one.
    pub fn resolve(self, prev: Option<(f64, f64)>) -> f64 {
        match (self, prev) {
            (Start::AtDay(d), _) => d,
            (Start::AfterPreviousStart(g), Some((s, _))) => s + g,
            (Start::AfterPreviousEnd(g), Some((_, e))) => e + g,
            (Start::AfterPreviousStart(g) | Start::AfterPreviousEnd(g), None) => g,
        }
    }
}

/// One administration at an absolute time, after validation.
#[derive(Debug, Clone, PartialEq)]
pub struct Administration {
    /// Start of the administration (day).
    pub day: f64,
    /// The drug.
    pub drug: Drug,
    /// Nominal amount (mg).
    pub amount_mg: f64,
    /// Route.
    pub route: Route,
    /// Index of the course in the regimen.
    pub course: usize,
}

impl Administration {
    /// Time at which the administration is complete (day).
    pub fn end_day(&self) -> f64 {
        match self.route {
            Route::Infusion { duration_days } => self.day + duration_days,
            Route::Oral => self.day,
        }
    }
}

/// What happens at a dose event.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum EventAction {
    /// An oral cladribine dose of this nominal amount (mg) enters the gut (× bioavailability).
    OralDose {
        /// Nominal amount (mg).
        amount_mg: f64,
    },
    /// An alemtuzumab infusion starts: the infusion rate rises by this much (mg/day).
    InfusionStart {
        /// Rate (mg/day).
        rate_mg_per_day: f64,
    },
    /// An alemtuzumab infusion ends: the infusion rate falls by this much (mg/day).
    InfusionStop {
        /// Rate (mg/day).
        rate_mg_per_day: f64,
    },
}

/// A dose event at an absolute time; every event time is a solver stop.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DoseEvent {
    /// Time of the event (day).
    pub day: f64,
    /// What happens.
    pub action: EventAction,
}

/// A regimen that cannot be built or expanded, naming the offending field and value.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum RegimenError {
    /// A number is out of range; `path` names the field (e.g. `courses[1] "year 2, week 1".doses[0].amount_mg`).
    #[error("{path}: must be {requirement}, got {value}")]
    InvalidValue {
        /// Where the value sits.
        path: String,
        /// The value.
        value: f64,
        /// What was expected.
        requirement: &'static str,
    },
    /// Cladribine tablets are not studied below 40 kg; the dose is not extrapolated.
    #[error("weight_kg: cladribine tablets are dosed by weight band from 40 kg; {weight_kg} kg is below the label's lowest band (not studied, not extrapolated)")]
    WeightBelowLabel {
        /// The weight given (kg).
        weight_kg: f64,
    },
    /// A course has no doses.
    #[error("{path}: a course needs at least one dose")]
    EmptyCourse {
        /// Which course.
        path: String,
    },
    /// A drug given by a route the model does not support.
    #[error("{path}: {drug} cannot be given as {route} in this model")]
    UnsupportedRoute {
        /// Which dose.
        path: String,
        /// The drug.
        drug: Drug,
        /// The route, in words.
        route: &'static str,
    },
    /// Two courses of the same drug overlap in time.
    #[error("courses {first:?} and {second:?} of {drug} overlap: the second starts on day {second_start} before the first ends on day {first_end}")]
    OverlappingCourses {
        /// The drug.
        drug: Drug,
        /// The earlier course.
        first: String,
        /// The later course.
        second: String,
        /// End of the earlier course (day).
        first_end: f64,
        /// Start of the later course (day).
        second_start: f64,
    },
    /// No preset has this name.
    #[error("unknown preset {name:?}; known presets: {known}")]
    UnknownPreset {
        /// The name given.
        name: String,
        /// The names that exist.
        known: String,
    },
    /// A row of an event table is malformed.
    #[error("event table line {line}: {message}")]
    EventTable {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

fn check(path: impl FnOnce() -> String, value: f64, ok: bool, requirement: &'static str) -> Result<(), RegimenError> {
    if ok && value.is_finite() {
        Ok(())
    } else {
        Err(RegimenError::InvalidValue {
            path: path(),
            value,
            requirement,
        })
    }
}

impl Regimen {
    /// An empty regimen (an untreated patient).
    pub fn untreated() -> Self {
        Regimen {
            name: "untreated".into(),
            courses: Vec::new(),
        }
    }

    /// Appends a course.
    pub fn push(&mut self, start: Start, course: Course) -> &mut Self {
        self.courses.push(ScheduledCourse {
            start,
            course,
            gate: None,
        });
        self
    }

    /// Builder form of [`Regimen::push`].
    pub fn with(mut self, start: Start, course: Course) -> Self {
        self.push(start, course);
        self
    }

    /// This regimen followed by `next`, whose first course starts at `start` (relative to this regimen's last
    /// course); `next`'s later courses keep their own starts. An `AtDay` start inside `next` stays absolute.
    pub fn then(mut self, start: Start, next: Regimen) -> Self {
        let mut iter = next.courses.into_iter();
        if let Some(first) = iter.next() {
            self.courses.push(ScheduledCourse { start, ..first });
        }
        self.courses.extend(iter);
        self.name = format!("{} then {}", self.name, next.name);
        self
    }

    /// Validates the regimen and resolves every dose to an absolute day, sorted by time, as planned (gates
    /// passing at the first visit).
    ///
    /// Rejects negative, zero or non-finite amounts, negative or non-finite offsets and gaps, zero-length
    /// infusions, empty courses, alemtuzumab given orally, cladribine infused, overlapping courses of the same
    /// drug, and invalid gates.
    pub fn administrations(&self) -> Result<Vec<Administration>, RegimenError> {
        let mut out = Vec::new();
        let mut prev: Option<(f64, f64)> = None;
        let mut spans: Vec<(Drug, f64, f64, &str)> = Vec::new();
        for ci in 0..self.courses.len() {
            self.validate_course(ci)?;
            let c = &self.courses[ci].course;
            let start = self.courses[ci].start.resolve(prev);
            let admins = self.course_administrations(ci, start);
            let first_day = admins.iter().map(|a| a.day).fold(f64::INFINITY, f64::min);
            let end = admins.iter().map(Administration::end_day).fold(start, f64::max);
            for &(drug, s, e, name) in &spans {
                if drug == c.drug && first_day < e && s < end {
                    return Err(RegimenError::OverlappingCourses {
                        drug,
                        first: name.to_string(),
                        second: c.name.clone(),
                        first_end: e,
                        second_start: first_day,
                    });
                }
            }
            spans.push((c.drug, first_day, end, &c.name));
            prev = Some((start, end));
            out.extend(admins);
        }
        out.sort_by(|a, b| a.day.total_cmp(&b.day));
        Ok(out)
    }

    /// Checks one course's numbers, routes and gate.
    pub fn validate_course(&self, ci: usize) -> Result<(), RegimenError> {
        let sc = &self.courses[ci];
        let c = &sc.course;
        let cpath = || format!("courses[{ci}] {:?}", c.name);
        let (start_value, start_field) = match sc.start {
            Start::AtDay(d) => (d, "start.at_day"),
            Start::AfterPreviousStart(g) => (g, "start.after_previous_start_days"),
            Start::AfterPreviousEnd(g) => (g, "start.after_previous_end_days"),
        };
        check(
            || format!("{}.{start_field}", cpath()),
            start_value,
            start_value >= 0.0,
            "a finite number of days >= 0",
        )?;
        if c.doses.is_empty() {
            return Err(RegimenError::EmptyCourse { path: cpath() });
        }
        for (di, d) in c.doses.iter().enumerate() {
            let dpath = |field: &str| format!("{}.doses[{di}].{field}", cpath());
            check(
                || dpath("amount_mg"),
                d.amount_mg,
                d.amount_mg > 0.0,
                "a finite amount > 0 mg",
            )?;
            check(
                || dpath("offset_days"),
                d.offset_days,
                d.offset_days >= 0.0,
                "a finite offset >= 0 days",
            )?;
            match (c.drug, d.route) {
                (Drug::Alemtuzumab, Route::Infusion { duration_days }) => check(
                    || dpath("infusion_duration_days"),
                    duration_days,
                    duration_days > 0.0,
                    "a finite infusion duration > 0 days",
                )?,
                (Drug::Alemtuzumab, Route::Oral) => {
                    return Err(RegimenError::UnsupportedRoute {
                        path: dpath("route"),
                        drug: c.drug,
                        route: "an oral dose",
                    })
                }
                (Drug::Cladribine, Route::Infusion { .. }) => {
                    return Err(RegimenError::UnsupportedRoute {
                        path: dpath("route"),
                        drug: c.drug,
                        route: "an IV infusion",
                    })
                }
                (Drug::Cladribine, Route::Oral) => {}
            }
        }
        if let Some(g) = &sc.gate {
            g.validate(&format!("{}.gate", cpath()))?;
        }
        Ok(())
    }

    /// The administrations of course `ci` if it starts on day `start`.
    pub fn course_administrations(&self, ci: usize, start: f64) -> Vec<Administration> {
        let c = &self.courses[ci].course;
        c.doses
            .iter()
            .map(|d| Administration {
                day: start + d.offset_days,
                drug: c.drug,
                amount_mg: d.amount_mg,
                route: d.route,
                course: ci,
            })
            .collect()
    }

    /// Validated, sorted dose events (oral doses, infusion starts and stops).
    pub fn events(&self) -> Result<Vec<DoseEvent>, RegimenError> {
        Ok(events_from(&self.administrations()?))
    }

    /// Total nominal amount of `drug` over the regimen (mg).
    pub fn total_mg(&self, drug: Drug) -> f64 {
        self.courses
            .iter()
            .filter(|c| c.course.drug == drug)
            .map(|c| c.course.total_mg())
            .sum()
    }
}

/// Expands administrations into sorted dose events. Stops sort before starts at the same time, so
/// back-to-back infusions never double the rate.
pub fn events_from(admins: &[Administration]) -> Vec<DoseEvent> {
    let mut ev = Vec::with_capacity(admins.len() * 2);
    for a in admins {
        match a.route {
            Route::Oral => ev.push(DoseEvent {
                day: a.day,
                action: EventAction::OralDose { amount_mg: a.amount_mg },
            }),
            Route::Infusion { duration_days } => {
                let rate = a.amount_mg / duration_days;
                ev.push(DoseEvent {
                    day: a.day,
                    action: EventAction::InfusionStart { rate_mg_per_day: rate },
                });
                ev.push(DoseEvent {
                    day: a.day + duration_days,
                    action: EventAction::InfusionStop { rate_mg_per_day: rate },
                });
            }
        }
    }
    let order = |e: &DoseEvent| match e.action {
        EventAction::InfusionStop { .. } => 0,
        EventAction::InfusionStart { .. } => 1,
        EventAction::OralDose { .. } => 2,
    };
    ev.sort_by(|a, b| a.day.total_cmp(&b.day).then(order(a).cmp(&order(b))));
    ev
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::units::hours;

    fn alem(days: usize, mg: f64) -> Course {
        Course::infusion_daily("a", Drug::Alemtuzumab, days, mg, hours(4.0))
    }

    #[test]
    fn bad_doses_name_their_field() {
        let r = Regimen::default().with(Start::AtDay(0.0), alem(5, -3.0));
        let e = r.administrations().unwrap_err().to_string();
        assert!(e.contains("doses[0].amount_mg") && e.contains("-3"), "{e}");

        let r = Regimen::default().with(Start::AtDay(0.0), alem(5, f64::NAN));
        assert!(r.administrations().unwrap_err().to_string().contains("NaN"));

        let r = Regimen::default().with(
            Start::AtDay(0.0),
            Course::infusion_daily("z", Drug::Alemtuzumab, 1, 12.0, 0.0),
        );
        let e = r.administrations().unwrap_err().to_string();
        assert!(e.contains("infusion_duration_days"), "{e}");

        let r = Regimen::default().with(Start::AtDay(-1.0), alem(1, 12.0));
        assert!(r.administrations().unwrap_err().to_string().contains("start.at_day"));
    }

    #[test]
    fn overlapping_courses_of_one_drug_are_rejected() {
        let r = Regimen::default()
            .with(Start::AtDay(0.0), alem(5, 12.0))
            .with(Start::AfterPreviousStart(2.0), alem(3, 12.0));
        assert!(matches!(
            r.administrations(),
            Err(RegimenError::OverlappingCourses { .. })
        ));
        // Different drugs may overlap.
        let r = Regimen::default().with(Start::AtDay(0.0), alem(5, 12.0)).with(
            Start::AfterPreviousStart(1.0),
            Course::oral_daily("c", Drug::Cladribine, &[10.0]),
        );
        assert!(r.administrations().is_ok());
    }

    #[test]
    fn starts_resolve_from_previous_start_or_end() {
        let r = Regimen::default()
            .with(Start::AtDay(10.0), alem(5, 12.0))
            .with(
                Start::AfterPreviousEnd(30.0),
                Course::oral_daily("c", Drug::Cladribine, &[10.0]),
            )
            .with(
                Start::AfterPreviousStart(28.0),
                Course::oral_daily("c2", Drug::Cladribine, &[10.0]),
            );
        let a = r.administrations().unwrap();
        let end_alem = 14.0 + hours(4.0);
        assert!((a[5].day - (end_alem + 30.0)).abs() < 1e-9);
        assert!((a[6].day - (end_alem + 58.0)).abs() < 1e-9);
    }

    #[test]
    fn infusion_expands_to_start_and_stop() {
        let r = Regimen::default().with(Start::AtDay(0.0), alem(2, 12.0));
        let ev = r.events().unwrap();
        assert_eq!(ev.len(), 4);
        assert_eq!(ev[0].action, EventAction::InfusionStart { rate_mg_per_day: 72.0 });
        assert_eq!(ev[1].day, hours(4.0));
    }
}
