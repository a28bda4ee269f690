//! Cohort runs: reproducibility across threads and shards, failures that never abort, the command line.

use std::path::{Path, PathBuf};

use super::support::{fresh_dir, lymphosim};

fn dir(name: &str) -> PathBuf {
    fresh_dir(&format!("cohort-{name}"))
}

fn read(d: &Path, f: &str) -> Vec<u8> {
    std::fs::read(d.join(f)).unwrap_or_else(|e| panic!("{}: {e}", d.join(f).display()))
}

const DETERMINISTIC: [&str; 4] = ["summary.json", "bands.csv", "grades.csv", "patients.csv"];

#[test]
fn results_are_byte_identical_for_any_thread_count_and_sharding() {
    byte_identical("switch-interval");
}

/// The same with lab visits (the CLARITY preset): the grades and recoveries read at them merge exactly too.
#[test]
fn results_read_at_lab_visits_are_byte_identical_for_any_sharding() {
    byte_identical("clarity");
}

fn byte_identical(preset: &str) {
    let (one, two, merged) = (
        dir(&format!("{preset}-t1")),
        dir(&format!("{preset}-t2")),
        dir(&format!("{preset}-merged")),
    );
    let common = ["run", "--preset", preset, "--patients", "150", "--seed", "7", "--quiet"];
    let run = |extra: &[&str]| {
        let args: Vec<&str> = common.iter().chain(extra).copied().collect();
        let (ok, _, e) = lymphosim(&args);
        assert!(ok, "{args:?}: {e}");
    };
    run(&["--threads", "1", "--out", one.to_str().unwrap()]);
    run(&["--threads", "2", "--out", two.to_str().unwrap()]);
    let shards: Vec<PathBuf> = (0..3).map(|i| dir(&format!("{preset}-shard{i}"))).collect();
    for (i, d) in shards.iter().enumerate() {
        run(&[
            "--threads",
            "2",
            "--shard",
            &format!("{i}/3"),
            "--out",
            d.to_str().unwrap(),
        ]);
    }
    let mut args = vec!["merge"];
    // Merge in scrambled order: the result must not depend on it.
    for d in [&shards[2], &shards[0], &shards[1]] {
        args.push(d.to_str().unwrap());
    }
    args.extend(["--out", merged.to_str().unwrap()]);
    let (ok, stdout, e) = lymphosim(&args);
    assert!(ok, "{e}");
    assert!(stdout.contains("P(G>=3)"), "{stdout}");
    for f in DETERMINISTIC {
        assert_eq!(read(&one, f), read(&two, f), "{f} differs between 1 and 2 threads");
        assert_eq!(
            read(&one, f),
            read(&merged, f),
            "{f} differs between one run and merged shards"
        );
    }
    // Timing and command line live in the manifest only.
    let m = String::from_utf8(read(&one, "manifest.json")).unwrap();
    assert!(m.contains("elapsed_seconds") && m.contains("scenario_hash"));
    assert!(!String::from_utf8(read(&one, "summary.json"))
        .unwrap()
        .contains("elapsed"));
}

#[test]
fn run_draws_fan_charts_and_risk_curves() {
    let d = dir("figs");
    let (ok, _, e) = lymphosim(&["run", "--patients", "30", "--quiet", "--out", d.to_str().unwrap()]);
    assert!(ok, "{e}");
    for f in [
        "risk.png",
        "risk.svg",
        "fan-01-switch-interval-months-6.png",
        "fan-06-switch-interval-months-36.svg",
        "grades-01-switch-interval-months-6.png",
        "grades-06-switch-interval-months-36.svg",
    ] {
        assert!(d.join(f).exists(), "{f} missing");
    }
    let svg = String::from_utf8(read(&d, "risk.svg")).unwrap();
    assert!(svg.contains("months from the last alemtuzumab infusion to cladribine") && svg.contains("patients (%)"));
    let grades = String::from_utf8(read(&d, "grades-01-switch-interval-months-6.svg")).unwrap();
    for needle in [
        "grade 4 (&lt; 200)",
        "grade 0 (ALC &gt;= LLN)",
        "months since first dose",
        "patients (%)",
    ] {
        assert!(grades.contains(needle), "grade figure lacks {needle:?}");
    }
    // `plot DIR` re-draws every figure from state.json alone.
    for f in [
        "risk.png",
        "fan-01-switch-interval-months-6.png",
        "grades-01-switch-interval-months-6.svg",
    ] {
        std::fs::remove_file(d.join(f)).unwrap();
    }
    let (ok, out, e) = lymphosim(&["plot", d.to_str().unwrap()]);
    assert!(ok, "{e}");
    for f in [
        "risk.png",
        "fan-01-switch-interval-months-6.png",
        "grades-01-switch-interval-months-6.svg",
    ] {
        assert!(d.join(f).exists() && out.contains(f), "{f} not re-drawn:\n{out}");
    }
    let (ok, _, e) = lymphosim(&["plot", dir("empty").to_str().unwrap()]);
    assert!(!ok && e.contains("state.json"), "{e}");
    let d2 = dir("noplots");
    let (ok, _, e) = lymphosim(&[
        "run",
        "--preset",
        "clarity",
        "--patients",
        "10",
        "--quiet",
        "--no-plots",
        "--out",
        d2.to_str().unwrap(),
    ]);
    assert!(ok, "{e}");
    assert!(!d2.join("fan-01-clarity-3-5.png").exists());
}

