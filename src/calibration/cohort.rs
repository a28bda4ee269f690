//! Cohort statistics against the published targets: fractions of patients and grade distributions.
//!
//! | statistic (words in the table) | cohort value |
//! |---|---|
//! | fraction of patients below LLN (day t) | share of patients with ALC < LLN on day t |
//! | fraction with worst grade >= 3 at any time | P(worst grade ≥ 3) over the scenario horizon — at the cohort's lab visits when it has them (CLARITY: the trial's haematology visits; the real-world series: the label's monitoring) |
//! | fraction with worst grade 4 at any time | P(grade 4), likewise |
//! | grade distribution … (G0/…/G4) at day t | share of patients in each grade on day t; within tolerance when every component is |
//!
//! The CLARITY targets use the `clarity` scenario (CLARITY schedule under the trial's own protocol, 2 years); the alemtuzumab
//! targets the `alemtuzumab` scenario. Other targets are left to [`super::typical`].

use super::targets::{lln_of, quarterly_visit_days, Observed, Setting, Statistic, Target, TargetValue, Tolerance};
use super::typical::{Comparison, ComparisonKind};
use crate::cohort::histogram::LogHistogram;
use crate::cohort::summary::{ArmAccumulator, BAND_SUBSETS};
use crate::cohort::{run_cohort, ArmRegimen, Cohort, Shard};
use crate::error::Result;
use crate::outcome::{OutcomeConfig, Recovery, Reference, Threshold};
use crate::population::PopulationModel;
use crate::regimen::{presets, Count, Course, Drug, LabelRules, Regimen, Start};
use crate::scenario;
use crate::units::{hours, DAYS_PER_MONTH, DAYS_PER_YEAR};

fn grades_on(a: &ArmAccumulator, day: f64) -> Option<[f64; 5]> {
    let k = a.band_days.iter().position(|d| *d == day)?;
    let g = a.grades[k];
    let n: u64 = g.iter().sum();
    (n > 0).then(|| g.map(|c| c as f64 / n as f64))
}

/// The recoveries tracked in the long alemtuzumab follow-up: each count to its LLN ([`lln_of`]), and CD4 and
/// CD8 to their own baseline.
const LONG_RECOVERIES: [(Count, Threshold); 6] = [
    (Count::Alc, Threshold::Cells(1000.0)),
    (Count::Cd4, Threshold::Cells(400.0)),
    (Count::Cd8, Threshold::Cells(200.0)),
    (Count::Cd19, Threshold::Cells(100.0)),
    (Count::Cd4, Threshold::FractionOfBaseline(1.0)),
    (Count::Cd8, Threshold::FractionOfBaseline(1.0)),
];

/// Lab visits of the real-world cladribine series (V11, V12), days from the first dose: the label's lymphocyte
/// monitoring — before each treatment year (days 0 and 365) and 2 and 6 months after its start (61, 183; 426,
/// 548; MAVENCLAD SmPC 4.4) — then, as an assumption for routine follow-up, a count every 6 months to 4 years.
pub const LABEL_REAL_WORLD_VISITS: [f64; 11] = [
    0.0, 61.0, 183.0, 365.0, 426.0, 548.0, 730.0, 913.0, 1096.0, 1278.0, 1461.0,
];

/// Index in [`LONG_RECOVERIES`] of `subset` with `threshold`.
fn long_recovery(subset: &str, threshold: Threshold) -> Option<usize> {
    LONG_RECOVERIES
        .iter()
        .position(|(c, t)| c.name().eq_ignore_ascii_case(subset.trim()) && *t == threshold)
}

/// Index of a subset among the banded counts (ALC, CD4, CD8, CD19, NK).
fn band_subset(name: &str) -> Option<usize> {
    BAND_SUBSETS.iter().position(|s| s.eq_ignore_ascii_case(name.trim()))
}

/// Patients by worst grade at the lab visits, and their number (`None` for a cohort without visits).
fn visit_grades(a: &ArmAccumulator) -> Option<([u64; 5], f64)> {
    let m: u64 = a.worst_grade_at_visits.iter().sum();
    (m > 0).then_some((a.worst_grade_at_visits, m as f64))
}

