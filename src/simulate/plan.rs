//! Running a regimen whose courses may wait behind lab gates.
//!
//! [`run_plan`] walks the courses in order. A course without a gate is scheduled at its planned start. A
//! gated course is decided at a visit on its planned start day: the simulation is advanced to the visit, the
//! count is read (optionally with multiplicative log-normal measurement noise drawn from the patient's own
//! stream), and the course either starts, waits for the next visit, or — when the allowed delay is used up —
//! is stopped together with every later course of its drug (or given anyway, if the gate says so).

use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

use super::{SimOptions, Simulator};
use crate::error::Result;
use crate::model::state::FullState;
use crate::model::Model;
use crate::regimen::{events_from, Administration, DoseEvent, Drug, OnFail, Regimen};
use crate::solver::SolverStats;

/// Receives a plan's observations and course decisions, in time order.
pub trait PlanObserver {
    /// The state at an observation day.
    fn observe(&mut self, day: f64, state: &FullState);
    /// A course has been scheduled to start on `day` (called before any observation after `day`).
    fn course_started(&mut self, _course: usize, _drug: Drug, _day: f64) {}
    /// A course was cancelled by its gate on `day`.
    fn course_stopped(&mut self, _course: usize, _drug: Drug, _day: f64) {}
}

/// What happened to one course.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CourseRecord {
    /// Index of the course in the regimen.
    pub course: usize,
    /// The drug.
    pub drug: Drug,
    /// Planned start (day), from the actual start of the previous course.
    pub planned_start: f64,
    /// Actual start (day), if the course was given within the horizon.
    pub start: Option<f64>,
    /// Days the gate delayed the course.
    pub delay_days: f64,
    /// Whether a gate cancelled the course.
    pub stopped: bool,
    /// Number of visits at which the gate was checked.
    pub visits: u32,
}

/// The outcome of running a plan.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanRun {
    /// One record per course.
    pub courses: Vec<CourseRecord>,
    /// The doses actually given.
    pub administrations: Vec<Administration>,
    /// Integrator work.
    pub stats: SolverStats,
}

fn insert_sorted(events: &mut Vec<DoseEvent>, new: Vec<DoseEvent>) {
    events.extend(new);
    events.sort_by(|a, b| a.day.total_cmp(&b.day));
}

