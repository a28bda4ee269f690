//! The outcome engine reads the continuous solution (cubic curves through each integration step). Its
//! reference is the definition on samples: the same outcomes counted from the observations of a grid. On a
//! daily grid the two agree to the day the sampling implies; on a fine grid they agree to the grid's spacing.

use lymphosim::outcome::{Recovery, RecoveryOutcome, Threshold, Window};
use lymphosim::prelude::*;

/// The reference: outcomes counted on the samples of a trajectory, from `reference_day` on (the definition the
/// engine used before it read the steps; kept here as the oracle).
struct Sampled {
    nadirs: [(f64, f64); 5],
    worst_grade: Grade,
    /// Samples at grade ≥ 2, ≥ 3, 4 and with CD4 < 200, times the spacing (days).
    durations: [f64; 4],
    /// Per recovery: (first sample below, first later sample at or above).
    recoveries: Vec<(Option<f64>, Option<f64>)>,
    /// Per duration: how often the sampled state changed (each change can move a duration by one spacing).
    changes: [u32; 4],
}

fn sampled(model: &Model, t: &Trajectory, cfg: &OutcomeConfig, from: f64, spacing: f64) -> Sampled {
    let base = model.observe(&model.initial_state());
    let levels: Vec<(Count, f64)> = cfg
        .recoveries
        .iter()
        .map(|r| {
            let level = match r.threshold {
                Threshold::Cells(c) => c,
                Threshold::FractionOfBaseline(f) => f * r.observable.of(&base),
                Threshold::Lln => cfg.scale.lln(),
            };
            (r.observable, level)
        })
        .collect();
    let mut s = Sampled {
        nadirs: [(f64::INFINITY, f64::NAN); 5],
        worst_grade: Grade::NORMAL,
        durations: [0.0; 4],
        recoveries: vec![(None, None); levels.len()],
        changes: [0; 4],
    };
    let mut last_flags: Option<[bool; 4]> = None;
    for (d, y) in t.days.iter().zip(&t.states).filter(|(d, _)| **d >= from) {
        let o = model.observe(y);
        for (k, c) in Count::ALL.iter().enumerate() {
            if c.of(&o) < s.nadirs[k].0 {
                s.nadirs[k] = (c.of(&o), *d);
            }
        }
        let g = cfg.scale.grade(o.alc);
        s.worst_grade = s.worst_grade.max(g);
        let flags = [g.value() >= 2, g.value() >= 3, g.value() == 4, o.cd4 < 200.0];
        for i in 0..4 {
            s.durations[i] += if flags[i] { spacing } else { 0.0 };
            if last_flags.is_some_and(|l| l[i] != flags[i]) {
                s.changes[i] += 1;
            }
        }
        last_flags = Some(flags);
        for (i, (c, level)) in levels.iter().enumerate() {
            let below = c.of(&o) < *level;
            match s.recoveries[i] {
                (None, _) if below => s.recoveries[i].0 = Some(*d),
                (Some(_), None) if !below => s.recoveries[i].1 = Some(*d),
                _ => {}
            }
        }
    }
    s
}

/// Patients of the shipped population on the regimens the switch question compares, some under the label's
/// lab gates.
fn cases() -> Vec<(String, Model, Regimen)> {
    let pop = PopulationModel::shipped();
    let mut out = Vec::new();
    for id in 0..4u64 {
        let p = pop.sample(id, &mut patient_rng(20261202, id));
        let w = p.weight_kg.max(40.0);
        let regimens = [
            ("sequence 12 months", presets::sequence(w, 12.0).unwrap()),
            ("alemtuzumab", presets::alemtuzumab_label()),
            (
                "cladribine under the label's rules",
                LabelRules::default()
                    .apply(presets::cladribine_label(w).unwrap())
                    .unwrap(),
            ),
        ];
        for (name, r) in regimens {
            out.push((
                format!("{name}, patient {id}"),
                Model::new(p.params.clone()).unwrap(),
                r,
            ));
        }
    }
    out
}

fn solve_on(model: &Model, r: &Regimen, days: f64, spacing: f64) -> Trajectory {
    let n = (days / spacing).floor() as usize;
    let grid: Vec<f64> = (0..=n).map(|k| k as f64 * spacing).collect();
    let problem = Problem::new(model.clone(), r, days)
        .unwrap()
        .with_observation_days(grid)
        .unwrap();
    simulate(&problem, &SimOptions::default()).unwrap()
}

fn window(model: &Model, t: &Trajectory, cfg: &OutcomeConfig, r: &Regimen) -> Window {
    PatientOutcome::from_trajectory(model, t, cfg, r)
        .window
        .expect("a window")
}

