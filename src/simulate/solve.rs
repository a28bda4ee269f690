//! [`solve`]: the one way a patient is simulated, lab gates and all.
//!
//! The courses of the regimen are walked in order. Each course's planned start is resolved from the previous
//! course ([`crate::regimen::Start`]); then these rules decide when — and whether — it is given. Every
//! planned dose ends up *given*, *moved* with its course, or *not given* for a named reason
//! ([`CourseFate`]); none disappears.
//!
//! 1. **Stopped drug.** If a gate cancelled an earlier course of the same drug, the course is not given
//!    ([`CourseFate::StoppedWithDrug`]).
//! 2. **Beyond the horizon.** A course whose start falls at or after the horizon is not simulated
//!    ([`CourseFate::BeyondHorizon`]); it still counts as "the previous course" for the courses after it, so a
//!    relative placement never depends on the horizon.
//! 3. **Moved.** A course cannot start before the simulation has reached its start (an earlier course's gate
//!    may have held the simulation at a later visit) nor before the previous course of the same drug has
//!    ended (a delay may push two courses of one drug into each other). It then starts at the first day it
//!    can ([`CourseFate::Moved`]), with all its doses, and later courses placed relative to it move with it.
//!    Presets place every course relative to the one before it, so the cycles of a treatment year move
//!    together and this rule only applies to user regimens with absolute days.
//! 4. **Gate.** A gated course is decided at a visit on its (possibly moved) start day: the simulation is
//!    advanced to the visit and the count is read — with multiplicative log-normal measurement noise of
//!    coefficient of variation [`Problem::lab_noise_cv`], drawn from the patient's stream. If the count passes
//!    the course starts; if not, the visit is repeated every `recheck_every_days`
//!    ([`CourseFate::Delayed`]). When the allowed delay is used up the course is cancelled together with every
//!    later course of its drug ([`CourseFate::StoppedByGate`]), or given anyway ([`crate::regimen::OnFail`]).
//!    A course still waiting when the horizon is reached is [`CourseFate::BeyondHorizon`], not stopped.
//!
//! An observation at a dose or visit day sees the state before the dose (a trough sample).

use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

use super::observer::{CourseFate, CourseRecord, Observer, RunRecord};
use super::{Problem, SimOptions, Simulator};
use crate::error::{Error, Result};
use crate::model::state::FullState;
use crate::regimen::{events_from, Administration, DoseEvent, Drug, OnFail};
use crate::solver::SolverStats;

fn insert_sorted(events: &mut Vec<DoseEvent>, new: Vec<DoseEvent>) {
    events.extend(new);
    events.sort_by(|a, b| a.day.total_cmp(&b.day));
}

/// Simulates `problem` — gates, delays and stops included — handing every observation and course decision to
/// `observer`. `rng` is the patient's own stream; it is read only for lab measurement noise.
pub fn solve<R, O>(problem: &Problem, opts: &SimOptions, rng: &mut R, observer: &mut O) -> Result<RunRecord>
where
    R: Rng + ?Sized,
    O: Observer + ?Sized,
{
    let propagator = Simulator::propagator_for(problem.model(), opts)?;
    let mut sim = Simulator::new(problem.model(), propagator.as_ref(), opts)?;
    sim.drugs_observed = observer.observes_drugs();
    let mut plan = CoursePlan::new(problem);
    loop {
        match plan.next(sim.time(), &sim.state(), rng, observer)? {
            PlanStep::AdvanceTo(to) => {
                sim.advance(to, plan.events(), problem.observation_days(), observer)?;
            }
            PlanStep::Done => return Ok(plan.finish(sim.stats(), observer)),
        }
    }
}

/// What the course rules need next ([`CoursePlan::next`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum PlanStep {
    /// Advance the simulation to this day (applying [`CoursePlan::events`] before it), then ask again with the
    /// state there.
    AdvanceTo(f64),
    /// The horizon is reached and every course is decided: call [`CoursePlan::finish`].
    Done,
}

/// A gated course waiting for the count read at its next visit.
struct GateWait {
    ci: usize,
    rec: CourseRecord,
    first_check: f64,
    visit: f64,
    span: f64,
}

