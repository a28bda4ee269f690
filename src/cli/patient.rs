//! `lymphosim patient`: one typical patient, a summary on stdout and a CSV.

use std::path::PathBuf;

use anyhow::Context;
use lymphosim::model::GradeScale;
use lymphosim::outcome::{Cd4Recovery, Nadir, PatientSummary};
use lymphosim::output::{trajectory_csv, write_atomic, Written};
use lymphosim::prelude::*;
use lymphosim::regimen::event_table;

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
        None => Ok((
            presets::build(&a.regimen.preset, &a.regimen.preset_options())?,
            a.regimen.preset.clone(),
        )),
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
    let traj = simulate(&problem, &opts)?;
    let s = PatientSummary::from_trajectory(problem.model(), &traj, &scale);

    println!("lymphosim patient: typical patient (model {variant}, {source}), regimen `{label}`");
    println!(
        "  {} dose events over {} days; method {}, pk {}, rtol {:e}",
        problem.events().len(),
        a.days,
        opts.method,
        opts.pk,
        opts.solver.rtol
    );
    for (name, n) in [
        ("ALC", &s.alc),
        ("CD4", &s.cd4),
        ("CD8", &s.cd8),
        ("CD19", &s.cd19),
        ("NK", &s.nk),
    ] {
        println!("{}", show(name, n));
    }
    println!(
        "  worst CTCAE grade {} (LLN {} cells/uL), first on day {}",
        s.worst_grade.0,
        scale.lln(),
        s.worst_grade.1
    );
    match s.cd4_recovery {
        Cd4Recovery::NeverBelow => println!("  CD4 never fell below 200 cells/uL"),
        Cd4Recovery::Returned { first_below, day } => {
            println!("  CD4 below 200 cells/uL from day {first_below}; first back above 200 on day {day}")
        }
        Cd4Recovery::NotWithinHorizon { first_below } => {
            println!(
                "  CD4 below 200 cells/uL from day {first_below}; not back above 200 within {} days",
                a.days
            )
        }
    }
    let admins = regimen.administrations()?;
    let phases = lymphosim::outcome::phases(problem.model(), &traj, &admins, &scale);
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
            println!(
                "    until day {:.0}: ALC nadir {:.0} (day {}), CD4 nadir {:.0} (day {}), worst grade {}",
                ph.end_day,
                ph.within.alc.value,
                ph.within.alc.day,
                ph.within.cd4.value,
                ph.within.cd4.day,
                ph.within.worst_grade.0
            );
        }
    }
    println!(
        "  solver: {} segments, {} steps ({} rejected), {} RHS evaluations",
        traj.stats.segments, traj.stats.accepted_steps, traj.stats.rejected_steps, traj.stats.rhs_evals
    );

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
        let [png, svg] = lymphosim::plot::patient_figure(&out, problem.model(), &traj, &admins, &scale, &title)?;
        println!("wrote {} and {}", png.display(), svg.display());
    }
    Ok(())
}
