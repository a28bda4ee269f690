//! The sequencing question on a small cohort: switch 6 or 18 months after alemtuzumab?
//!
//! Run: `cargo run --release --example switch_question`
//!
//! Takes the embedded `switch-interval` scenario, keeps two intervals and 300 patients, and compares them.
//! What to look at: an early switch is delayed more often by the label rules (ALC not yet normal), and more
//! patients spend days with CD4 below 200 — even though ALC, which the label checks, looked acceptable.

use lymphosim::cohort::summary::ArmSummary;
use lymphosim::cohort::{run_cohort, Shard};
use lymphosim::scenario;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut s = scenario::preset("switch-interval")?;
    s.spec.patients = 300;
    // Keep the 6- and 18-month arms of the sweep.
    s.spec
        .arms
        .retain(|a| a.name.ends_with("=6") || a.name.ends_with("=18"));
    let result = run_cohort(&s.spec, Shard::ALL, false, &|_| {});
    let names: Vec<String> = s.spec.outcomes.recoveries.iter().map(|r| r.label()).collect();
    println!(
        "{:<28} {:>9} {:>10} {:>12} {:>16}",
        "arm", "delayed", "P(G>=3)", "P(CD4<200)", "median CD4 nadir"
    );
    for acc in &result.arms {
        let a = ArmSummary::from_accumulator(acc, &names);
        println!(
            "{:<28} {:>8.0}% {:>9.0}% {:>11.0}% {:>16.0}",
            a.name,
            100.0 * a.p_delayed.value,
            100.0 * a.p_grade_ge3.value,
            100.0 * a.p_cd4_below_200.value,
            a.nadir[1].1.p50.unwrap_or(f64::NAN)
        );
    }
    println!("\n(300 virtual patients per arm, the same patients in both arms; model v2 with the shipped calibrated parameters)");
    Ok(())
}
