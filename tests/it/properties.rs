//! Property tests over random valid regimens and patients on the exact-PK path: no negative state, every dose
//! the regimen plans is given, moved with its course or recorded as not given — and what the events put in
//! equals what the regimen says — and an untreated patient stays at baseline.

use lymphosim::model::state::FullState;
use lymphosim::prelude::*;
use lymphosim::regimen::{events_from, EventAction};
use lymphosim::simulate::{CourseFate, ObserveFn};
use lymphosim::units::hours;
use proptest::prelude::*;

#[derive(Debug, Clone)]
struct CourseSpec {
    alemtuzumab: bool,
    days: usize,
    mg: f64,
    infusion_hours: f64,
    gap_days: f64,
    gate: Option<(f64, f64, f64)>,
}

fn course_spec() -> impl Strategy<Value = CourseSpec> {
    (
        any::<bool>(),
        1usize..=5,
        5.0f64..20.0,
        2.0f64..8.0,
        0.0f64..400.0,
        prop::option::of((200.0f64..1500.0, 7.0f64..60.0, 0.0f64..300.0)),
    )
        .prop_map(|(alemtuzumab, days, mg, infusion_hours, gap_days, gate)| CourseSpec {
            alemtuzumab,
            days,
            mg,
            infusion_hours,
            gap_days,
            gate,
        })
}

/// Courses placed one after the other's end (so no two courses overlap as planned), some behind a gate.
fn regimen(specs: &[CourseSpec], first_day: f64) -> Regimen {
    let mut r = Regimen::default();
    for (i, c) in specs.iter().enumerate() {
        let course = if c.alemtuzumab {
            Course::infusion_daily(
                format!("c{i}"),
                Drug::Alemtuzumab,
                c.days,
                c.mg,
                hours(c.infusion_hours),
            )
        } else {
            Course::oral_daily(format!("c{i}"), Drug::Cladribine, &vec![c.mg; c.days])
        };
        let start = if i == 0 {
            Start::AtDay(first_day)
        } else {
            Start::AfterPreviousEnd(c.gap_days.max(1.0))
        };
        r.push(start, course);
        r.courses[i].gate = c.gate.map(|(min, recheck, max_delay)| Gate {
            observable: Count::Alc,
            min_cells_per_ul: min,
            resume_cells_per_ul: None,
            recheck_every_days: recheck,
            max_delay_days: max_delay,
            on_fail: if min > 1200.0 { OnFail::Proceed } else { OnFail::Stop },
        });
    }
    r
}

fn patient(seed: u64) -> Model {
    let p = PopulationModel::shipped().sample(seed, &mut patient_rng(seed, 0));
    Model::new(p.params).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// No state goes negative, and the doses given are exactly the regimen's doses of the courses that were
    /// given, shifted to their actual start and cut at the horizon.
    #[test]
    fn doses_are_conserved_and_states_stay_non_negative(
        specs in prop::collection::vec(course_spec(), 1..5),
        first_day in 0.0f64..200.0,
        horizon_fraction in 0.05f64..1.3,
        seed in 0u64..10_000,
        noise in prop::option::of(0.05f64..0.5),
    ) {
        let r = regimen(&specs, first_day);
        // The horizon falls anywhere from early in the plan to past its end, often inside a course.
        let last = r.administrations().unwrap().iter().map(|a| a.end_day()).fold(0.0, f64::max);
        let horizon = (horizon_fraction * (last + 5.0)).max(1.0);
        let mut problem = Problem::new(patient(seed), &r, horizon).unwrap();
        if let Some(cv) = noise {
            problem = problem.with_lab_noise_cv(cv).unwrap();
        }
        let mut worst: f64 = 0.0;
        let mut obs = ObserveFn(|_, y: &FullState| {
            for v in y {
                worst = worst.min(*v);
            }
        });
        let run = solve(&problem, &SimOptions::default(), &mut patient_rng(seed, 1), &mut obs).unwrap();
        prop_assert!(worst >= -1e-6, "a state went negative: {worst}");
        for c in &run.courses {
            let planned = &r.courses[c.course].course;
            let given: Vec<_> = run.administrations.iter().filter(|a| a.course == c.course).collect();
            match (c.fate, c.start) {
                (CourseFate::OnTime | CourseFate::Delayed | CourseFate::Moved, Some(start)) => {
                    let expected: Vec<f64> = planned
                        .doses
                        .iter()
                        .map(|d| start + d.offset_days)
                        .filter(|&d| d < horizon)
                        .collect();
                    prop_assert_eq!(given.iter().map(|a| a.day).collect::<Vec<_>>(), expected);
                    prop_assert!(given.iter().zip(&planned.doses).all(|(a, d)| a.amount_mg == d.amount_mg));
                    prop_assert!(start >= c.planned_start);
                }
                (fate, start) => {
                    prop_assert!(given.is_empty(), "{fate:?} gave doses");
                    prop_assert!(start.is_none());
                    prop_assert!(fate != CourseFate::OnTime);
                }
            }
        }
        // What the events put in equals what was given.
        let events = events_from(&run.administrations);
        let mut event_mg = 0.0;
        for e in &events {
            match e.action {
                EventAction::OralDose { amount_mg } => event_mg += amount_mg,
                EventAction::InfusionStart { rate_mg_per_day } => {
                    let stop = events.iter().find(|s| {
                        s.day > e.day
                            && matches!(s.action, EventAction::InfusionStop { rate_mg_per_day: r } if r == rate_mg_per_day)
                    });
                    event_mg += rate_mg_per_day * (stop.map_or(e.day, |s| s.day) - e.day);
                }
                EventAction::InfusionStop { .. } => {}
            }
        }
        let given_mg: f64 = run.administrations.iter().map(|a| a.amount_mg).sum();
        prop_assert!((event_mg - given_mg).abs() <= 1e-9 * given_mg.max(1.0), "{event_mg} vs {given_mg}");
    }

    /// An untreated patient stays at its own baseline, whatever its parameters.
    #[test]
    fn an_untreated_patient_stays_at_baseline(seed in 0u64..100_000, horizon in 10.0f64..4000.0) {
        let model = patient(seed);
        let base = model.initial_state();
        let problem = Problem::new(model, Regimen::untreated(), horizon).unwrap();
        let t = simulate(&problem, &SimOptions::default()).unwrap();
        for y in &t.states {
            for (v, b) in y.iter().zip(&base) {
                prop_assert!((v - b).abs() <= 1e-9 * b.abs().max(1.0), "{v} vs baseline {b}");
            }
        }
    }
}
