//! Listing commands: presets, methods, event tables, target comparison.

use anyhow::Context;
use lymphosim::calibration::{targets, typical, EMBEDDED_TARGETS};
use lymphosim::model::ModelParams;
use lymphosim::output::{write_atomic, Written};
use lymphosim::regimen::{event_table, presets};
use lymphosim::solver::Method;

use super::{EventsArgs, TargetsArgs};

pub(super) fn presets() {
    for (name, what) in presets::NAMES.iter().zip(presets::DESCRIPTIONS) {
        println!("{name:<20} {what}");
    }
}

pub(super) fn methods() {
    for m in Method::ALL {
        println!("{:<20} {}", m.name(), m.describe());
    }
}

pub(super) fn params() {
    let p = ModelParams::reference_v1();
    println!("| name | symbol | typical value | unit | basis |");
    println!("|---|---|---|---|---|");
    for spec in ModelParams::SPECS {
        let v = p.get(spec.name).expect("every spec names a field");
        println!(
            "| `{}` | {} | {} | {} | {} |",
            spec.name,
            spec.symbol,
            format_value(v),
            spec.unit,
            spec.basis
        );
    }
}

fn format_value(v: f64) -> String {
    if v != 0.0 && (v.abs() < 1e-3 || v.abs() >= 1e5) {
        format!("{v:e}")
    } else {
        format!("{}", (v * 1e6).round() / 1e6)
    }
}

pub(super) fn events(a: &EventsArgs) -> anyhow::Result<()> {
    let r = presets::build(&a.regimen.preset, &a.regimen.preset_options())?;
    let table = event_table::write(&r.administrations()?);
    match &a.out {
        None => print!("{table}"),
        Some(p) => {
            let w = write_atomic(p, table.as_bytes())?;
            let verb = if w == Written::Replaced { "replaced" } else { "wrote" };
            println!("{verb} {}", p.display());
        }
    }
    Ok(())
}

fn fmt(v: Option<f64>) -> String {
    match v {
        Some(x) if x.is_infinite() => "never".into(),
        Some(x) if x.abs() >= 100.0 => format!("{x:.0}"),
        Some(x) => format!("{x:.3}"),
        None => "-".into(),
    }
}

pub(super) fn targets(a: &TargetsArgs) -> anyhow::Result<()> {
    let text = match &a.file {
        Some(p) => std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?,
        None => EMBEDDED_TARGETS.to_string(),
    };
    let ts = targets::parse(&text)?;
    let opts = a.solver.options()?;
    let mut rows = typical::compare(&ts, &ModelParams::reference_v1(), &opts)?;
    if a.cohort {
        let pop = lymphosim::population::PopulationModel::reference_v1();
        let cohort_rows = lymphosim::calibration::cohort::compare(&ts, &pop, a.patients, a.seed)?;
        for c in cohort_rows {
            if let Some(r) = rows.iter_mut().find(|r| r.target.id == c.target.id) {
                *r = c;
            }
        }
    }
    println!(
        "{:<4} {:<11} {:<48} {:>9} {:>12} {:>14} {:<6}",
        "id", "subset", "statistic", "model", "target", "tolerance", "within"
    );
    let (mut met, mut evaluated) = (0, 0);
    for r in &rows {
        let within = match r.within {
            Some(true) => {
                met += 1;
                evaluated += 1;
                "yes"
            }
            Some(false) => {
                evaluated += 1;
                "NO"
            }
            None => "-",
        };
        let stat: String = r.target.statistic.chars().take(48).collect();
        println!(
            "{:<4} {:<11} {:<48} {:>9} {:>12} {:>14} {:<6} {}",
            r.target.id,
            r.target.subset,
            stat,
            fmt(r.model),
            r.target.value.to_string(),
            r.target.tolerance.to_string(),
            within,
            if r.model.is_none() || r.note.starts_with("model ") {
                r.note.as_str()
            } else {
                ""
            }
        );
    }
    let who = if a.cohort {
        format!("typical patient and {}-patient cohorts", a.patients)
    } else {
        "typical patient".into()
    };
    let rest = if a.cohort {
        "not evaluated"
    } else {
        "need a cohort (--cohort) or are not evaluated"
    };
    println!(
        "{who} within tolerance: {met} of {evaluated} evaluated targets ({} {rest})",
        rows.len() - evaluated
    );
    Ok(())
}
