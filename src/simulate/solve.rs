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
use crate::regimen::{events_from, Administration, DoseEvent, Drug, OnFail};

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
    let model = &problem.model;
    let regimen = &problem.regimen;
    let horizon = problem.horizon_days;
    let obs: &[f64] = &problem.observation_days;
    let noise_cv = problem.lab_noise_cv;
    let noise_sd = (1.0 + noise_cv * noise_cv).ln().sqrt();

    let mut sim = Simulator::new(model, opts)?;
    sim.drugs_observed = observer.observes_drugs();
    let mut events: Vec<DoseEvent> = Vec::new();
    let mut given: Vec<Administration> = Vec::new();
    let mut records = Vec::with_capacity(regimen.courses.len());
    let mut stopped: Vec<Drug> = Vec::new();
    // End of the last course given, per drug (the "no overlap" rule).
    let mut last_end: Vec<(Drug, f64)> = Vec::new();
    let mut prev: Option<(f64, f64)> = None;
    let feed =
        |sim: &mut Simulator, events: &[DoseEvent], to: f64, observer: &mut O| sim.advance(to, events, obs, observer);

    for (ci, sc) in regimen.courses.iter().enumerate() {
        let drug = sc.course.drug;
        let planned = sc.start.resolve(prev);
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
        if stopped.contains(&drug) {
            rec.fate = CourseFate::StoppedWithDrug;
            records.push(rec);
            continue;
        }
        let same_drug_end = last_end
            .iter()
            .filter(|(d, _)| *d == drug)
            .map(|(_, e)| *e)
            .fold(f64::NEG_INFINITY, f64::max);
        let earliest = sim.time().max(same_drug_end);
        let mut first_check = planned;
        if earliest > planned {
            first_check = earliest;
            rec.fate = CourseFate::Moved;
        }
        if first_check >= horizon {
            rec.fate = CourseFate::BeyondHorizon;
            prev = Some((first_check, first_check + span));
            records.push(rec);
            continue;
        }
        let mut start = Some(first_check);
        if let Some(gate) = &sc.gate {
            let mut visit = first_check;
            loop {
                feed(&mut sim, &events, visit, observer)?;
                rec.visits += 1;
                let truth = gate.observable.of(&model.observe(&sim.state()));
                let measured = if noise_cv > 0.0 {
                    let z: f64 = StandardNormal.sample(rng);
                    truth * (noise_sd * z - 0.5 * noise_sd * noise_sd).exp()
                } else {
                    truth
                };
                if measured >= gate.threshold(visit == first_check) {
                    start = Some(visit);
                    break;
                }
                let next = visit + gate.recheck_every_days;
                if next > first_check + gate.max_delay_days + 1e-9 {
                    let proceed = gate.on_fail == OnFail::Proceed
                        && next <= first_check + gate.max_delay_days + gate.recheck_every_days;
                    start = proceed.then_some(visit);
                    break;
                }
                observer.on_course_delayed(ci, drug, visit, measured);
                if next >= horizon {
                    // Still waiting at the horizon: undecided, not cancelled.
                    start = None;
                    visit = next;
                    rec.fate = CourseFate::BeyondHorizon;
                    break;
                }
                visit = next;
            }
            if rec.fate == CourseFate::BeyondHorizon {
                prev = Some((visit, visit + span));
                records.push(rec);
                continue;
            }
            match start {
                None => {
                    rec.fate = CourseFate::StoppedByGate;
                    rec.stopped_on = Some(visit);
                    stopped.push(drug);
                    observer.on_course_stopped(ci, drug, visit);
                    records.push(rec);
                    continue;
                }
                Some(s) if s > first_check => rec.fate = CourseFate::Delayed,
                Some(_) => {}
            }
        }
        let s = start.unwrap_or(first_check);
        if s < sim.time() {
            // Cannot happen by the rules above; refuse rather than drop doses silently.
            return Err(Error::invalid(
                format!("courses[{ci}] start"),
                s,
                format!(
                    "lies before the simulated day {} (internal placement error)",
                    sim.time()
                ),
            ));
        }
        rec.start = Some(s);
        rec.delay_days = s - planned;
        observer.on_course_started(ci, drug, s);
        let admins: Vec<Administration> = regimen
            .course_administrations(ci, s)
            .into_iter()
            .filter(|a| a.day < horizon)
            .collect();
        rec.doses_given = admins.len();
        let end = s + span;
        insert_sorted(&mut events, events_from(&admins));
        given.extend(admins);
        last_end.retain(|(d, _)| *d != drug);
        last_end.push((drug, end));
        prev = Some((s, end));
        records.push(rec);
    }
    feed(&mut sim, &events, horizon, observer)?;
    given.sort_by(|a, b| a.day.total_cmp(&b.day));
    let run = RunRecord {
        courses: records,
        administrations: given,
        stats: sim.stats(),
    };
    observer.on_finish(&run);
    Ok(run)
}
