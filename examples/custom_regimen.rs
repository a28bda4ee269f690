//! A custom regimen with a lab rule, built in code.
//!
//! Run: `cargo run --release --example custom_regimen`
//!
//! One alemtuzumab course, then cladribine 10 mg a day for 5 days — but only once CD4 is back above
//! 250 cells/µL, checked every month for up to a year. What to look at: how long the rule makes the patient
//! wait, and what the CD4 count does afterwards.

use lymphosim::model::state::FullState;
use lymphosim::population::rng::patient_rng;
use lymphosim::prelude::*;
use lymphosim::regimen::{Count, Gate, OnFail};
use lymphosim::units::{hours, months};

/// Collects CD4 on the first of each month.
struct MonthlyCd4<'m> {
    model: &'m Model,
    rows: Vec<(f64, f64)>,
}

impl Observer for MonthlyCd4<'_> {
    fn on_observation(&mut self, day: f64, state: &FullState) {
        self.rows.push((day, self.model.observe(state).cd4));
    }
}

fn main() -> lymphosim::Result<()> {
    let mut regimen = Regimen::default()
        .with(
            Start::AtDay(0.0),
            Course::infusion_daily("alemtuzumab", Drug::Alemtuzumab, 5, 12.0, hours(4.0)),
        )
        .with(
            Start::AfterPreviousEnd(months(3.0)),
            Course::oral_daily("cladribine", Drug::Cladribine, &[10.0; 5]),
        );
    regimen.courses[1].gate = Some(Gate {
        observable: Count::Cd4,
        min_cells_per_ul: 250.0,
        resume_cells_per_ul: None,
        recheck_every_days: months(1.0),
        max_delay_days: months(12.0),
        on_fail: OnFail::Stop,
    });

    let model = Model::shipped();
    let horizon = months(30.0);
    let days: Vec<f64> = (0..=30).map(|m| months(m as f64).round()).collect();
    let problem = Problem::new(model.clone(), &regimen, horizon)?.with_observation_days(days)?;
    let mut obs = MonthlyCd4 {
        model: &model,
        rows: Vec::new(),
    };
    // The patient's random stream is only read for lab measurement noise, which is off here.
    let run = solve(&problem, &SimOptions::default(), &mut patient_rng(1, 0), &mut obs)?;

    let clad = &run.courses[1];
    match clad.start {
        Some(start) => println!(
            "cladribine planned for day {:.0}, given on day {:.0} after {} visits: the CD4 rule delayed it by {:.0} days",
            clad.planned_start, start, clad.visits, clad.delay_days
        ),
        None => println!("CD4 never reached 250 cells/uL within a year: cladribine was not given"),
    }
    println!("\nmonth   CD4 (cells/uL)");
    for (day, cd4) in &obs.rows {
        println!("{:>5.0}   {:>6.0}", day / lymphosim::units::DAYS_PER_MONTH, cd4);
    }
    Ok(())
}
