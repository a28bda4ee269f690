//! Cohort statistics against the published targets: fractions of patients and grade distributions.
//!
//! | statistic (words in the table) | cohort value |
//! |---|---|
//! | fraction of patients below LLN (day t) | share of patients with ALC < LLN on day t |
//! | fraction with worst grade >= 3 at any time | P(worst grade ≥ 3) over the scenario horizon |
//! | fraction with worst grade 4 at any time | P(grade 4) |
//! | grade distribution … (G0/…/G4) at day t | share of patients in each grade on day t; within tolerance when every component is |
//!
//! The CLARITY targets use the `clarity` scenario (CLARITY schedule, label rules, 2 years); the alemtuzumab
//! targets the `alemtuzumab` scenario. Other targets are left to [`super::typical`].

use super::targets::{lln_of, Setting, Statistic, Target, TargetValue, Tolerance};
use super::typical::{Comparison, ComparisonKind};
use crate::cohort::histogram::LogHistogram;
use crate::cohort::summary::{ArmAccumulator, BAND_SUBSETS};
use crate::cohort::{run_cohort, Shard};
use crate::error::Result;
use crate::population::PopulationModel;
use crate::scenario;

fn grades_on(a: &ArmAccumulator, day: f64) -> Option<[f64; 5]> {
    let k = a.band_days.iter().position(|d| *d == day)?;
    let g = a.grades[k];
    let n: u64 = g.iter().sum();
    (n > 0).then(|| g.map(|c| c as f64 / n as f64))
}

/// Index of a subset among the banded counts (ALC, CD4, CD8, CD19, NK).
fn band_subset(name: &str) -> Option<usize> {
    BAND_SUBSETS.iter().position(|s| s.eq_ignore_ascii_case(name.trim()))
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
    let mut clarity: Option<ArmAccumulator> = None;
    let mut alem: Option<ArmAccumulator> = None;
    let mut out = Vec::new();
    for t in targets {
        if !t.stat.is_cohort() {
            continue;
        }
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
            Setting::Alemtuzumab => {
                if alem.is_none() {
                    alem = Some(run("alemtuzumab")?);
                }
                alem.as_ref().expect("set")
            }
            Setting::ClarityCladribine
            | Setting::CladribineFirstCourse
            | Setting::ClarityYearOne
            | Setting::CladribineLabel => {
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
            (Statistic::FractionWorstGradeGe3, ..) => value(
                (acc.worst_grade[3] + acc.worst_grade[4]) as f64 / n,
                "P(worst grade >= 3)",
            ),
            (Statistic::FractionWorstGrade4, ..) => value(acc.worst_grade[4] as f64 / n, "P(grade 4)"),
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
            _ => not_evaluated("statistic not evaluable for this target"),
        };
        out.push(c);
    }
    Ok(out)
}
