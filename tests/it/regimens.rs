//! Regimen expansion and validation.

use lymphosim::prelude::*;
use lymphosim::regimen::weight_band::{daily_split, BANDS};
use lymphosim::regimen::{RegimenError, Route};
use lymphosim::units::{hours, months};

/// Every weight band expands to the label's tablets per week and daily split, in both years.
#[test]
fn cladribine_label_expands_to_the_weight_band_table() {
    let table: [(f64, u8, u8); 8] = [
        (45.0, 4, 4),
        (55.0, 5, 5),
        (65.0, 6, 6),
        (75.0, 7, 7),
        (85.0, 8, 7),
        (95.0, 9, 8),
        (105.0, 10, 9),
        (130.0, 10, 10),
    ];
    assert_eq!(table.len(), BANDS.len());
    for (w, wk1, wk2) in table {
        let a = presets::cladribine_label(w).unwrap().administrations().unwrap();
        let week_starts = [0.0, months(1.0), months(12.0), months(13.0)];
        let per_week = [wk1, wk2, wk1, wk2];
        let mut i = 0;
        for (start, tablets) in week_starts.iter().zip(per_week) {
            for (d, n) in daily_split(tablets).into_iter().enumerate() {
                let x = &a[i];
                assert!(
                    (x.day - (start + d as f64)).abs() < 1e-9,
                    "{w} kg: dose {i} on day {}",
                    x.day
                );
                assert_eq!(x.amount_mg, 10.0 * n as f64, "{w} kg: dose {i}");
                assert_eq!(x.route, Route::Oral);
                i += 1;
            }
        }
        assert_eq!(i, a.len(), "{w} kg: extra doses");
    }
}

#[test]
fn below_forty_kilograms_is_refused_for_every_cladribine_preset() {
    for name in ["cladribine-label", "clarity-3.5", "sequence"] {
        let e = presets::build(
            name,
            &PresetOptions {
                weight_kg: 39.5,
                ..Default::default()
            },
        )
        .unwrap_err();
        assert!(
            matches!(e, RegimenError::WeightBelowLabel { weight_kg } if weight_kg == 39.5),
            "{name}: {e}"
        );
        assert!(e.to_string().contains("39.5"), "{e}");
    }
    // Alemtuzumab is not weight-banded.
    assert!(presets::build(
        "alemtuzumab-label",
        &PresetOptions {
            weight_kg: 39.5,
            ..Default::default()
        }
    )
    .is_ok());
}

#[test]
fn alemtuzumab_label_is_five_then_three_infusions() {
    let a = presets::alemtuzumab_label().administrations().unwrap();
    assert_eq!(a.len(), 8);
    for (i, x) in a.iter().enumerate() {
        let expected_day = if i < 5 { i as f64 } else { months(12.0) + (i - 5) as f64 };
        assert!((x.day - expected_day).abs() < 1e-9);
        assert_eq!(x.amount_mg, 12.0);
        assert_eq!(
            x.route,
            Route::Infusion {
                duration_days: hours(4.0)
            }
        );
    }
}

#[test]
fn clarity_cycles_start_on_the_trial_days() {
    let r = presets::clarity_3_5(80.0).unwrap();
    assert!((r.total_mg(Drug::Cladribine) - 3.5 * 80.0).abs() < 1e-9);
    let a = r.administrations().unwrap();
    let starts: Vec<f64> = a.iter().step_by(5).map(|x| x.day).collect();
    assert_eq!(starts, vec![0.0, 28.0, 329.0, 357.0]);
}

#[test]
fn invalid_regimens_are_rejected_with_the_field() {
    let alem = |mg: f64, dur: f64| Course::infusion_daily("c", Drug::Alemtuzumab, 3, mg, dur);
    let cases: Vec<(Regimen, &str)> = vec![
        (
            Regimen::default().with(Start::AtDay(0.0), alem(-12.0, 0.2)),
            "amount_mg",
        ),
        (
            Regimen::default().with(Start::AtDay(0.0), alem(f64::NAN, 0.2)),
            "amount_mg",
        ),
        (
            Regimen::default().with(Start::AtDay(0.0), alem(12.0, 0.0)),
            "infusion_duration_days",
        ),
        (
            Regimen::default().with(Start::AtDay(0.0), alem(12.0, f64::INFINITY)),
            "infusion_duration_days",
        ),
        (
            Regimen::default()
                .with(Start::AtDay(0.0), alem(12.0, 0.2))
                .with(Start::AfterPreviousStart(1.0), alem(12.0, 0.2)),
            "overlap",
        ),
        (
            Regimen::default().with(
                Start::AtDay(0.0),
                Course {
                    name: "e".into(),
                    drug: Drug::Cladribine,
                    doses: vec![],
                },
            ),
            "at least one dose",
        ),
        (
            Regimen::default().with(Start::AfterPreviousEnd(f64::NAN), alem(12.0, 0.2)),
            "after_previous_end_days",
        ),
        (
            Regimen::default().with(
                Start::AtDay(0.0),
                Course {
                    name: "o".into(),
                    drug: Drug::Alemtuzumab,
                    doses: vec![Dose {
                        offset_days: 0.0,
                        amount_mg: 12.0,
                        route: Route::Oral,
                    }],
                },
            ),
            "cannot be given",
        ),
    ];
    for (r, field) in cases {
        let e = r.administrations().unwrap_err().to_string();
        assert!(e.contains(field), "expected {field:?} in {e:?}");
        // The same error reaches a simulation request.
        assert!(Problem::new(Model::reference_v1(), &r, 10.0).is_err());
    }
}

/// Drug phases of the `sequence` preset: alemtuzumab from day 0, cladribine from the switch day, with the
/// state at the switch taken before the first tablet.
#[test]
fn sequence_splits_into_two_drug_phases() {
    use lymphosim::outcome::phases;
    let r = presets::sequence(70.0, 9.0).unwrap();
    let p = Problem::new(Model::reference_v1(), &r, 1500.0).unwrap();
    let t = simulate(&p, &SimOptions::default()).unwrap();
    let ph = phases(p.model(), &t, &GradeScale::default());
    assert_eq!(ph.len(), 2);
    assert_eq!((ph[0].drug, ph[0].start_day), (Drug::Alemtuzumab, 0.0));
    let switch = months(12.0) + 2.0 + hours(4.0) + months(9.0);
    assert_eq!(ph[1].drug, Drug::Cladribine);
    assert!((ph[1].start_day - switch).abs() < 1e-9);
    assert_eq!(ph[0].end_day, ph[1].start_day);
    // The phase nadirs are the overall nadirs restricted to each phase.
    let cfg = OutcomeConfig::whole_run(GradeScale::default());
    let s = PatientOutcome::from_trajectory(p.model(), &t, &cfg, p.regimen())
        .window
        .unwrap();
    let (first, second) = (ph[0].within.as_ref().unwrap(), ph[1].within.as_ref().unwrap());
    assert_eq!(first.nadir(Count::Alc), s.nadir(Count::Alc));
    let alc = second.nadir(Count::Alc);
    assert!(alc.day >= switch && alc.value >= s.nadir(Count::Alc).value);
}
