//! Output files of a cohort run, all written atomically.
//!
//! | file | contents |
//! |---|---|
//! | `summary.json` | per arm: patients, failed, excluded, worst-grade fractions, P(G ≥ 3), P(G4), P(CD4 < 200), P(delayed), P(stopped) with Wilson 95 % intervals; quantiles of counts at the reference day, nadirs, durations, recoveries (with censoring counts), delays; and the sweep curves and bound |
//! | `bands.csv` | `arm,day,subset,p5,p25,p50,p75,p95` (cells/µL) |
//! | `grades.csv` | `arm,day,patients,g0,g1,g2,g3,g4` (fractions of patients by ALC grade on that day) |
//! | `patients.csv` | one row per patient and arm (optional) |
//! | `failures.csv` | failed patients with id, arm, error and every parameter |
//! | `state.json` | the exact accumulators, for `lymphosim merge` |
//! | `manifest.json` | version, seed, scenario hash, command line, threads, timing — everything that may differ between equivalent runs |
//!
//! `summary.json`, `bands.csv` and `grades.csv` depend only on the scenario, the seed and the patients, never
//! on threads, sharding or timing.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::study::Study as Scenario;
use super::study::{curves, Bound, SweepCurve};
use super::summary::{ArmAccumulator, ArmSummary, BAND_SUBSETS, NADIR_SUBSETS, QUANTILES};
use super::{CohortResult, Failure, Shard};
use crate::error::{Error, Result};
use crate::model::ModelParams;
use crate::output::write_atomic;

/// The mergeable state of a run or shard.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunState {
    /// Format version of this file.
    pub format: u32,
    /// Hash of the scenario text and overrides.
    pub scenario_hash: String,
    /// The scenario text (TOML), so `merge` can rebuild names and settings.
    pub scenario_text: String,
    /// The parameter set the population started from (TOML), so `merge` rebuilds the same study.
    #[serde(default)]
    pub params_toml: String,
    /// Whether per-patient rows were kept (shards with and without them are not merged).
    #[serde(default)]
    pub per_patient: bool,
    /// Patients in the whole cohort.
    pub patients: u64,
    /// Seed.
    pub seed: u64,
    /// Shard index and count.
    pub shard: (u64, u64),
    /// Accumulators, one per arm.
    pub arms: Vec<ArmAccumulator>,
    /// Failed patients: (arm, id, error).
    pub failures: Vec<(String, u64, String)>,
}

/// The whole `summary.json`.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Scenario name.
    pub scenario: String,
    /// Patients per arm requested.
    pub patients: u64,
    /// Seed.
    pub seed: u64,
    /// Horizon (days).
    pub horizon_days: f64,
    /// ALC lower limit of normal (cells/µL).
    pub lln: f64,
    /// Where outcomes count from.
    pub reference: String,
    /// Per-arm summaries.
    pub arms: Vec<ArmSummary>,
    /// The sweep parameter, if any.
    pub sweep_parameter: Option<String>,
    /// The bound, if any.
    pub bound: Option<Bound>,
    /// The reference arm (cladribine alone in the same population), if any.
    pub reference_arm: Option<String>,
    /// Curves over the sweep, one per base arm.
    pub sweep: Vec<SweepCurve>,
}

/// Builds the summary from merged accumulators.
pub fn summarise(scenario: &Scenario, arms: &[ArmAccumulator]) -> Summary {
    let names: Vec<String> = scenario.spec.outcomes.recoveries.iter().map(|r| r.label()).collect();
    let sums: Vec<ArmSummary> = arms.iter().map(|a| ArmSummary::from_accumulator(a, &names)).collect();
    let reference_summary = scenario.reference_arm.map(|i| &sums[i]);
    let sweep = match &scenario.sweep {
        Some(sw) => curves(
            &scenario.spec.arms,
            &sums,
            &scenario.base_names,
            sw,
            scenario.bound.as_ref(),
            reference_summary,
        ),
        None => Vec::new(),
    };
    let reference = match scenario.spec.outcomes.reference {
        crate::outcome::Reference::Start => "start".to_string(),
        crate::outcome::Reference::Switch => "switch".to_string(),
        crate::outcome::Reference::Day(d) => format!("day {d}"),
    };
    Summary {
        scenario: scenario.name.clone(),
        patients: scenario.spec.patients,
        seed: scenario.spec.seed,
        horizon_days: scenario.spec.horizon_days,
        lln: scenario.spec.outcomes.scale.lln(),
        reference,
        arms: sums,
        sweep_parameter: scenario.sweep.as_ref().map(|s| s.parameter.to_string()),
        bound: scenario.bound,
        reference_arm: scenario.reference_arm.map(|i| scenario.spec.arms[i].name.clone()),
        sweep,
    }
}

fn opt(v: Option<f64>) -> String {
    v.map(|x| format!("{x}")).unwrap_or_default()
}