/// On a fine grid (a twentieth of a day) the sampled definition converges to the continuous one: nadirs to the
/// interpolation error, durations and crossing times to the grid's spacing per crossing.
#[test]
fn the_continuous_outcomes_are_the_limit_of_finely_sampled_ones() {
    let spacing = 0.05;
    let cfg = OutcomeConfig {
        reference: lymphosim::outcome::Reference::Start,
        ..OutcomeConfig::default()
    };
    for (name, model, r) in cases() {
        let t = solve_on(&model, &r, 3.0 * 365.25, spacing);
        let w = window(&model, &t, &cfg, &r);
        let s = sampled(&model, &t, &cfg, 0.0, spacing);
        for (k, c) in Count::ALL.iter().enumerate() {
            let (cont, samp) = (w.nadirs[k], s.nadirs[k]);
            // The continuous minimum is at or below every sample, and a sample lies within half a spacing of it.
            assert!(
                cont.value <= samp.0 * (1.0 + 1e-4),
                "{name} {c:?}: {cont:?} vs sampled {samp:?}"
            );
            assert!(
                cont.value >= samp.0 * (1.0 - 2e-3),
                "{name} {c:?}: {cont:?} vs sampled {samp:?}"
            );
        }
        assert_eq!(w.worst_grade, s.worst_grade, "{name}");
        let cont = [w.days_grade_ge2, w.days_grade_ge3, w.days_grade4, w.days_cd4_below_200];
        for (i, c) in cont.iter().enumerate() {
            let slack = spacing * (s.changes[i] as f64 + 2.0);
            assert!(
                (c - s.durations[i]).abs() <= slack,
                "{name}: duration {i}: {c} vs sampled {} (slack {slack})",
                s.durations[i]
            );
        }
        for (i, rec) in w.recoveries.iter().enumerate() {
            let (first, back) = s.recoveries[i];
            match *rec {
                RecoveryOutcome::NeverBelow => assert_eq!(first, None, "{name}: recovery {i}"),
                RecoveryOutcome::Returned { first_below, day } => {
                    assert!((first.unwrap() - first_below).abs() <= spacing, "{name}: recovery {i}");
                    assert!((back.unwrap() - day).abs() <= spacing, "{name}: recovery {i}");
                }
                RecoveryOutcome::NotWithinHorizon { first_below } => {
                    assert!((first.unwrap() - first_below).abs() <= spacing, "{name}: recovery {i}");
                    assert_eq!(back, None, "{name}: recovery {i}");
                }
            }
        }
    }
}

/// Against daily samples — what a daily lab would see — the continuous outcomes agree to the day: a nadir
/// lies within a day of the lowest sample and not above it, a duration differs by at most a day per change of
/// state, a crossing by at most a day, and a grade reached between two samples is only ever worse.
#[test]
fn the_continuous_outcomes_agree_with_daily_samples_to_the_day() {
    let cfg = OutcomeConfig::default();
    for (name, model, r) in cases() {
        let t = solve_on(&model, &r, 4.0 * 365.25, 1.0);
        let Some(w) = PatientOutcome::from_trajectory(&model, &t, &cfg, &r).window else {
            continue;
        };
        let s = sampled(&model, &t, &cfg, w.reference_day, 1.0);
        for (k, c) in Count::ALL.iter().enumerate() {
            let (cont, samp) = (w.nadirs[k], s.nadirs[k]);
            assert!(
                cont.value <= samp.0 * (1.0 + 1e-4),
                "{name} {c:?}: {cont:?} vs {samp:?}"
            );
            assert!(
                (cont.day - samp.1).abs() <= 1.0 || (cont.value / samp.0 - 1.0).abs() < 1e-3,
                "{name} {c:?}: {cont:?} vs {samp:?}"
            );
        }
        assert!(w.worst_grade >= s.worst_grade, "{name}");
        if w.worst_grade > s.worst_grade {
            // Reached only between two samples: the sampled nadir sits just above the grade's bound.
            let bound = GradeScale::default().bounds()[w.worst_grade.value() as usize - 1];
            assert!(
                s.nadirs[0].0 < bound * 1.05,
                "{name}: {:?} vs sampled {:?}",
                w.worst_grade,
                s.nadirs[0]
            );
        }
        let cont = [w.days_grade_ge2, w.days_grade_ge3, w.days_grade4, w.days_cd4_below_200];
        for (i, c) in cont.iter().enumerate() {
            assert!(
                (c - s.durations[i]).abs() <= s.changes[i] as f64 + 2.0,
                "{name}: duration {i}: {c} vs {} daily samples",
                s.durations[i]
            );
        }
    }
}

