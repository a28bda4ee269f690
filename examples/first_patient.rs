//! A first patient: alemtuzumab on its label, followed for three years.
//!
//! Run: `cargo run --release --example first_patient`
//!
//! What to look at: all subsets crash within days of the first infusion; B cells (CD19) come back first and
//! overshoot their baseline within a year, while CD4 T cells stay low for years. The ALC (what the label
//! checks) recovers long before CD4 does — the reason the switch question is hard.

use lymphosim::prelude::*;

fn main() -> lymphosim::Result<()> {
    // The shipped calibrated typical patient (the same numbers as `lymphosim patient`).
    let model = Model::shipped();
    let regimen = presets::alemtuzumab_label();
    let problem = Problem::new(model, &regimen, 3.0 * 365.25)?;
    let trajectory = simulate(&problem, &SimOptions::default())?;
    let obs = trajectory.observables(problem.model());
    let base = &obs[0];

    println!("day     ALC    CD4    CD8   CD19     NK   (% of baseline)");
    for month in [0usize, 1, 3, 6, 9, 12, 13, 15, 18, 24, 30, 36] {
        let day = (month as f64 * lymphosim::units::DAYS_PER_MONTH).round() as usize;
        let o = &obs[day.min(obs.len() - 1)];
        println!(
            "{day:>4} {:>6.0}% {:>5.0}% {:>5.0}% {:>5.0}% {:>5.0}%",
            100.0 * o.alc / base.alc,
            100.0 * o.cd4 / base.cd4,
            100.0 * o.cd8 / base.cd8,
            100.0 * o.cd19 / base.cd19,
            100.0 * o.nk / base.nk
        );
    }
    // The same outcome engine a cohort uses, counting from day 0.
    let cfg = OutcomeConfig::whole_run(GradeScale::default());
    let outcome = PatientOutcome::from_trajectory(problem.model(), &trajectory, &cfg, problem.regimen());
    if let Some(w) = &outcome.window {
        println!(
            "\nworst CTCAE grade: {} (first on day {:.1})",
            w.worst_grade, w.worst_grade_day
        );
        let cd4 = w.nadir(Count::Cd4);
        println!("CD4 nadir {:.0} cells/uL on day {:.0}", cd4.value, cd4.day);
    }
    Ok(())
}
