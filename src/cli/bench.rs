//! `lymphosim bench work-precision`.

use lymphosim::output::write_atomic;
use lymphosim::work_precision::{self, Study, StudyConfig, TARGET_ERROR};

use super::WorkPrecisionArgs;

pub(super) fn work_precision(a: &WorkPrecisionArgs) -> anyhow::Result<()> {
    let cfg = StudyConfig {
        patients: a.patients,
        seed: a.seed,
        quick: a.quick,
    };
    let quiet = a.quiet;
    let study = work_precision::run(&cfg, &mut |line| {
        if !quiet {
            eprintln!("{line}");
        }
    })?;
    print_table(&study);
    let csv = a.out.join("work-precision.csv");
    write_atomic(&csv, study.to_csv().as_bytes())?;
    println!("wrote {}", csv.display());
    if !a.no_plots {
        for p in lymphosim::plot::work_precision_figure(&a.out, &study)? {
            println!("wrote {}", p.display());
        }
    }
    Ok(())
}

fn print_table(s: &Study) {
    for check in &s.references {
        let regimen = &check.regimen;
        println!();
        println!(
            "{regimen} ({} patients, 10 years; reference agreement {:.1e}{})",
            s.patients,
            check.disagreement,
            if check.agrees() { "" } else { " -- NOT within 1e-10" }
        );
        println!(
            "{:<28} {:>9} {:>10} {:>12} {:>10} {:>9} {:>9} {:>9}",
            "method/pk", "rtol|step", "error", "µs/patient", "RHS", "accepted", "rejected", "LU"
        );
        for r in s.rows.iter().filter(|r| &r.regimen == regimen) {
            let err = if r.failed > 0 {
                format!("{} failed", r.failed)
            } else {
                format!("{:.1e}", r.error)
            };
            println!(
                "{:<28} {:>9.0e} {:>10} {:>12.1} {:>10.0} {:>9.0} {:>9.1} {:>9.0}",
                r.candidate, r.rung, err, r.us_per_patient, r.rhs_evals, r.accepted, r.rejected, r.lu
            );
        }
        println!("cheapest run with error <= {TARGET_ERROR:.0e}:");
        let mut best: Vec<(&str, f64)> = Vec::new();
        for r in s.rows.iter().filter(|r| &r.regimen == regimen) {
            if !best.iter().any(|(c, _)| *c == r.candidate) {
                if let Some(b) = s.cheapest_within(regimen, &r.candidate, TARGET_ERROR) {
                    best.push((&r.candidate, b.us_per_patient));
                }
            }
        }
        best.sort_by(|a, b| a.1.total_cmp(&b.1));
        let fastest = best.first().map(|b| b.1).unwrap_or(f64::NAN);
        for (c, us) in &best {
            println!("  {c:<28} {us:>10.1} µs per patient ({:.1}x the fastest)", us / fastest);
        }
    }
}
