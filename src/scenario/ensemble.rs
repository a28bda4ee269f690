//! Parameter uncertainty in a study's answer: the same scenario, on the same virtual patients (same seed and
//! count), under several parameter sets — typically drawn from a set's approximate posterior
//! ([`crate::calibration::uncertainty::sample_sets`]).
//!
//! ```no_run
//! use lymphosim::calibration::uncertainty::sample_sets;
//! use lymphosim::population::paramset::ParamSet;
//! use lymphosim::scenario::{ensemble, PRESETS};
//!
//! let set = ParamSet::shipped();
//! let text = PRESETS[0].2; // switch-interval
//! let sets = sample_sets(&set, 20, 1)?;
//! let run = ensemble::run(text, &set, &sets, 500, 1, None, &|_| {})?;
//! println!("switch answer per set: {:?}", run.answers);
//! # Ok::<(), lymphosim::Error>(())
//! ```

use super::{parse_with, Scenario as Study};
use crate::cohort::summary::ArmSummary;
use crate::cohort::{report, Cohort};
use crate::error::Result;
use crate::model::Count;
use crate::population::paramset::ParamSet;

/// The endpoints compared over the sets, in the order of [`endpoints`].
pub const ENDPOINTS: [&str; 4] = ["p_grade_ge3", "p_grade4", "p_cd4_below_200", "cd4_nadir_median"];

/// An arm's endpoints: P(G ≥ 3), P(G4), P(CD4 < 200) (fractions) and the median CD4 nadir (cells/µL); NaN where
/// the arm could not compute one.
pub fn endpoints(s: &ArmSummary) -> [f64; 4] {
    [
        s.p_grade_ge3.value,
        s.p_grade4.value,
        s.p_cd4_below_200.value,
        s.nadir_of(Count::Cd4).and_then(|q| q.p50).unwrap_or(f64::NAN),
    ]
}

/// The study under every parameter set.
#[derive(Debug, Clone)]
pub struct EnsembleRun {
    /// The study as the first set resolved it (arm names and sweep positions are the same for every set).
    pub study: Study,
    /// Per set, the arm summaries, in the study's arm order.
    pub summaries: Vec<Vec<ArmSummary>>,
    /// Per set, the sweep's answer: the shortest value from which every longer one meets the bound (point
    /// estimate; `None`: none on the grid). Empty when the study has no sweep with a bound.
    pub answers: Vec<Option<f64>>,
}

/// Runs the scenario `text` under each of `sets` (each resolved as `parse_with(text, set)`, so the file's own
/// population overrides apply on top of every set), with `patients` patients and `seed` for all, on `threads`
/// worker threads (`None`: all cores; results do not depend on it); `progress` is called with the number of sets
/// done.
pub fn run(
    text: &str,
    like: &ParamSet,
    sets: &[ParamSet],
    patients: u64,
    seed: u64,
    threads: Option<usize>,
    progress: &dyn Fn(usize),
) -> Result<EnsembleRun> {
    let study = parse_with(text, like)?;
    let mut summaries = Vec::with_capacity(sets.len());
    let mut answers = Vec::new();
    for (k, set) in sets.iter().enumerate() {
        let mut s = parse_with(text, set)?;
        s.spec.patients = patients;
        s.spec.seed = seed;
        let mut cohort = Cohort::from_spec(s.spec.clone()).per_patient(false);
        if let Some(t) = threads {
            cohort = cohort.threads(t);
        }
        let sums = cohort.run()?.summary();
        if let (Some(sweep), Some(bound)) = (&s.sweep, &s.bound) {
            let reference = s.reference_arm.map(|i| &sums[i]);
            let curves =
                crate::cohort::study::curves(&s.spec.arms, &sums, &s.base_names, sweep, Some(bound), reference);
            answers.push(curves.first().and_then(|c| c.shortest_meeting_bound));
        }
        summaries.push(sums);
        progress(k + 1);
    }
    Ok(EnsembleRun {
        study,
        summaries,
        answers,
    })
}

/// The `q`-quantile (linear between order statistics) of the finite values in `xs`; `None` if there are none.
pub fn quantile(xs: &[f64], q: f64) -> Option<f64> {
    let mut v: Vec<f64> = xs.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let pos = q.clamp(0.0, 1.0) * (v.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    Some(v[lo] + (v[hi] - v[lo]) * (pos - lo as f64))
}

impl EnsembleRun {
    /// Endpoint `e` (index into [`ENDPOINTS`]) of arm `arm` in every set.
    pub fn values(&self, arm: usize, e: usize) -> Vec<f64> {
        self.summaries.iter().map(|s| endpoints(&s[arm])[e]).collect()
    }

    /// The 5th and 95th percentiles of endpoint `e` of arm `arm` over the sets (`NaN` if none computed).
    pub fn interval90(&self, arm: usize, e: usize) -> [f64; 2] {
        let v = self.values(arm, e);
        [
            quantile(&v, 0.05).unwrap_or(f64::NAN),
            quantile(&v, 0.95).unwrap_or(f64::NAN),
        ]
    }

    /// P(G ≥ 3) at each sweep value of the first base arm: `(value, 5th percentile, 95th percentile)` over the sets.
    pub fn grade3_band(&self) -> Vec<(f64, f64, f64)> {
        self.study
            .spec
            .arms
            .iter()
            .enumerate()
            .filter_map(|(i, a)| a.sweep.filter(|p| p.base == 0).map(|p| (i, p.value)))
            .filter_map(|(i, value)| {
                let [lo, hi] = self.interval90(i, 0);
                (lo.is_finite() && hi.is_finite()).then_some((value, lo, hi))
            })
            .collect()
    }

    /// `uncertainty.csv`: one row per set and arm with [`ENDPOINTS`].
    pub fn csv(&self) -> String {
        let mut s = format!("set,arm,{}\n", ENDPOINTS.join(","));
        for (k, sums) in self.summaries.iter().enumerate() {
            for arm in sums {
                let e = endpoints(arm);
                s.push_str(&format!(
                    "{k},{},{},{},{},{}\n",
                    report::csv_field(&arm.name),
                    e[0],
                    e[1],
                    e[2],
                    e[3]
                ));
            }
        }
        s
    }

    /// `uncertainty-bound.csv`: each set's answer (empty when not met on the grid); `None` without a bound.
    pub fn answers_csv(&self) -> Option<String> {
        (!self.answers.is_empty()).then(|| {
            let mut a = String::from("set,shortest_meeting_bound\n");
            for (k, v) in self.answers.iter().enumerate() {
                a.push_str(&format!("{k},{}\n", v.map_or(String::new(), |x| x.to_string())));
            }
            a
        })
    }
}
