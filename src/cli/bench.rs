//! `lymphosim bench work-precision`.

use lymphosim::output::write_atomic;
use lymphosim::work_precision::{self, Study, StudyConfig, TARGET_ERROR};

use super::WorkPrecisionArgs;

pub(super) fn work_precision(a: &WorkPrecisionArgs) -> anyhow::Result<()> {
    if a.decision {
        return decision(a);
    }
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

/// `bench work-precision --decision`: the switch question's metrics per method and tolerance.
fn decision(a: &WorkPrecisionArgs) -> anyhow::Result<()> {
    use lymphosim::work_precision::{decision_study, DECISION_METRICS};
    let quiet = a.quiet;
    let s = decision_study(a.patients, a.seed, a.quick, &mut |line| {
        if !quiet {
            eprintln!("{line}");
        }
    })?;
    println!(
        "sequence at 12 months, label rules, 5 years, {} patients; reference (dopri5/exact, 1e-10): P(G>=3) {:.4}, P(CD4<200) {:.4}, median CD4 nadir {:.1}",
        s.patients, s.reference[0], s.reference[1], s.reference[2]
    );
    println!(
        "Monte Carlo standard error at this size: P(G>=3) {:.4}, P(CD4<200) {:.4} (the nadir median is resolved to one 4.7 % bin)",
        s.mc_se[0], s.mc_se[1]
    );
    println!(
        "{:<28} {:>9} {:>14} {:>16} {:>18} {:>12}",
        "method/pk",
        "rtol|step",
        format!("err {}", DECISION_METRICS[0]),
        format!("err {}", DECISION_METRICS[1]),
        format!("err {}", DECISION_METRICS[2]),
        "µs/patient"
    );
    for r in &s.rows {
        println!(
            "{:<28} {:>9.0e} {:>14.1e} {:>16.1e} {:>18.2} {:>12.1}",
            r.candidate, r.rung, r.error[0], r.error[1], r.error[2], r.us_per_patient
        );
    }
    println!("loosest setting from which the proportions stay within a tenth of their Monte Carlo error:");
    let mut seen: Vec<&str> = Vec::new();
    for r in &s.rows {
        if !seen.contains(&r.candidate.as_str()) {
            seen.push(&r.candidate);
            let v = s.loosest_sufficient(&r.candidate);
            println!(
                "  {:<28} {}",
                r.candidate,
                v.map_or("none on the ladder".to_string(), |x| format!("{x:.0e}"))
            );
        }
    }
    std::fs::create_dir_all(&a.out)?;
    let csv = a.out.join("decision.csv");
    write_atomic(&csv, s.to_csv().as_bytes())?;
    println!("wrote {}", csv.display());
    Ok(())
}