/// The course rules of [`solve`] as a resumable state machine: it walks the regimen's courses and says where the
/// simulation must go next; at a gate visit it reads the state it is handed. Between two calls the caller
/// advances its simulation (one patient on its own in [`solve`], or one lane of a batch) to the day asked for.
pub(crate) struct CoursePlan<'p> {
    problem: &'p Problem,
    noise_sd: f64,
    /// Next course to place.
    ci: usize,
    events: Vec<DoseEvent>,
    given: Vec<Administration>,
    records: Vec<CourseRecord>,
    stopped: Vec<Drug>,
    /// End of the last course given, per drug (the "no overlap" rule).
    last_end: Vec<(Drug, f64)>,
    prev: Option<(f64, f64)>,
    waiting: Option<GateWait>,
    at_horizon: bool,
}

impl<'p> CoursePlan<'p> {
    /// The rules for `problem`, before the first course.
    pub(crate) fn new(problem: &'p Problem) -> Self {
        let cv = problem.lab_noise_cv;
        CoursePlan {
            problem,
            noise_sd: (1.0 + cv * cv).ln().sqrt(),
            ci: 0,
            events: Vec::new(),
            given: Vec::new(),
            records: Vec::with_capacity(problem.regimen.courses.len()),
            stopped: Vec::new(),
            last_end: Vec::new(),
            prev: None,
            waiting: None,
            at_horizon: false,
        }
    }

    /// The dose events of the courses started so far, sorted by day.
    pub(crate) fn events(&self) -> &[DoseEvent] {
        &self.events
    }

    /// Decides what comes next, the simulation being at day `now` in `state` (the state before any event due
    /// at `now`).
    pub(crate) fn next<R, O>(&mut self, now: f64, state: &FullState, rng: &mut R, observer: &mut O) -> Result<PlanStep>
    where
        R: Rng + ?Sized,
        O: Observer + ?Sized,
    {
        if let Some(w) = self.waiting.take() {
            if let Some(w) = self.read_gate(w, now, state, rng, observer)? {
                let visit = w.visit;
                self.waiting = Some(w);
                return Ok(PlanStep::AdvanceTo(visit));
            }
        }
        let regimen = &self.problem.regimen;
        let horizon = self.problem.horizon_days;
        while self.ci < regimen.courses.len() {
            let ci = self.ci;
            self.ci += 1;
            let sc = &regimen.courses[ci];
            let drug = sc.course.drug;
            let planned = sc.start.resolve(self.prev);
            let span = sc.course.doses.iter().map(|d| d.end_offset_days()).fold(0.0, f64::max);
            let mut rec = CourseRecord {
                course: ci,
                drug,
                planned_start: planned,
                start: None,
                delay_days: 0.0,
                fate: CourseFate::OnTime,
                stopped_on: None,
                visits: 0,
                doses_planned: sc.course.doses.len(),
                doses_given: 0,
            };
            if self.stopped.contains(&drug) {
                rec.fate = CourseFate::StoppedWithDrug;
                self.records.push(rec);
                continue;
            }
            let same_drug_end = self
                .last_end
                .iter()
                .filter(|(d, _)| *d == drug)
                .map(|(_, e)| *e)
                .fold(f64::NEG_INFINITY, f64::max);
            let earliest = now.max(same_drug_end);
            let mut first_check = planned;
            if earliest > planned {
                first_check = earliest;
                rec.fate = CourseFate::Moved;
            }
            if first_check >= horizon {
                rec.fate = CourseFate::BeyondHorizon;
                self.prev = Some((first_check, first_check + span));
                self.records.push(rec);
                continue;
            }
            if sc.gate.is_some() {
                self.waiting = Some(GateWait {
                    ci,
                    rec,
                    first_check,
                    visit: first_check,
                    span,
                });
                return Ok(PlanStep::AdvanceTo(first_check));
            }
            self.give(rec, first_check, span, now, observer)?;
        }
        if !self.at_horizon {
            self.at_horizon = true;
            return Ok(PlanStep::AdvanceTo(horizon));
        }
        Ok(PlanStep::Done)
    }