/// `bands.csv`.
pub fn bands_csv(arms: &[ArmAccumulator]) -> String {
    let mut s = String::from("arm,day,subset,p5,p25,p50,p75,p95\n");
    for a in arms {
        for (day, hs) in a.band_days.iter().zip(&a.bands) {
            for (name, h) in BAND_SUBSETS.iter().zip(hs) {
                let q: Vec<String> = QUANTILES
                    .iter()
                    .map(|&p| opt(h.quantile(p).map(|v| (v * 100.0).round() / 100.0)))
                    .collect();
                s.push_str(&format!("{},{day},{name},{}\n", a.name, q.join(",")));
            }
        }
    }
    s
}

/// `grades.csv`.
pub fn grades_csv(arms: &[ArmAccumulator]) -> String {
    let mut s = String::from("arm,day,patients,g0,g1,g2,g3,g4\n");
    for a in arms {
        for (day, g) in a.band_days.iter().zip(&a.grades) {
            let n: u64 = g.iter().sum();
            let f: Vec<String> = g
                .iter()
                .map(|&c| {
                    if n > 0 {
                        format!("{:.6}", c as f64 / n as f64)
                    } else {
                        String::new()
                    }
                })
                .collect();
            s.push_str(&format!("{},{day},{n},{}\n", a.name, f.join(",")));
        }
    }
    s
}

/// `patients.csv`.
pub fn patients_csv(scenario: &Scenario, result: &CohortResult) -> String {
    let rec: Vec<String> = scenario
        .spec
        .outcomes
        .recoveries
        .iter()
        .map(|r| format!("days_to_{}", r.label().replace(' ', "")))
        .collect();
    let mut s = String::from(
        "id,arm,weight_kg,age_years,crcl_ml_min,neutralising_antibodies,excluded,reference_day,ALC_at_reference,CD4_at_reference,CD8_at_reference,CD19_at_reference,NK_at_reference,nadir_ALC,nadir_ALC_day,nadir_CD4,nadir_CD4_day,nadir_CD8,nadir_CD8_day,nadir_CD19,nadir_CD19_day,worst_grade,days_grade_ge2,days_grade_ge3,days_grade4,days_cd4_below_200,delay_days,stopped",
    );
    for r in &rec {
        s.push(',');
        s.push_str(r);
    }
    // With lab visits: what they saw — the worst grade and each recovery read at them.
    let visits = !scenario.spec.outcomes.visit_days.is_empty();
    if visits {
        s.push_str(",worst_grade_at_visits");
        for r in &rec {
            s.push_str(&format!(",{r}_at_visits"));
        }
    }
    let visit_columns = if visits { 1 + rec.len() } else { 0 };
    s.push('\n');
    for row in &result.rows {
        let p = &row.patient;
        let arm = &scenario.spec.arms[row.arm].name;
        s.push_str(&format!(
            "{},{arm},{:.2},{:.1},{:.1},{},",
            p.id, p.weight_kg, p.age_years, p.crcl_ml_min, p.neutralising_antibodies
        ));
        match &row.outcome {
            None => {
                // Every column after `excluded` is empty: the 21 outcome columns, the recoveries and, with
                // visits, what the visits saw.
                s.push_str("true");
                s.push_str(&",".repeat(21 + rec.len() + visit_columns));
            }
            Some(o) => {
                s.push_str("false,");
                match &o.window {
                    // Reference day not reached within the horizon: every outcome is missing, not zero.
                    None => s.push_str(&",".repeat(18)),
                    Some(w) => {
                        s.push_str(&w.reference_day.to_string());
                        for v in w.at_reference {
                            s.push_str(&format!(",{v:.2}"));
                        }
                        for c in NADIR_SUBSETS {
                            let n = w.nadir(c);
                            s.push_str(&format!(",{:.2},{:.2}", n.value, n.day));
                        }
                        // Durations are fractional days, written to the hundredth.
                        s.push_str(&format!(
                            ",{},{:.2},{:.2},{:.2},{:.2}",
                            w.worst_grade, w.days_grade_ge2, w.days_grade_ge3, w.days_grade4, w.days_cd4_below_200,
                        ));
                    }
                }
                s.push_str(&format!(",{},{}", o.delay_days, o.stopped));
                for i in 0..rec.len() {
                    s.push(',');
                    if let Some(d) = o
                        .window
                        .as_ref()
                        .and_then(|w| w.recoveries.get(i).and_then(|r| r.days_after(w.reference_day)))
                    {
                        s.push_str(&d.to_string());
                    }
                }
                if visits {
                    // Missing (empty) when the window holds no visit, or no visit saw the count back.
                    let w = o.window.as_ref();
                    s.push(',');
                    if let Some(g) = w.and_then(|w| w.worst_grade_at_visits) {
                        s.push_str(&g.to_string());
                    }
                    let seen = w.and_then(|w| w.recoveries_at_visits.as_ref());
                    for i in 0..rec.len() {
                        s.push(',');
                        if let Some(d) = seen.and_then(|v| v.get(i).copied().flatten()) {
                            s.push_str(&d.to_string());
                        }
                    }
                }
            }
        }
        s.push('\n');
    }
    s
}

