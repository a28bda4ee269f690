//! The core: one problem, one solve, observers, one outcome engine, cohorts built in code.

use lymphosim::outcome::switch_course;
use lymphosim::prelude::*;
use lymphosim::regimen::Count;
use lymphosim::simulate::CourseFate;
use lymphosim::units::months;

fn gated_sequence(interval_months: f64) -> Regimen {
    LabelRules::default()
        .apply(presets::sequence(70.0, interval_months).unwrap())
        .unwrap()
}

/// One alemtuzumab course, then a cladribine week on day 60 (deep in the alemtuzumab trough).
fn alemtuzumab_then_cladribine_on_day_60() -> Regimen {
    Regimen::default()
        .with(
            Start::AtDay(0.0),
            Course::infusion_daily("alem", Drug::Alemtuzumab, 5, 12.0, 1.0 / 6.0),
        )
        .with(
            Start::AtDay(60.0),
            Course::oral_daily("c1", Drug::Cladribine, &[10.0; 5]),
        )
}

/// `simulate` honours a lab gate: a month after alemtuzumab course 2 the typical ALC is far below the LLN, so
/// year 1 of cladribine waits; the first tablet in the trajectory's record is on the delayed day, when ALC ≥ LLN.
#[test]
fn simulate_honours_a_gate() {
    let p = Problem::new(Model::shipped(), gated_sequence(1.0), 2500.0).unwrap();
    let t = simulate(&p, &SimOptions::default()).unwrap();
    let y1 = t.run.courses.iter().find(|c| c.drug == Drug::Cladribine).unwrap();
    assert_eq!(y1.fate, CourseFate::Delayed, "{y1:?}");
    assert!(y1.delay_days > 0.0 && y1.visits >= 2);
    let start = y1.start.unwrap();
    let first_tablet = t
        .run
        .administrations
        .iter()
        .find(|a| a.drug == Drug::Cladribine)
        .unwrap();
    assert_eq!(first_tablet.day, start);
    // Week 2 moves with week 1.
    let w2 = t.run.courses[y1.course + 1];
    assert!((w2.start.unwrap() - start - months(1.0)).abs() < 1e-9);
    let obs = t.observables(p.model());
    let at = |day: f64| obs[t.days.iter().position(|&d| d == day.floor()).unwrap()].alc;
    assert!(at(start.floor()) >= 1000.0 || at(start.ceil()) >= 1000.0);
    assert!(at((start - months(1.0)).floor()) < 1000.0);
}

/// A gate that never passes stops the drug; the record says which rule cancelled each course.
#[test]
fn a_gate_that_never_passes_stops_the_drug() {
    let rules = LabelRules {
        lln: 5000.0,
        ..Default::default()
    };
    let r = rules.apply(presets::sequence(70.0, 12.0).unwrap()).unwrap();
    let t = simulate(
        &Problem::new(Model::shipped(), r, 3000.0).unwrap(),
        &SimOptions::default(),
    )
    .unwrap();
    let clad: Vec<_> = t.run.courses.iter().filter(|c| c.drug == Drug::Cladribine).collect();
    assert_eq!(clad[0].fate, CourseFate::StoppedByGate);
    assert!(clad[0].stopped_on.is_some());
    assert!(clad[1..]
        .iter()
        .all(|c| c.fate == CourseFate::StoppedWithDrug && c.start.is_none()));
    assert!(t.run.administrations.iter().all(|a| a.drug == Drug::Alemtuzumab));
}

/// Every planned dose is given, moved with its course, or not given for a named reason: for patients of a
/// cohort on CLARITY's schedule under the label rules with noisy lab counts (so that year 2 is often delayed),
/// the doses given add up to the plan course by course.
#[test]
fn no_planned_dose_vanishes_when_a_gate_delays_a_course() {
    let pop = PopulationModel::shipped();
    let mut delayed = 0;
    for id in 0..60 {
        let mut rng = patient_rng(11, id);
        let patient = pop.sample(id, &mut rng);
        let Ok(plan) = presets::clarity_3_5(patient.weight_kg.max(40.0)) else {
            continue;
        };
        let r = LabelRules::default().apply(plan).unwrap();
        let p = Problem::new(Model::new(patient.params).unwrap(), &r, 1200.0)
            .unwrap()
            .with_lab_noise_cv(0.3)
            .unwrap();
        let run = solve(&p, &SimOptions::default(), &mut rng, &mut lymphosim::simulate::Discard).unwrap();
        for c in &run.courses {
            let given = run.administrations.iter().filter(|a| a.course == c.course).count();
            assert_eq!(given, c.doses_given);
            match c.fate {
                CourseFate::OnTime | CourseFate::Delayed | CourseFate::Moved => {
                    assert_eq!(c.doses_given, c.doses_planned, "patient {id}: {c:?}")
                }
                _ => assert_eq!(c.doses_given, 0, "patient {id}: {c:?}"),
            }
        }
        if run
            .courses
            .iter()
            .any(|c| c.fate == CourseFate::Delayed && c.course >= 2)
        {
            delayed += 1;
            // Cycle 4 still follows cycle 3 by the planned 28 days.
            let (c3, c4) = (run.courses[2], run.courses[3]);
            if let (Some(a), Some(b)) = (c3.start, c4.start) {
                assert!((b - a - 28.0).abs() < 1e-9);
            }
        }
    }
    assert!(
        delayed > 0,
        "no patient had a delayed year 2: the test exercises nothing"
    );
}