    /// Reads the gate of a waiting course at its visit `w.visit` (= `now`); returns the course still waiting
    /// (for its next visit) or `None` once it is decided.
    fn read_gate<R, O>(
        &mut self,
        mut w: GateWait,
        now: f64,
        state: &FullState,
        rng: &mut R,
        observer: &mut O,
    ) -> Result<Option<GateWait>>
    where
        R: Rng + ?Sized,
        O: Observer + ?Sized,
    {
        let problem = self.problem;
        let gate = problem.regimen.courses[w.ci]
            .gate
            .as_ref()
            .expect("only gated courses wait");
        let drug = w.rec.drug;
        let visit = w.visit;
        w.rec.visits += 1;
        let truth = gate.observable.of(&problem.model.observe(state));
        let measured = if problem.lab_noise_cv > 0.0 {
            let sd = self.noise_sd;
            let z: f64 = StandardNormal.sample(rng);
            truth * (sd * z - 0.5 * sd * sd).exp()
        } else {
            truth
        };
        let start = if measured >= gate.threshold(visit == w.first_check) {
            Some(visit)
        } else {
            let next = visit + gate.recheck_every_days;
            if next > w.first_check + gate.max_delay_days + 1e-9 {
                let proceed = gate.on_fail == OnFail::Proceed
                    && next <= w.first_check + gate.max_delay_days + gate.recheck_every_days;
                proceed.then_some(visit)
            } else {
                observer.on_course_delayed(w.ci, drug, visit, measured);
                if next >= problem.horizon_days {
                    // Still waiting at the horizon: undecided, not cancelled.
                    w.rec.fate = CourseFate::BeyondHorizon;
                    self.prev = Some((next, next + w.span));
                    self.records.push(w.rec);
                    return Ok(None);
                }
                w.visit = next;
                return Ok(Some(w));
            }
        };
        match start {
            None => {
                w.rec.fate = CourseFate::StoppedByGate;
                w.rec.stopped_on = Some(visit);
                self.stopped.push(drug);
                observer.on_course_stopped(w.ci, drug, visit);
                self.records.push(w.rec);
            }
            Some(s) => {
                if s > w.first_check {
                    w.rec.fate = CourseFate::Delayed;
                }
                self.give(w.rec, s, w.span, now, observer)?;
            }
        }
        Ok(None)
    }

    /// Starts course `rec.course` on day `s`: its doses before the horizon join the events.
    fn give<O: Observer + ?Sized>(
        &mut self,
        mut rec: CourseRecord,
        s: f64,
        span: f64,
        now: f64,
        observer: &mut O,
    ) -> Result<()> {
        let ci = rec.course;
        if s < now {
            // Cannot happen by the rules above; refuse rather than drop doses silently.
            return Err(Error::invalid(
                format!("courses[{ci}] start"),
                s,
                format!("lies before the simulated day {now} (internal placement error)"),
            ));
        }
        let horizon = self.problem.horizon_days;
        rec.start = Some(s);
        rec.delay_days = s - rec.planned_start;
        observer.on_course_started(ci, rec.drug, s);
        let admins: Vec<Administration> = self
            .problem
            .regimen
            .course_administrations(ci, s)
            .into_iter()
            .filter(|a| a.day < horizon)
            .collect();
        rec.doses_given = admins.len();
        let end = s + span;
        insert_sorted(&mut self.events, events_from(&admins));
        self.given.extend(admins);
        self.last_end.retain(|(d, _)| *d != rec.drug);
        self.last_end.push((rec.drug, end));
        self.prev = Some((s, end));
        self.records.push(rec);
        Ok(())
    }

    /// The run's record, once [`CoursePlan::next`] said [`PlanStep::Done`]; hands it to the observer too.
    pub(crate) fn finish<O: Observer + ?Sized>(self, stats: SolverStats, observer: &mut O) -> RunRecord {
        let mut given = self.given;
        given.sort_by(|a, b| a.day.total_cmp(&b.day));
        let run = RunRecord {
            courses: self.records,
            administrations: given,
            stats,
        };
        observer.on_finish(&run);
        run
    }
}
