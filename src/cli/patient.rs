//! `lymphosim patient`: one typical patient, a summary on stdout and a CSV.

use std::path::PathBuf;

use anyhow::Context;
use lymphosim::model::GradeScale;
use lymphosim::outcome::{phases, Nadir, OutcomeConfig, OutcomeTracker, RecoveryOutcome};
use lymphosim::output::{trajectory_csv, write_atomic, Written};
use lymphosim::population::rng::patient_rng;
use lymphosim::prelude::*;
use lymphosim::regimen::event_table;
use lymphosim::regimen::Count;
use lymphosim::simulate::CourseFate;

use super::PatientArgs;

fn regimen(a: &PatientArgs) -> anyhow::Result<(Regimen, String)> {
    match &a.events {
        Some(path) => {
            let text =
                std::fs::read_to_string(path).with_context(|| format!("reading event table {}", path.display()))?;
            let r = event_table::read(&text).with_context(|| format!("in {}", path.display()))?;
            let stem = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "events".into());
            Ok((r, stem))
        }
        None => {
            let label = match a.regimen.preset.as_str() {
                // Two intervals must not overwrite each other's files.
                "sequence" => format!("sequence-{}m", a.regimen.interval_months),
                name => name.to_string(),
            };
            Ok((presets::build(&a.regimen.preset, &a.regimen.preset_options())?, label))
        }
    }
}

fn show(name: &str, n: &Nadir) -> String {
    format!("  {name:<5} nadir {:>8.1} cells/uL on day {:>6.0}", n.value, n.day)
}

pub(super) fn run(a: &PatientArgs) -> anyhow::Result<()> {
    let opts = a.solver.options()?;
    let scale = GradeScale::with_lln(a.lln)?;
    let (regimen, label) = regimen(a)?;
    let set = super::load_params(a.params.as_deref())?;
    let variant = set.model.clone();
    let model = Model::new(set.typical)?;
    let source = match a.params.as_deref() {
        None => "shipped calibrated parameters".to_string(),
        Some("reference") => "first-guess parameters".to_string(),
        Some("v1") => "calibrated v1 parameters".to_string(),
        Some(p) => format!("parameters from {p}"),
    };
    let problem = Problem::new(model, &regimen, a.days)?;
    let cfg = OutcomeConfig::whole_run(scale);
    let mut traj = Trajectory::for_problem(&problem);
    let mut tracker = OutcomeTracker::new(problem.model(), &cfg, problem.regimen());
    // The typical patient's gates read exact counts, so its random stream is never drawn from.
    solve(&problem, &opts, &mut patient_rng(0, 0), &mut (&mut traj, &mut tracker))?;
    let outcome = tracker.finish();
    let s = outcome
        .window
        .context("no observation was made: the horizon holds no observation day")?;

    println!("lymphosim patient: typical patient (model {variant}, {source}), regimen `{label}`");
    println!(
        "  {} dose events over {} days; method {}, pk {}, rtol {:e}",
        lymphosim::regimen::events_from(&traj.run.administrations).len(),
        a.days,
        opts.method,
        opts.pk,
        opts.solver.rtol
    );
    for c in Count::ALL {
        println!("{}", show(c.name(), &s.nadir(c)));
    }
    println!(
        "  worst CTCAE grade {} (LLN {} cells/uL), first on day {:.1}",
        s.worst_grade,
        scale.lln(),
        s.worst_grade_day
    );
    match s.recoveries[0] {
        RecoveryOutcome::NeverBelow => println!("  CD4 never fell below 200 cells/uL"),
        RecoveryOutcome::Returned { first_below, day } => {
            println!("  CD4 below 200 cells/uL from day {first_below:.1}; first back above 200 on day {day:.1}")
        }
        RecoveryOutcome::NotWithinHorizon { first_below } => {
            println!(
                "  CD4 below 200 cells/uL from day {first_below:.1}; not back above 200 within {} days",
                a.days
            )
        }
    }
    for c in traj.run.courses.iter().filter(|c| c.fate != CourseFate::OnTime) {
        println!(
            "  course {} ({}) {}: planned day {:.1}, {}",
            c.course,
            c.drug,
            c.fate.name(),
            c.planned_start,
            match c.start {
                Some(day) => format!(
                    "given from day {day:.1}, {} of {} doses",
                    c.doses_given, c.doses_planned
                ),
                None => "not given".to_string(),
            }
        );
    }
    let phases = phases(problem.model(), &traj, &scale);
    if phases.len() > 1 {
        for ph in &phases {
            let start = ph
                .at_start
                .map(|o| {
                    format!(
                        "ALC {:.0}, CD4 {:.0}, CD19 {:.0} cells/uL (grade {})",
                        o.alc,
                        o.cd4,
                        o.cd19,
                        scale.grade(o.alc)
                    )
                })
                .unwrap_or_default();
            println!("  {} from day {:.1}: at start {start}", ph.drug, ph.start_day);
            if let Some(w) = &ph.within {
                let (alc, cd4) = (w.nadir(Count::Alc), w.nadir(Count::Cd4));
                println!(
                    "    until day {:.0}: ALC nadir {:.0} (day {:.0}), CD4 nadir {:.0} (day {:.0}), worst grade {}",
                    ph.end_day, alc.value, alc.day, cd4.value, cd4.day, w.worst_grade
                );
            }
        }
    }
    println!(
        "  solver: {} segments, {} steps ({} rejected), {} RHS evaluations",
        traj.run.stats.segments, traj.run.stats.accepted_steps, traj.run.stats.rejected_steps, traj.run.stats.rhs_evals
    );
    if a.time_solves > 0 {
        // The same solve again, timed in process (no start-up, no output): for comparing solvers and peers.
        let mut secs: Vec<f64> = (0..a.time_solves)
            .map(|_| {
                let mut t = Trajectory::for_problem(&problem);
                let mut tr = OutcomeTracker::new(problem.model(), &cfg, problem.regimen());
                let started = std::time::Instant::now();
                solve(&problem, &opts, &mut patient_rng(0, 0), &mut (&mut t, &mut tr)).map(|_| started.elapsed())
            })
            .map(|r| r.map(|d| d.as_secs_f64()))
            .collect::<Result<_, _>>()?;
        secs.sort_by(f64::total_cmp);
        println!(
            "  solve time: median {:.1} us, fastest {:.1} us over {} solves (in process: no start-up, no output)",
            1e6 * secs[secs.len() / 2],
            1e6 * secs[0],
            secs.len()
        );
    }

    let out = a
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("lymphosim-out/patient-{label}.csv")));
    let csv = trajectory_csv(problem.model(), &traj, &scale);
    match write_atomic(&out, csv.as_bytes())? {
        Written::Created => println!("wrote {} ({} rows)", out.display(), traj.days.len()),
        Written::Replaced => println!(
            "wrote {} ({} rows; replaced the previous file)",
            out.display(),
            traj.days.len()
        ),
    }
    if !a.no_plots {
        let title = format!("Typical patient, {label}");
        let [png, svg] =
            lymphosim::plot::patient_figure(&out, problem.model(), &traj, &traj.run.administrations, &scale, &title)?;
        println!("wrote {} and {}", png.display(), svg.display());
    }
    Ok(())
}