/// A dip under a threshold between two daily samples is still a dip: the tracker sees it, a daily lab does not.
#[test]
fn a_dip_between_two_daily_samples_is_seen() {
    // Alemtuzumab depletes within hours: on the first day the ALC passes every grade bound between day 0 and
    // day 1. The continuous worst-grade day lies strictly between them.
    let model = Model::new(PopulationModel::shipped().typical().clone()).unwrap();
    let r = presets::alemtuzumab_label();
    let t = solve_on(&model, &r, 60.0, 1.0);
    let w = window(&model, &t, &OutcomeConfig::whole_run(GradeScale::default()), &r);
    assert!(
        w.worst_grade_day > 0.0 && w.worst_grade_day < 5.0,
        "{}",
        w.worst_grade_day
    );
    assert!(w.worst_grade_day.fract() != 0.0, "{}", w.worst_grade_day);
}

/// The worst grade at lab visits is the worst grade of the samples on the visit days from the reference day on
/// (the reference implementation reads them off the daily trajectory), and never worse than the continuous one.
#[test]
fn the_grade_at_visits_is_the_grade_on_the_visit_days() {
    let visits = vec![0.0, 7.0, 28.0, 56.0, 84.0, 161.0, 329.0, 357.0, 413.0, 497.0, 665.0];
    let cfg = OutcomeConfig {
        visit_days: visits.clone(),
        ..OutcomeConfig::default()
    };
    for (name, model, r) in cases() {
        let t = solve_on(&model, &r, 2.0 * 365.25, 1.0);
        let Some(w) = PatientOutcome::from_trajectory(&model, &t, &cfg, &r).window else {
            continue;
        };
        let seen = t
            .days
            .iter()
            .zip(&t.states)
            .filter(|(d, _)| visits.contains(d) && **d >= w.reference_day)
            .map(|(_, y)| cfg.scale.grade(model.observe(y).alc))
            .max();
        assert_eq!(w.worst_grade_at_visits, seen, "{name}");
        assert!(seen.is_none_or(|g| g <= w.worst_grade), "{name}");
    }
}

/// A recovery read at lab visits is the first visit, after the count first fell below its threshold, whose sample
/// is at or above it (the reference reads the daily trajectory); it is never earlier than the continuous return,
/// and a count that never fell below is seen at 0. Without visits nothing is read at them.
#[test]
fn a_recovery_at_visits_is_the_first_visit_that_sees_the_count_back() {
    let visits: Vec<f64> = (0..=24).map(|m| (30.4375 * m as f64).round()).collect();
    let recoveries = vec![
        Recovery {
            observable: Count::Alc,
            threshold: Threshold::Lln,
        },
        Recovery {
            observable: Count::Cd4,
            threshold: Threshold::Cells(200.0),
        },
        Recovery {
            observable: Count::Cd19,
            threshold: Threshold::FractionOfBaseline(0.5),
        },
        Recovery {
            observable: Count::Nk,
            threshold: Threshold::Cells(1.0),
        },
    ];
    let cfg = OutcomeConfig {
        visit_days: visits.clone(),
        recoveries: recoveries.clone(),
        ..OutcomeConfig::default()
    };
    let mut seen_back = 0;
    for (name, model, r) in cases() {
        let t = solve_on(&model, &r, 2.0 * 365.25, 1.0);
        let Some(w) = PatientOutcome::from_trajectory(&model, &t, &cfg, &r).window else {
            continue;
        };
        let at = w.recoveries_at_visits.as_ref().expect("visits in the window");
        let base = model.observe(&model.initial_state());
        for (i, rec) in recoveries.iter().enumerate() {
            let level = match rec.threshold {
                Threshold::Cells(c) => c,
                Threshold::FractionOfBaseline(f) => f * rec.observable.of(&base),
                Threshold::Lln => cfg.scale.lln(),
            };
            let want = match w.recoveries[i] {
                RecoveryOutcome::NeverBelow => Some(0),
                RecoveryOutcome::Returned { first_below, .. } | RecoveryOutcome::NotWithinHorizon { first_below } => t
                    .days
                    .iter()
                    .zip(&t.states)
                    .find(|(d, y)| {
                        visits.contains(d) && **d > first_below && rec.observable.of(&model.observe(y)) >= level
                    })
                    .map(|(d, _)| (d - w.reference_day).round() as u32),
            };
            assert_eq!(at[i], want, "{name}: {}", rec.label());
            if let (Some(v), Some(c)) = (at[i], w.recoveries[i].days_after(w.reference_day)) {
                assert!(v >= c, "{name}: {}: seen on day {v}, back on day {c}", rec.label());
                seen_back += (v > 0) as u32;
            }
        }
    }
    assert!(
        seen_back > 0,
        "no case was seen back at a visit: the test would be empty"
    );
    let none = OutcomeConfig {
        recoveries,
        ..OutcomeConfig::default()
    };
    let (_, model, r) = cases().remove(0);
    let t = solve_on(&model, &r, 365.25, 1.0);
    if let Some(w) = PatientOutcome::from_trajectory(&model, &t, &none, &r).window {
        assert_eq!(w.recoveries_at_visits, None);
    }
}