#[test]
fn merge_refuses_incomplete_or_mixed_shards() {
    let (a, b) = (dir("m0"), dir("m1"));
    let base = ["run", "--preset", "clarity", "--patients", "20", "--quiet"];
    let go = |extra: &[&str]| {
        let args: Vec<&str> = base.iter().chain(extra).copied().collect();
        assert!(lymphosim(&args).0);
    };
    go(&["--shard", "0/2", "--out", a.to_str().unwrap()]);
    go(&["--shard", "1/2", "--seed", "99", "--out", b.to_str().unwrap()]);
    let (ok, _, e) = lymphosim(&["merge", a.to_str().unwrap(), "--out", dir("mx").to_str().unwrap()]);
    assert!(!ok && e.contains("missing"), "{e}");
    let (ok, _, e) = lymphosim(&[
        "merge",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--out",
        dir("my").to_str().unwrap(),
    ]);
    assert!(!ok && e.contains("another study"), "{e}");
}

#[test]
fn summary_has_the_documented_fields() {
    let d = dir("fields");
    let (ok, _, e) = lymphosim(&[
        "run",
        "--preset",
        "clarity",
        "--patients",
        "60",
        "--quiet",
        "--out",
        d.to_str().unwrap(),
    ]);
    assert!(ok, "{e}");
    let v: serde_json::Value = serde_json::from_slice(&read(&d, "summary.json")).unwrap();
    let arm = &v["arms"][0];
    assert_eq!(arm["name"], "clarity-3.5");
    let n = arm["patients"].as_u64().unwrap() + arm["excluded"].as_u64().unwrap() + arm["failed"].as_u64().unwrap();
    assert_eq!(n, 60);
    let f: Vec<f64> = arm["worst_grade_fractions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    assert_eq!(f.len(), 5);
    assert!((f.iter().sum::<f64>() - 1.0).abs() < 1e-5);
    let p = arm["p_grade_ge3"]["value"].as_f64().unwrap();
    let ci: Vec<f64> = arm["p_grade_ge3"]["ci95"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    assert!(ci[0] <= p && p <= ci[1]);
    assert!((p - (f[3] + f[4])).abs() < 1e-5);
    let bands = String::from_utf8(read(&d, "bands.csv")).unwrap();
    assert!(bands.starts_with("arm,day,subset,p5,p25,p50,p75,p95\n"));
    let grades = String::from_utf8(read(&d, "grades.csv")).unwrap();
    assert!(grades.lines().nth(1).unwrap().starts_with("clarity-3.5,0,"));
}

/// A patient whose parameters make the model invalid is recorded in failures.csv with its id, and the
/// others are still simulated.
#[test]
fn a_failed_patient_never_aborts_the_cohort() {
    use lymphosim::cohort::{run_cohort, Shard};
    let mut s = lymphosim::scenario::preset("clarity").unwrap();
    s.spec.patients = 40;
    // Memory proliferation capacity so variable that the closure breaks for some patients: a naive->memory
    // conversion larger than memory death. Set the typical activation close to the limit and let the naive
    // fraction vary: some patients fail validation.
    let mut typical = s.spec.population.typical().clone();
    typical.activation_cd4 = 0.0055;
    s.spec.population = lymphosim::population::PopulationModel::new(
        typical,
        s.spec.population.covariates().clone(),
        s.spec.population.variability().clone(),
    )
    .unwrap();
    let r = run_cohort(&s.spec, Shard::ALL, true, &|_| {});
    let a = &r.arms[0];
    assert!(a.failed > 0 && a.patients > 0, "failed {}, ok {}", a.failed, a.patients);
    assert_eq!(a.failed + a.patients + a.excluded, 40);
    assert_eq!(r.failures.len() as u64, a.failed);
    assert!(
        r.failures[0].error.contains("activation_cd4"),
        "{}",
        r.failures[0].error
    );
    assert_eq!(r.failures[0].params.activation_cd4, 0.0055);
    let csv = lymphosim::cohort::report::failures_csv(&r.failures);
    assert!(csv
        .lines()
        .nth(1)
        .unwrap()
        .starts_with(&format!("{},", r.failures[0].id)));
}