/// A CSV field, quoted (an arm name may hold commas or quotes).
pub fn csv_field(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// `failures.csv`.
pub fn failures_csv(failures: &[Failure]) -> String {
    let mut s = String::from("id,arm,error");
    for n in ModelParams::names() {
        s.push(',');
        s.push_str(n);
    }
    s.push('\n');
    for f in failures {
        s.push_str(&format!("{},{},{}", f.id, csv_field(&f.arm), csv_field(&f.error)));
        for n in ModelParams::names() {
            s.push_str(&format!(",{}", f.params.get(n).unwrap_or(f64::NAN)));
        }
        s.push('\n');
    }
    s
}

/// Writes `summary.json`, `bands.csv`, `grades.csv` and, when present, `patients.csv`, `failures.csv`.
pub fn write_results(
    dir: &Path,
    scenario: &Scenario,
    arms: &[ArmAccumulator],
    result: Option<&CohortResult>,
) -> Result<Summary> {
    let summary = summarise(scenario, arms);
    let json = serde_json::to_string_pretty(&summary).map_err(|e| Error::invalid("summary", "json", e.to_string()))?;
    write_atomic(&dir.join("summary.json"), format!("{json}\n").as_bytes())?;
    write_atomic(&dir.join("bands.csv"), bands_csv(arms).as_bytes())?;
    write_atomic(&dir.join("grades.csv"), grades_csv(arms).as_bytes())?;
    if let Some(r) = result {
        if !r.rows.is_empty() {
            write_atomic(&dir.join("patients.csv"), patients_csv(scenario, r).as_bytes())?;
        }
        write_atomic(&dir.join("failures.csv"), failures_csv(&r.failures).as_bytes())?;
    }
    Ok(summary)
}

/// Writes `state.json` for later merging.
pub fn write_state(dir: &Path, state: &RunState) -> Result<()> {
    let json = serde_json::to_string(state).map_err(|e| Error::invalid("state", "json", e.to_string()))?;
    write_atomic(&dir.join("state.json"), json.as_bytes())?;
    Ok(())
}

/// Reads a `state.json`.
pub fn read_state(dir: &Path) -> Result<RunState> {
    let path = dir.join("state.json");
    let text = std::fs::read_to_string(&path).map_err(|source| Error::Io {
        path: path.clone(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|e| {
        Error::invalid(
            path.display().to_string(),
            "state.json",
            format!("is not a lymphosim run state: {e}"),
        )
    })
}

/// Merges shard states: same scenario hash, and every shard `0..count` exactly once.
pub fn merge_states(states: &[RunState]) -> Result<RunState> {
    let first = states
        .first()
        .ok_or_else(|| Error::invalid("merge", "no directories", "needs at least one run directory"))?;
    let count = first.shard.1;
    let mut seen = vec![false; count as usize];
    for s in states {
        if s.scenario_hash != first.scenario_hash || s.patients != first.patients || s.seed != first.seed {
            return Err(Error::Merge(format!(
                "shard {}/{} comes from another study (scenario, parameter set, patients or seed differ: hash {} vs {})",
                s.shard.0, s.shard.1, s.scenario_hash, first.scenario_hash
            )));
        }
        if s.per_patient != first.per_patient {
            return Err(Error::Merge(
                "some shards kept per-patient rows and others did not; rerun them alike".into(),
            ));
        }
        if s.shard.1 != count || s.shard.0 >= count || seen[s.shard.0 as usize] {
            return Err(Error::Merge(format!(
                "shard {}/{} does not fit: the shards must be 0/{count} to {}/{count}, each once",
                s.shard.0,
                s.shard.1,
                count.saturating_sub(1)
            )));
        }
        seen[s.shard.0 as usize] = true;
    }
    let missing: Vec<String> = seen
        .iter()
        .enumerate()
        .filter(|(_, x)| !**x)
        .map(|(i, _)| format!("{i}/{count}"))
        .collect();
    if !missing.is_empty() {
        return Err(Error::Merge(format!("shard(s) {} missing", missing.join(", "))));
    }
    let mut sorted: Vec<&RunState> = states.iter().collect();
    sorted.sort_by_key(|s| s.shard.0);
    let mut merged = sorted[0].clone();
    for s in &sorted[1..] {
        for (a, b) in merged.arms.iter_mut().zip(&s.arms) {
            a.merge(b);
        }
        merged.failures.extend(s.failures.iter().cloned());
    }
    merged.shard = (0, 1);
    Ok(merged)
}

/// The state of a finished run or shard.
pub fn state_of(
    scenario_hash: &str,
    scenario_text: &str,
    params_toml: &str,
    scenario: &Scenario,
    shard: Shard,
    result: &CohortResult,
    per_patient: bool,
) -> RunState {
    RunState {
        format: 1,
        scenario_hash: scenario_hash.to_string(),
        scenario_text: scenario_text.to_string(),
        params_toml: params_toml.to_string(),
        per_patient,
        patients: scenario.spec.patients,
        seed: scenario.spec.seed,
        shard: (shard.index, shard.count),
        arms: result.arms.clone(),
        failures: result
            .failures
            .iter()
            .map(|f| (f.arm.clone(), f.id, f.error.clone()))
            .collect(),
    }
}