/// A course fixed at an absolute day that an earlier delayed course has overtaken is moved, whole, to the
/// first day it can be given — never silently dropped.
#[test]
fn a_fixed_course_overtaken_by_a_delay_is_moved_whole() {
    let mut r = alemtuzumab_then_cladribine_on_day_60().with(
        Start::AtDay(90.0),
        Course::oral_daily("c2", Drug::Cladribine, &[10.0; 5]),
    );
    r.courses[1].gate = Some(Gate {
        observable: Count::Alc,
        min_cells_per_ul: 800.0,
        resume_cells_per_ul: None,
        recheck_every_days: 30.0,
        max_delay_days: 400.0,
        on_fail: OnFail::Stop,
    });
    let t = simulate(
        &Problem::new(Model::shipped(), r, 900.0).unwrap(),
        &SimOptions::default(),
    )
    .unwrap();
    let (c1, c2) = (t.run.courses[1], t.run.courses[2]);
    assert_eq!(c1.fate, CourseFate::Delayed);
    assert!(c1.start.unwrap() > 90.0, "{c1:?}");
    assert_eq!(c2.fate, CourseFate::Moved);
    assert!(c2.start.unwrap() >= c1.start.unwrap() + 4.0, "{c2:?}");
    assert_eq!(c2.doses_given, 5);
    let mg: f64 = t
        .run
        .administrations
        .iter()
        .filter(|a| a.drug == Drug::Cladribine)
        .map(|a| a.amount_mg)
        .sum();
    assert_eq!(mg, 100.0);
}

/// A course planned at or after the horizon still places the courses after it: relative placement never
/// depends on the horizon (courses on days 0 and 400, then +28 days, horizon 300: only the first is given).
#[test]
fn relative_placement_does_not_depend_on_the_horizon() {
    let week = |n: &str| Course::oral_daily(n, Drug::Cladribine, &[10.0; 5]);
    let r = Regimen::default()
        .with(Start::AtDay(0.0), week("a"))
        .with(Start::AtDay(400.0), week("b"))
        .with(Start::AfterPreviousStart(28.0), week("c"));
    let t = simulate(
        &Problem::new(Model::shipped(), &r, 300.0).unwrap(),
        &SimOptions::default(),
    )
    .unwrap();
    assert_eq!(t.run.courses[1].fate, CourseFate::BeyondHorizon);
    assert_eq!(t.run.courses[2].fate, CourseFate::BeyondHorizon);
    assert_eq!(t.run.courses[2].planned_start, 428.0);
    assert!(t.run.administrations.iter().all(|a| a.course == 0));
}

/// A switch after the horizon is *not reached*: no window, counted as such, and no risk is computed from it.
#[test]
fn a_switch_beyond_the_horizon_is_not_reached_never_a_zero_risk() {
    let run = Cohort::new(PopulationModel::shipped())
        .arm("late", |p: &Patient| presets::sequence(p.weight_kg.max(40.0), 36.0))
        .patients(20)
        .horizon_years(3.0)
        .run()
        .unwrap();
    let s = &run.summary()[0];
    assert_eq!(s.not_reached, 20);
    assert_eq!(s.analysed, 0);
    assert!(s.p_grade_ge3.value.is_nan());
    assert_eq!(s.nadir[1].1.p50, None);
    let json = serde_json::to_value(s).unwrap();
    assert!(json["p_grade_ge3"]["value"].is_null(), "{}", json["p_grade_ge3"]);
}

/// One engine: for every preset, the outcome a cohort records for a patient equals the outcome of that
/// patient simulated alone and replayed from its stored trajectory, field by field.
#[test]
fn single_patient_and_cohort_outcomes_agree_for_every_preset() {
    let cfg = OutcomeConfig::default();
    for name in presets::NAMES {
        let run = Cohort::new(PopulationModel::shipped())
            .arm(
                name,
                lymphosim::cohort::ArmRegimen::Preset {
                    name: name.to_string(),
                    interval_months: 9.0,
                },
            )
            .label_rules(LabelRules::default())
            .patients(3)
            .horizon_years(4.0)
            .band_step_days(30.0)
            .per_patient(true)
            .run()
            .unwrap();
        let arm = &run.spec.arms[0];
        for row in &run.result.rows {
            let Some(cohort_outcome) = &row.outcome else { continue };
            let regimen = arm.regimen_for(&row.patient).unwrap();
            let problem =
                Problem::new(Model::new(row.patient.params.clone()).unwrap(), &regimen, 4.0 * 365.25).unwrap();
            let t = simulate(&problem, &SimOptions::default()).unwrap();
            let alone = PatientOutcome::from_trajectory(problem.model(), &t, &cfg, &regimen);
            assert_eq!(
                alone.window, cohort_outcome.window,
                "{name}, patient {}",
                row.patient.id
            );
            assert_eq!(alone.delay_days, cohort_outcome.delay_days);
            assert_eq!(alone.stopped, cohort_outcome.stopped);
            assert_eq!(switch_course(&regimen).is_some(), name != "untreated");
        }
    }
}

