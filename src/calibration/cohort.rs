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

use super::targets::{Target, TargetValue, Tolerance};
use super::typical::Comparison;
use crate::cohort::summary::ArmAccumulator;
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

/// Evaluates the cohort targets among `targets` with `patients` patients from `population`.
pub fn compare(targets: &[Target], population: &PopulationModel, patients: u64, seed: u64) -> Result<Vec<Comparison>> {
    let run = |name: &str| -> Result<ArmAccumulator> {
        let mut s = scenario::preset(name).map_err(|e| crate::Error::invalid("scenario", name, e.to_string()))?;
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
        let stat = t.statistic.to_ascii_lowercase();
        let is_cohort = stat.starts_with("fraction") || stat.contains("grade distribution");
        if !is_cohort {
            continue;
        }
        let reg = t.regimen.to_ascii_lowercase();
        let acc = if reg.starts_with("alemtuzumab") {
            if alem.is_none() {
                alem = Some(run("alemtuzumab")?);
            }
            alem.as_ref().expect("set")
        } else if reg.contains("cladribine") {
            if clarity.is_none() {
                clarity = Some(run("clarity")?);
            }
            clarity.as_ref().expect("set")
        } else {
            out.push(Comparison {
                target: t.clone(),
                model: None,
                within: None,
                note: "regimen not recognised".into(),
            });
            continue;
        };
        let n = acc.patients as f64;
        let c = if stat.contains("below lln") {
            match t.time_day.and_then(|d| grades_on(acc, d)) {
                Some(g) => {
                    let v = 1.0 - g[0];
                    Comparison {
                        target: t.clone(),
                        model: Some(v),
                        within: t.admits(v),
                        note: "share with ALC < LLN on the day".into(),
                    }
                }
                None => Comparison {
                    target: t.clone(),
                    model: None,
                    within: None,
                    note: "day not on the band grid".into(),
                },
            }
        } else if stat.contains("worst grade >= 3") {
            let v = (acc.worst_grade[3] + acc.worst_grade[4]) as f64 / n;
            Comparison {
                target: t.clone(),
                model: Some(v),
                within: t.admits(v),
                note: "P(worst grade >= 3)".into(),
            }
        } else if stat.contains("worst grade 4") {
            let v = acc.worst_grade[4] as f64 / n;
            Comparison {
                target: t.clone(),
                model: Some(v),
                within: t.admits(v),
                note: "P(grade 4)".into(),
            }
        } else if let (TargetValue::Distribution(want), Some(g)) =
            (&t.value, t.time_day.and_then(|d| grades_on(acc, d)))
        {
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
                note: format!("model {} (model value = largest deviation)", shown.join("/")),
            }
        } else {
            Comparison {
                target: t.clone(),
                model: None,
                within: None,
                note: "statistic not recognised".into(),
            }
        };
        out.push(c);
    }
    Ok(out)
}