/// Simulates `regimen` (gates included) to `horizon`, reporting observations at `obs` days (sorted).
#[allow(clippy::too_many_arguments)]
pub fn run_plan<R: Rng + ?Sized>(
    model: &Model,
    regimen: &Regimen,
    horizon: f64,
    obs: &[f64],
    opts: &SimOptions,
    noise_cv: f64,
    rng: &mut R,
    observer: &mut dyn PlanObserver,
) -> Result<PlanRun> {
    regimen.administrations()?; // validates everything, as planned
    let noise_sd = (1.0 + noise_cv * noise_cv).ln().sqrt();
    let mut sim = Simulator::new(model, opts)?;
    let mut events: Vec<DoseEvent> = Vec::new();
    let mut given: Vec<Administration> = Vec::new();
    let mut records = Vec::with_capacity(regimen.courses.len());
    let mut stopped: Vec<Drug> = Vec::new();
    let mut prev: Option<(f64, f64)> = None;

    for (ci, sc) in regimen.courses.iter().enumerate() {
        let drug = sc.course.drug;
        let planned = sc.start.resolve(prev);
        let mut rec = CourseRecord {
            course: ci,
            drug,
            planned_start: planned,
            start: None,
            delay_days: 0.0,
            stopped: false,
            visits: 0,
        };
        if stopped.contains(&drug) {
            rec.stopped = true;
            records.push(rec);
            continue;
        }
        if planned >= horizon {
            records.push(rec);
            continue;
        }
        let mut start = Some(planned);
        if let Some(gate) = &sc.gate {
            let mut visit = planned.max(sim.time());
            loop {
                sim.advance(visit, &events, obs, &mut |d, y| observer.observe(d, y))?;
                rec.visits += 1;
                let truth = gate.observable.of(&model.observe(&sim.state()));
                let measured = if noise_cv > 0.0 {
                    let z: f64 = StandardNormal.sample(rng);
                    truth * (noise_sd * z - 0.5 * noise_sd * noise_sd).exp()
                } else {
                    truth
                };
                if measured >= gate.min_cells_per_ul {
                    start = Some(visit);
                    break;
                }
                let next = visit + gate.recheck_every_days;
                if next > planned + gate.max_delay_days + 1e-9 || next >= horizon {
                    start = match gate.on_fail {
                        OnFail::Proceed if next <= planned + gate.max_delay_days + gate.recheck_every_days => {
                            Some(visit)
                        }
                        _ => None,
                    };
                    break;
                }
                visit = next;
            }
            if start.is_none() {
                rec.stopped = true;
                stopped.push(drug);
                observer.course_stopped(ci, drug, visit);
                records.push(rec);
                continue;
            }
        }
        let s = start.expect("set above");
        rec.start = Some(s);
        rec.delay_days = s - planned;
        observer.course_started(ci, drug, s);
        let admins = regimen.course_administrations(ci, s);
        let end = admins.iter().map(Administration::end_day).fold(s, f64::max);
        insert_sorted(&mut events, events_from(&admins));
        given.extend(admins);
        prev = Some((s, end));
        records.push(rec);
    }
    sim.advance(horizon, &events, obs, &mut |d, y| observer.observe(d, y))?;
    given.sort_by(|a, b| a.day.total_cmp(&b.day));
    Ok(PlanRun {
        courses: records,
        administrations: given,
        stats: sim.stats(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::population::rng::patient_rng;
    use crate::regimen::presets::{self, PresetOptions};
    use crate::regimen::LabelRules;
    use crate::simulate::{simulate, Problem};

    struct Collect(Vec<(f64, FullState)>);
    impl PlanObserver for Collect {
        fn observe(&mut self, day: f64, state: &FullState) {
            self.0.push((day, *state));
        }
    }

    #[test]
    fn ungated_plan_matches_the_plain_simulation() {
        let m = Model::reference_v1();
        let r = presets::build("sequence", &PresetOptions::default()).unwrap();
        let obs: Vec<f64> = (0..=2000).map(|d| d as f64).collect();
        let mut c = Collect(Vec::new());
        let run = run_plan(
            &m,
            &r,
            2000.0,
            &obs,
            &SimOptions::default(),
            0.0,
            &mut patient_rng(0, 0),
            &mut c,
        )
        .unwrap();
        let t = simulate(&Problem::new(m.clone(), &r, 2000.0).unwrap(), &SimOptions::default()).unwrap();
        assert_eq!(c.0.len(), t.days.len());
        for ((d, y), (d2, y2)) in c.0.iter().zip(t.days.iter().zip(&t.states)) {
            assert_eq!(d, d2);
            for i in 0..y.len() {
                assert!(
                    (y[i] - y2[i]).abs() <= 1e-6 * y2[i].abs().max(1.0),
                    "day {d} state {i}: {} vs {}",
                    y[i],
                    y2[i]
                );
            }
        }
        assert!(run.courses.iter().all(|c| c.delay_days == 0.0 && !c.stopped));
    }

    #[test]
    fn label_rules_delay_an_early_switch() {
        // Six months after alemtuzumab course 2 the typical ALC is below the LLN (822 cells/uL), so year 1 of
        // cladribine waits for monthly visits until ALC is normal.
        let m = Model::reference_v1();
        let r = LabelRules::default()
            .apply(presets::sequence(70.0, 6.0).unwrap())
            .unwrap();
        let mut c = Collect(Vec::new());
        let run = run_plan(
            &m,
            &r,
            2500.0,
            &[],
            &SimOptions::default(),
            0.0,
            &mut patient_rng(0, 0),
            &mut c,
        )
        .unwrap();
        let y1 = run.courses.iter().find(|c| c.drug == Drug::Cladribine).unwrap();
        assert!(y1.delay_days > 0.0 && !y1.stopped, "{y1:?}");
        assert!(y1.visits >= 2);
        // Week 2 moves with week 1.
        let w2 = run.courses[y1.course + 1];
        assert!((w2.start.unwrap() - y1.start.unwrap() - crate::units::months(1.0)).abs() < 1e-9);
        // At the start, ALC is at least the LLN.
        let alc_at = |day: f64| {
            let t = simulate(
                &Problem::new(m.clone(), &presets::alemtuzumab_label(), day + 1.0)
                    .unwrap()
                    .with_observation_days(vec![day])
                    .unwrap(),
                &SimOptions::default(),
            )
            .unwrap();
            m.observe(&t.states[0]).alc
        };
        assert!(alc_at(y1.start.unwrap()) >= 1000.0);
        assert!(alc_at(y1.start.unwrap() - crate::units::months(1.0)) < 1000.0);
    }

    #[test]
    fn a_gate_that_never_passes_stops_the_drug() {
        let m = Model::reference_v1();
        let rules = LabelRules {
            lln: 5000.0,
            ..Default::default()
        };
        let r = rules.apply(presets::sequence(70.0, 12.0).unwrap()).unwrap();
        let mut c = Collect(Vec::new());
        let run = run_plan(
            &m,
            &r,
            3000.0,
            &[],
            &SimOptions::default(),
            0.0,
            &mut patient_rng(0, 0),
            &mut c,
        )
        .unwrap();
        assert!(run
            .courses
            .iter()
            .filter(|c| c.drug == Drug::Cladribine)
            .all(|c| c.stopped && c.start.is_none()));
        assert!(run.administrations.iter().all(|a| a.drug == Drug::Alemtuzumab));
    }
}