/// The scratch test of the builder: a cohort study written only against the prelude, reading P(grade ≥ 3) with
/// its interval and what it counts from.
#[test]
fn a_cohort_study_from_the_prelude_alone() -> lymphosim::Result<()> {
    let run = Cohort::new(PopulationModel::shipped())
        .arm("cladribine alone", |p: &Patient| presets::cladribine_label(p.weight_kg))
        .label_rules(LabelRules::default())
        .arm("after alemtuzumab, 12 months", |p: &Patient| {
            presets::sequence(p.weight_kg, 12.0)
        })
        .label_rules(LabelRules::default())
        .patients(48)
        .seed(2026)
        .horizon_years(5.0)
        .threads(2)
        .run()?;
    let summary = run.summary();
    assert_eq!(summary.len(), 2);
    for arm in &summary {
        let p = arm.p_grade_ge3;
        assert!(arm.analysed + arm.excluded + arm.failed + arm.not_reached <= 48 + arm.not_reached);
        assert_eq!(p.count as f64 / arm.analysed as f64, p.value);
        assert!(p.ci95[0] <= p.value && p.value <= p.ci95[1]);
    }
    assert_eq!(summary[1].name, "after alemtuzumab, 12 months");
    Ok(())
}

/// Arm names must be unique (two arms writing to one figure file otherwise).
#[test]
fn duplicate_arm_names_are_an_error() {
    let e = Cohort::new(PopulationModel::shipped())
        .arm("a", Regimen::untreated())
        .arm("a", Regimen::untreated())
        .run()
        .unwrap_err()
        .to_string();
    assert!(e.contains("arms[1].name") && e.contains("unique"), "{e}");
}

/// Unbounded inputs are refused with the field and value, before any work.
#[test]
fn out_of_range_inputs_name_the_field() {
    let e = Problem::new(Model::shipped(), Regimen::untreated(), 1e9)
        .unwrap_err()
        .to_string();
    assert!(e.contains("horizon_days") && e.contains("1000000000"), "{e}");
    let mut r = presets::cladribine_label(70.0).unwrap();
    r.courses[0].gate = Some(Gate {
        observable: Count::Alc,
        min_cells_per_ul: 800.0,
        resume_cells_per_ul: None,
        recheck_every_days: 1e-300,
        max_delay_days: 100.0,
        on_fail: OnFail::Stop,
    });
    let e = Problem::new(Model::shipped(), r, 100.0).unwrap_err().to_string();
    assert!(e.contains("recheck_every_days"), "{e}");
    let e = Cohort::new(PopulationModel::shipped())
        .arm("x", Regimen::untreated())
        .threads(100_000)
        .run()
        .unwrap_err()
        .to_string();
    assert!(e.contains("threads"), "{e}");
}

/// A trial protocol's gate holds at one count and resumes at a higher one: a cladribine week 60 days after
/// alemtuzumab under the CLARITY protocol (hold below 500, give at ≥ 800, visits every 28 days) is held at the
/// first visit, and given at the first visit with ALC ≥ 800 — not at an earlier one with ALC in [500, 800).
#[test]
fn trial_protocol_holds_at_grade_3_and_resumes_at_grade_1() {
    let r = alemtuzumab_then_cladribine_on_day_60();
    let protocol = TrialProtocol::clarity();
    let r = protocol.apply(r).unwrap();
    let gate = r.courses[1].gate.unwrap();
    assert_eq!((gate.min_cells_per_ul, gate.resume_cells_per_ul), (500.0, Some(800.0)));
    assert!(r.courses[0].gate.is_none(), "alemtuzumab is not gated");
    let model = Model::shipped();
    let t = simulate(&Problem::new(model.clone(), r, 900.0).unwrap(), &SimOptions::default()).unwrap();
    let alc = |day: f64| {
        let k = t.days.iter().position(|d| *d == day).unwrap();
        model.observe(&t.states[k]).alc
    };
    let c = t.run.courses[1];
    assert_eq!(c.fate, CourseFate::Delayed, "{c:?}");
    let start = c.start.unwrap();
    assert!(alc(60.0) < 500.0);
    assert!(alc(start) >= 800.0, "given at ALC {}", alc(start));
    let visits: Vec<f64> = (0..c.visits).map(|k| 60.0 + 28.0 * k as f64).collect();
    assert_eq!(*visits.last().unwrap(), start);
    for &v in &visits[..visits.len() - 1] {
        assert!(alc(v) < 800.0, "held at ALC {} on day {v}", alc(v));
    }
    // The hysteresis matters here: some held visit had ALC >= 500, where a single 500 threshold would have dosed.
    assert!(
        visits[1..visits.len() - 1].iter().any(|&v| alc(v) >= 500.0),
        "no held visit between 500 and 800: {:?}",
        visits.iter().map(|&v| alc(v)).collect::<Vec<_>>()
    );
}