/// The distribution of `subset` over patients on `day` (a band day).
fn band_on<'a>(a: &'a ArmAccumulator, day: f64, subset: &str) -> Option<&'a LogHistogram> {
    let k = a.band_days.iter().position(|d| *d == day)?;
    a.bands.get(k)?.get(band_subset(subset)?)
}

/// Evaluates the cohort targets among `targets` with `patients` patients from `population`.
pub fn compare(targets: &[Target], population: &PopulationModel, patients: u64, seed: u64) -> Result<Vec<Comparison>> {
    let run = |name: &str| -> Result<ArmAccumulator> {
        let mut s = scenario::preset(name)?;
        s.spec.patients = patients;
        s.spec.seed = seed;
        s.spec.population = population.clone();
        let r = run_cohort(&s.spec, Shard::ALL, false, &|_| {});
        Ok(r.arms.into_iter().next().expect("one arm"))
    };
    // Long follow-up of alemtuzumab (ten years, from the first dose) for the recovery statistics: one course, or
    // the label's two; recoveries to each count's LLN and to each T-cell subset's own baseline, followed
    // continuously and at a trial's quarterly subset visits.
    let long_run = |regimen: ArmRegimen| -> Result<ArmAccumulator> {
        let recoveries = LONG_RECOVERIES
            .iter()
            .map(|&(observable, threshold)| Recovery { observable, threshold })
            .collect();
        let run = Cohort::new(population.clone())
            .arm("alemtuzumab, long follow-up", regimen)
            .patients(patients)
            .seed(seed)
            .horizon_years(10.0)
            .band_step_days(30.0)
            .outcomes(OutcomeConfig {
                reference: Reference::Start,
                recoveries,
                visit_days: quarterly_visit_days(10.0 * DAYS_PER_YEAR),
                ..OutcomeConfig::default()
            })
            .run()?;
        Ok(run.result.arms.into_iter().next().expect("one arm"))
    };
    // Cladribine tablets on the label (each patient's weight band) under the label's lymphocyte rules, followed
    // four years from the first dose: the real-world use of the drug.
    let label_run = || -> Result<ArmAccumulator> {
        let run = Cohort::new(population.clone())
            .arm(
                "cladribine label, real-world follow-up",
                ArmRegimen::Preset {
                    name: "cladribine-label".into(),
                    interval_months: 0.0,
                },
            )
            .label_rules(LabelRules::default())
            .patients(patients)
            .seed(seed)
            .horizon_years(4.0)
            .band_step_days(30.0)
            .outcomes(OutcomeConfig {
                reference: Reference::Start,
                visit_days: LABEL_REAL_WORLD_VISITS.to_vec(),
                ..OutcomeConfig::default()
            })
            .run()?;
        Ok(run.result.arms.into_iter().next().expect("one arm"))
    };
    let mut label: Option<ArmAccumulator> = None;
    let mut clarity: Option<ArmAccumulator> = None;
    let mut alem: Option<ArmAccumulator> = None;
    let mut alem_long: Option<ArmAccumulator> = None;
    let mut alem_single: Option<ArmAccumulator> = None;
    let mut out = Vec::new();
    for t in targets {
        if !t.stat.is_cohort() {
            continue;
        }
        let long = matches!(
            t.stat,
            Statistic::MonthsToLln
                | Statistic::MeanMonthsToLln(_)
                | Statistic::GeometricMeanMonthsToLln
                | Statistic::FractionRecoveredToBaseline
        );
        let not_evaluated = |note: &str| Comparison {
            target: t.clone(),
            model: None,
            within: None,
            kind: ComparisonKind::NotEvaluated,
            note: note.into(),
        };
        let value = |v: f64, note: &str| Comparison {
            target: t.clone(),
            model: Some(v),
            within: t.admits(v),
            kind: ComparisonKind::Value,
            note: note.into(),
        };
        let acc = match t.setting {
            Setting::AlemtuzumabSingleCourse => {
                if alem_single.is_none() {
                    let course = Course::infusion_daily(
                        "alemtuzumab course 1",
                        Drug::Alemtuzumab,
                        5,
                        presets::ALEMTUZUMAB_DAILY_MG,
                        hours(presets::ALEMTUZUMAB_INFUSION_HOURS),
                    );
                    let r = Regimen::default().with(Start::AtDay(0.0), course);
                    alem_single = Some(long_run(ArmRegimen::Fixed(r))?);
                }
                alem_single.as_ref().expect("set")
            }
            Setting::Alemtuzumab if long => {
                if alem_long.is_none() {
                    alem_long = Some(long_run(ArmRegimen::Preset {
                        name: "alemtuzumab-label".into(),
                        interval_months: 0.0,
                    })?);
                }
                alem_long.as_ref().expect("set")
            }
            Setting::Alemtuzumab => {
                if alem.is_none() {
                    alem = Some(run("alemtuzumab")?);
                }
                alem.as_ref().expect("set")
            }
            Setting::CladribineLabel => {
                if label.is_none() {
                    label = Some(label_run()?);
                }
                label.as_ref().expect("set")
            }
            Setting::ClarityCladribine | Setting::CladribineFirstCourse | Setting::ClarityYearOne => {
                if clarity.is_none() {
                    clarity = Some(run("clarity")?);
                }
                clarity.as_ref().expect("set")
            }
            Setting::SingleOralDose(_) | Setting::DrugProperty | Setting::NotModelled => {
                out.push(not_evaluated("regimen not recognised for a cohort"));
                continue;
            }
        };
        let n = acc.analysed() as f64;
        let c = match (&t.stat, &t.value, t.time_day.and_then(|d| grades_on(acc, d))) {
            (Statistic::FractionBelowLln, _, Some(g)) => value(1.0 - g[0], "share with ALC < LLN on the day"),
            (Statistic::FractionBelowLln, _, None) => not_evaluated("day not on the band grid"),
            // A cohort with scheduled lab visits is compared as the trial or clinic saw it: the worst grade at its
            // visits; without visits, the worst grade reached at any time.
            (Statistic::FractionWorstGradeGe3, ..) => match visit_grades(acc) {
                Some((g, m)) => value((g[3] + g[4]) as f64 / m, "P(worst grade >= 3 at the lab visits)"),
                None => value(
                    (acc.worst_grade[3] + acc.worst_grade[4]) as f64 / n,
                    "P(worst grade >= 3)",
                ),
            },
            (Statistic::FractionWorstGrade4, ..) => match visit_grades(acc) {
                Some((g, m)) => value(g[4] as f64 / m, "P(grade 4 at the lab visits)"),
                None => value(acc.worst_grade[4] as f64 / n, "P(grade 4)"),
            },
            (Statistic::GradeDistribution, TargetValue::Distribution(want), Some(g)) => {
                let tol = match t.tolerance {
                    Tolerance::Absolute(a) => a,
                    _ => 0.0,
                };
                let within = want.len() == 5 && want.iter().zip(g).all(|(w, m)| (w - m).abs() <= tol);
                let shown: Vec<String> = g.iter().map(|x| format!("{x:.3}")).collect();
                let worst = want.iter().zip(g).map(|(w, m)| (w - m).abs()).fold(0.0, f64::max);
                Comparison {
                    target: t.clone(),
                    model: Some(worst),
                    within: Some(within),
                    kind: ComparisonKind::LargestComponentDeviation,
                    note: format!("model {} (model value = largest deviation)", shown.join("/")),
                }
            }
            (Statistic::MedianPerPatientNadir, ..) => {
                match band_subset(&t.subset)
                    .and_then(|k| acc.nadir.get(k))
                    .and_then(|h| h.quantile(0.5))
                {
                    Some(v) => value(v, "median over patients of each patient's own nadir from day 0"),
                    None => not_evaluated("no nadir of this subset in the cohort"),
                }
            }
            (Statistic::FractionAtLeastLln, ..) => {
                let h = t.time_day.and_then(|d| band_on(acc, d, &t.subset));
                match (h, lln_of(&t.subset)) {
                    (Some(h), Some(lln)) => match h.fraction_at_least(lln) {
                        Some(v) => value(v, &format!("share with {} >= {lln} cells/uL on the day", t.subset)),
                        None => not_evaluated("no patient on the day"),
                    },
                    (None, _) => not_evaluated("day not on the band grid"),
                    (_, None) => not_evaluated("no LLN for this subset"),
                }
            }
            (Statistic::BetweenPatientSd, ..) => match t.time_day.and_then(|d| band_on(acc, d, &t.subset)) {
                Some(h) => match h.mean_sd() {
                    Some((_, sd)) => value(sd, "SD over patients on the day"),
                    None => not_evaluated("fewer than two patients on the day"),
                },
                None => not_evaluated("day not on the band grid"),
            },
            (Statistic::MonthsToLln, ..) => {
                let k = lln_of(&t.subset).and_then(|lln| long_recovery(&t.subset, Threshold::Cells(lln)));
                match k {
                    Some(k) => {
                        let (recovered, n) = (acc.recovery[k].total(), acc.analysed());
                        let rank = n.div_ceil(2);
                        match acc.recovery[k].nth(rank) {
                            Some(d) if rank <= recovered => value(
                                d as f64 / DAYS_PER_MONTH,
                                "median over patients of the months from the first dose to the return to the LLN",
                            ),
                            _ => value(
                                f64::INFINITY,
                                "fewer than half the patients back at the LLN within 10 years",
                            ),
                        }
                    }
                    None => not_evaluated("no LLN for this subset"),
                }
            }
            (Statistic::MeanMonthsToLln(_) | Statistic::GeometricMeanMonthsToLln, ..) => {
                let k = lln_of(&t.subset).and_then(|lln| long_recovery(&t.subset, Threshold::Cells(lln)));
                match (k, t.time_day) {
                    (Some(k), Some(follow_up)) => {
                        let h = &acc.recovery[k];
                        let share = |m: u64| 100.0 * m as f64 / acc.analysed().max(1) as f64;
                        let within = follow_up / DAYS_PER_MONTH;
                        let mean = match t.stat {
                            Statistic::GeometricMeanMonthsToLln => h.geometric_mean_up_to(follow_up).map(|(g, m)| {
                                (g, format!("geometric mean over the {:.0} % of patients back at the LLN within {within:.1} months", share(m)))
                            }),
                            Statistic::MeanMonthsToLln(Observed::AtQuarterlyVisits) => {
                                let continuous = h.mean_up_to(follow_up).map(|(c, _)| c / DAYS_PER_MONTH);
                                acc.recovery_at_visits[k].mean_up_to(follow_up).map(|(v, m)| {
                                    (v, format!(
                                        "mean over the {:.0} % of patients seen back at the LLN at a quarterly visit within {within:.1} months (the first visit after the first drop with the count at or above it; {:.1} months read continuously)",
                                        share(m),
                                        continuous.unwrap_or(f64::NAN)
                                    ))
                                })
                            }
                            _ => h.mean_up_to(follow_up).map(|(c, m)| {
                                (c, format!("mean over the {:.0} % of patients back at the LLN within {within:.1} months", share(m)))
                            }),
                        };
                        match mean {
                            Some((mean, note)) => value(mean / DAYS_PER_MONTH, &note),
                            None => not_evaluated("no patient back at the LLN within the follow-up"),
                        }
                    }
                    (None, _) => not_evaluated("no LLN for this subset"),
                    (_, None) => not_evaluated("no follow-up (time_day) for a mean"),
                }
            }
            (Statistic::FractionRecoveredToBaseline, ..) => {
                match long_recovery(&t.subset, Threshold::FractionOfBaseline(1.0)) {
                    Some(k) if acc.analysed() > 0 => value(
                        acc.recovery[k].total() as f64 / acc.analysed() as f64,
                        "share back at their own baseline within 10 years",
                    ),
                    _ => not_evaluated("no baseline recovery tracked for this subset"),
                }
            }
            _ => not_evaluated("statistic not evaluable for this target"),
        };
        out.push(c);
    }
    Ok(out)
}
