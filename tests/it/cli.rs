//! The command line: the main job runs, bad input gets a clear error and never a panic.

use super::support::lymphosim;

/// A path in this process's CLI scratch directory (shared by the CLI tests, never wiped while they run).
fn tmp(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("lymphosim-it-{}-cli", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d.join(name)
}

#[test]
fn patient_writes_a_tidy_csv_and_a_summary() {
    let out = tmp("seq.csv");
    let (ok, stdout, stderr) = lymphosim(&[
        "patient",
        "--preset",
        "sequence",
        "--days",
        "1000",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    for needle in [
        "CD4",
        "nadir",
        "worst CTCAE grade",
        "back above 200",
        "alemtuzumab from day 0.0",
        "cladribine from day",
    ] {
        assert!(stdout.contains(needle), "summary lacks {needle:?}:\n{stdout}");
    }
    // The figure is drawn beside the CSV, with text from the bundled font.
    let png = std::fs::read(out.with_extension("png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert!(png.len() > 20_000, "PNG suspiciously small: {} bytes", png.len());
    let svg = std::fs::read_to_string(out.with_extension("svg")).unwrap();
    assert!(svg.contains("time since first dose (months)") && svg.contains("ALC (cells/µL)"));
    let csv = std::fs::read_to_string(&out).unwrap();
    let mut lines = csv.lines();
    assert!(lines.next().unwrap().starts_with("day,ALC,CD4,CD8,CD19,NK,grade,"));
    assert_eq!(lines.count(), 1001);
}

#[test]
fn no_plots_skips_the_figure() {
    let out = tmp("noplot.csv");
    let (ok, _, e) = lymphosim(&[
        "patient",
        "--preset",
        "untreated",
        "--days",
        "30",
        "--no-plots",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(ok, "{e}");
    assert!(out.exists() && !out.with_extension("png").exists());
}

#[test]
fn events_round_trip_through_the_command_line() {
    let ev = tmp("events.csv");
    let (ok, _, e) = lymphosim(&[
        "events",
        "--preset",
        "clarity-3.5",
        "--weight",
        "60",
        "--out",
        ev.to_str().unwrap(),
    ]);
    assert!(ok, "{e}");
    let (ok, stdout, e) = lymphosim(&[
        "patient",
        "--events",
        ev.to_str().unwrap(),
        "--days",
        "400",
        "--out",
        tmp("ev.csv").to_str().unwrap(),
    ]);
    assert!(ok, "{e}");
    assert!(stdout.contains("20 dose events"), "{stdout}");
}

#[test]
fn bad_input_is_a_clear_error_not_a_panic() {
    let cases: [(&[&str], &str); 9] = [
        (&["patient", "--preset", "cladribine-label", "--weight", "35"], "35"),
        (&["patient", "--preset", "no-such"], "unknown preset"),
        (&["patient", "--weight", "NaN"], "weight_kg"),
        (&["patient", "--interval-months", "-3"], "interval_months: must be"),
        (&["patient", "--days", "-1"], "days: must be"),
        (&["patient", "--rtol", "0"], "rtol: must be"),
        (&["patient", "--method", "euler"], "unknown method"),
        (&["patient", "--pk", "fast"], "pk"),
        (&["patient", "--lln", "500"], "lln"),
    ];
    for (args, needle) in cases {
        let (ok, _, stderr) = lymphosim(args);
        assert!(!ok, "{args:?} succeeded");
        assert!(stderr.contains(needle), "{args:?}: stderr lacks {needle:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?} panicked: {stderr}");
    }
}

#[test]
fn listing_commands_name_every_preset_and_method() {
    let (ok, out, _) = lymphosim(&["presets"]);
    assert!(ok);
    for p in lymphosim::regimen::presets::NAMES {
        assert!(out.contains(p));
    }
    let (ok, out, _) = lymphosim(&["methods"]);
    assert!(ok);
    for m in lymphosim::solver::Method::ALL {
        assert!(out.contains(m.name()));
    }
}

#[test]
fn targets_can_evaluate_cohort_statistics() {
    let (ok, out, e) = lymphosim(&["targets", "--cohort", "--patients", "80"]);
    assert!(ok, "{e}");
    for id in ["A15", "A16", "C18", "C19", "C20"] {
        let line = out
            .lines()
            .find(|l| l.starts_with(&format!("{id} ")))
            .unwrap_or_else(|| panic!("{id} missing:\n{out}"));
        assert!(!line.contains("needs a simulated cohort"), "{line}");
    }
    assert!(out.contains("80-patient cohorts"), "{out}");
}

#[test]
fn calibration_report_json_has_the_documented_fields() {
    let (ok, out, e) = lymphosim(&["calibration-report", "--json"]);
    assert!(ok, "{e}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let arr = v.as_array().unwrap();
    assert!(arr.len() >= 40);
    for key in ["id", "model", "target", "within", "fold_off"] {
        assert!(arr[0].get(key).is_some(), "missing {key}");
    }
    let (ok, _, e) = lymphosim(&["calibration-report", "--params", "/no/such/file.toml"]);
    assert!(!ok && e.contains("/no/such/file.toml"), "{e}");
    let d = tmp("calibration-figure");
    let (ok, _, e) = lymphosim(&["calibration-report", "--plot-dir", d.to_str().unwrap()]);
    assert!(ok, "{e}");
    let svg = std::fs::read_to_string(d.join("calibration.svg")).unwrap();
    assert!(
        svg.contains("in units of the target&apos;s tolerance") || svg.contains("in units of the target's tolerance")
    );
    assert!(svg.contains("C16 CD4 week of year-1 nadir") && d.join("calibration.png").exists());
}

#[test]
fn work_precision_command_prints_a_table_and_writes_csv_and_figure() {
    let dir = tmp("wp");
    let (ok, stdout, stderr) = lymphosim(&[
        "bench",
        "work-precision",
        "--quick",
        "--patients",
        "1",
        "--quiet",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    for needle in [
        "method/pk",
        "µs/patient",
        "rodas4/ode",
        "LU",
        "cheapest run with error <= 1e-5",
    ] {
        assert!(stdout.contains(needle), "table lacks {needle:?}:\n{stdout}");
    }
    let csv = std::fs::read_to_string(dir.join("work-precision.csv")).unwrap();
    assert!(csv.starts_with("regimen,method,pk,rung,error,us_per_patient,rhs_evals,"));
    let png = std::fs::read(dir.join("work-precision.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let svg = std::fs::read_to_string(dir.join("work-precision.svg")).unwrap();
    assert!(svg.contains("time per patient (µs, one thread)") && svg.contains("max relative error"));
    // Re-drawn from the CSV alone.
    std::fs::remove_file(dir.join("work-precision.png")).unwrap();
    let (ok, _, e) = lymphosim(&["plot", dir.to_str().unwrap()]);
    assert!(ok && dir.join("work-precision.png").exists(), "{e}");
}

/// A switch after the simulated period is "not reached": the table says n/a and warns, summary.json has null
/// risks and nadirs, and the bound never picks an interval whose risk could not be computed.
#[test]
fn a_switch_past_the_horizon_is_shown_as_not_reached() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/switch-interval.toml"))
        .unwrap()
        .replace("horizon_years = 10", "horizon_years = 3");
    let scenario = tmp("short-horizon.toml");
    std::fs::write(&scenario, text).unwrap();
    let out = tmp("short-horizon-out");
    let (ok, stdout, stderr) = lymphosim(&[
        "run",
        scenario.to_str().unwrap(),
        "--patients",
        "40",
        "--no-plots",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    let row = stdout
        .lines()
        .find(|l| l.starts_with("switch interval_months=24"))
        .unwrap();
    assert!(row.contains("n/a (not reached)") && !row.contains("100000"), "{row}");
    assert!(stdout.contains("never reached the reference day"), "{stdout}");
    assert!(stderr.contains("follow-up"), "{stderr}");
    assert!(
        stdout.contains("meets it: none on the grid (point estimate)"),
        "{stdout}"
    );
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let arm = &s["arms"][4];
    assert_eq!(arm["not_reached"], arm["patients"]);
    assert!(arm["p_grade_ge3"]["value"].is_null());
    assert!(arm["nadir"][1][1]["p50"].is_null());
    let patients = std::fs::read_to_string(out.join("patients.csv")).unwrap();
    assert!(!patients.contains("100000"));
}

/// An output directory is one unit: a re-run with other settings leaves no stale file, a directory that holds
/// something else is refused before any simulation, and a device, FIFO or symlink is never replaced.
#[test]
fn outputs_are_whole_and_never_destroy_what_is_not_ours() {
    let out = tmp("unit-out");
    let run = |extra: &[&str]| {
        let mut args = vec![
            "run",
            "--preset",
            "clarity",
            "--patients",
            "8",
            "--quiet",
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        lymphosim(&args)
    };
    let (ok, _, stderr) = run(&[]);
    assert!(ok, "{stderr}");
    assert!(
        out.join("patients.csv").exists() && out.join("risk.png").exists()
            || out.join("fan-01-clarity-3-5.png").exists()
    );
    let (ok, _, stderr) = run(&["--no-patients", "--no-plots"]);
    assert!(ok, "{stderr}");
    assert!(!out.join("patients.csv").exists(), "a stale patients.csv survived");
    assert!(!out.join("fan-01-clarity-3-5.png").exists(), "a stale figure survived");
    assert!(out.join("manifest.json").exists());
    let leftovers: Vec<_> = std::fs::read_dir(out.parent().unwrap())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains("unit-out.staging"))
        .collect();
    assert!(leftovers.is_empty());

    // A directory with someone else's files is refused.
    let foreign = tmp("foreign");
    std::fs::create_dir_all(&foreign).unwrap();
    std::fs::write(foreign.join("thesis.tex"), "precious").unwrap();
    let (ok, _, stderr) = lymphosim(&[
        "run",
        "--preset",
        "clarity",
        "--patients",
        "4",
        "--out",
        foreign.to_str().unwrap(),
    ]);
    assert!(!ok && stderr.contains("holds no lymphosim result"), "{stderr}");
    assert_eq!(std::fs::read_to_string(foreign.join("thesis.tex")).unwrap(), "precious");

    // A symlink as --out for a patient CSV is refused, and its target is untouched.
    #[cfg(unix)]
    {
        let target = tmp("link-target.csv");
        std::fs::write(&target, "keep").unwrap();
        let link = tmp("link.csv");
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let (ok, _, stderr) = lymphosim(&["patient", "--no-plots", "--out", link.to_str().unwrap()]);
        assert!(!ok && stderr.contains("symbolic link"), "{stderr}");
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep");
        let (ok, _, stderr) = lymphosim(&["patient", "--no-plots", "--out", "/dev/null"]);
        assert!(!ok && stderr.contains("not a regular file"), "{stderr}");
    }
}

/// merge refuses an output directory that is one of its inputs, and names a missing shard plainly.
#[test]
fn merge_protects_its_inputs() {
    let base = tmp("merge-guard");
    let dirs: Vec<String> = (0..2)
        .map(|i| base.join(i.to_string()).to_string_lossy().into_owned())
        .collect();
    for (i, d) in dirs.iter().enumerate() {
        let (ok, _, stderr) = lymphosim(&[
            "run",
            "--preset",
            "clarity",
            "--patients",
            "10",
            "--quiet",
            "--no-plots",
            "--shard",
            &format!("{i}/2"),
            "--out",
            d,
        ]);
        assert!(ok, "{stderr}");
    }
    let (ok, _, stderr) = lymphosim(&["merge", &dirs[0], &dirs[1], "--out", &dirs[0], "--no-plots"]);
    assert!(!ok && stderr.contains("is one of the shard directories"), "{stderr}");
    assert!(std::path::Path::new(&dirs[0]).join("state.json").exists());
    let (ok, _, stderr) = lymphosim(&[
        "merge",
        &dirs[0],
        "--out",
        base.join("m").to_str().unwrap(),
        "--no-plots",
    ]);
    assert!(!ok && stderr.contains("shard(s) 1/2 missing"), "{stderr}");
}

/// calibrate: the list to fit has its own flag, names each parameter once, and an unusable --out fails before
/// the fit.
#[test]
fn calibrate_checks_its_list_and_output_first() {
    let (ok, _, e) = lymphosim(&["calibrate", "--fit", "clad_kill_m4,clad_kill_m4", "--patients", "0"]);
    assert!(!ok && e.contains("clad_kill_m4 is named twice"), "{e}");
    let (ok, _, e) = lymphosim(&["calibrate", "--fit", "no_such_thing", "--patients", "0"]);
    assert!(!ok && e.contains("no_such_thing"), "{e}");
    let (ok, _, e) = lymphosim(&[
        "calibrate",
        "--fit",
        "clad_kill_m4",
        "--patients",
        "0",
        "--max-iters",
        "1",
        "--restarts",
        "0",
        "--out",
        "/dev/null",
    ]);
    assert!(!ok && e.contains("not a regular file"), "{e}");
}

/// A run that cannot fit in memory is refused before it starts, with the estimate and what to do.
#[test]
fn a_run_that_cannot_fit_is_refused_before_it_starts() {
    let out = tmp("too-big");
    let (ok, _, e) = lymphosim(&["run", "--patients", "1000000000", "--out", out.to_str().unwrap()]);
    assert!(!ok && e.contains("GB") && e.contains("--no-patients"), "{e}");
    assert!(!out.exists(), "nothing is written for a refused run");
}

/// Swept decimal values and arm names that differ only in punctuation never share a figure file; an arm in which
/// every patient is excluded warns, shows n/a and draws no figure of zeros.
#[test]
fn every_arm_has_its_own_files_and_empty_arms_say_so() {
    let scenario = tmp("decimal-sweep.toml");
    std::fs::write(
        &scenario,
        "name = \"d\"\npatients = 4\nhorizon_years = 3\n[[arms]]\nname = \"a b\"\npreset = \"cladribine-label\"\n\
         [[arms]]\nname = \"a-b\"\npreset = \"cladribine-label\"\n\
         [sweep]\nparameter = \"clad_kill_m4\"\nvalues = [0.22, 0.24]\n",
    )
    .unwrap();
    let out = tmp("decimal-sweep-out");
    let (ok, _, e) = lymphosim(&[
        "run",
        scenario.to_str().unwrap(),
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(ok, "{e}");
    let fans: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("fan-") && n.ends_with(".png"))
        .collect();
    assert_eq!(fans.len(), 4, "{fans:?}");

    let light = tmp("all-excluded.toml");
    std::fs::write(
        &light,
        "name = \"light\"\npatients = 6\nhorizon_years = 3\n[population.covariates]\nweight_median_kg = 25\nweight_cv = 0.05\n\
         [[arms]]\nname = \"clad\"\npreset = \"cladribine-label\"\n",
    )
    .unwrap();
    let out = tmp("all-excluded-out");
    let (ok, stdout, e) = lymphosim(&["run", light.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert!(ok, "{e}");
    assert!(
        stdout.contains("no patient was simulated") && !stdout.contains("NaN"),
        "{stdout}"
    );
    assert!(!out.join("fan-01-clad.png").exists());
}

/// merge refuses shards with and without per-patient rows, and keeps every parameter column in failures.csv.
#[test]
fn merge_refuses_mixed_shards_and_keeps_failure_columns() {
    let base = tmp("merge-mixed");
    let d: Vec<String> = (0..2)
        .map(|i| base.join(i.to_string()).to_string_lossy().into_owned())
        .collect();
    let run = |i: usize, extra: &[&str]| {
        let shard = format!("{i}/2");
        let mut args = vec![
            "run",
            "--preset",
            "clarity",
            "--patients",
            "8",
            "--quiet",
            "--no-plots",
            "--shard",
            &shard,
        ];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--out", &d[i]]);
        assert!(lymphosim(&args).0);
    };
    run(0, &[]);
    run(1, &["--no-patients"]);
    let m = base.join("m");
    let (ok, _, e) = lymphosim(&["merge", &d[0], &d[1], "--out", m.to_str().unwrap(), "--no-plots"]);
    assert!(!ok && e.contains("per-patient rows"), "{e}");
    run(1, &[]);
    let (ok, _, e) = lymphosim(&["merge", &d[0], &d[1], "--out", m.to_str().unwrap(), "--no-plots"]);
    assert!(ok, "{e}");
    let header = std::fs::read_to_string(m.join("failures.csv")).unwrap();
    assert!(header.lines().next().unwrap().contains("clad_kill_m4"), "{header}");
}

/// Parameter uncertainty end to end: `identifiability` writes a set with its posterior; `run --uncertainty N` runs
/// the same patients under N sets drawn from it and writes one row per set and arm, and each set's switch answer.
/// A set without a posterior, or sharding, is refused before any simulation. The shipped set carries its posterior.
#[test]
fn parameter_uncertainty_runs_from_identifiability_to_the_switch_answer() {
    let set = tmp("with-uncertainty.toml");
    let (ok, stdout, stderr) = lymphosim(&[
        "identifiability",
        "--fit",
        "clad_zref,clad_kill_m4",
        "--patients",
        "40",
        "--out",
        set.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("clad_zref") && stdout.contains("partner"), "{stdout}");
    assert!(std::fs::read_to_string(&set).unwrap().contains("[uncertainty]"));
    let out = tmp("uncertainty-run");
    let (ok, stdout, stderr) = lymphosim(&[
        "run",
        "--params",
        set.to_str().unwrap(),
        "--patients",
        "60",
        "--uncertainty",
        "3",
        "--no-plots",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("parameters 5-95 %") && stdout.contains("over the 3 parameter sets"),
        "{stdout}"
    );
    let csv = std::fs::read_to_string(out.join("uncertainty.csv")).unwrap();
    let arms = csv.lines().skip(1).filter(|l| l.starts_with("0,")).count();
    assert!(arms >= 2, "{csv}");
    assert_eq!(csv.lines().count(), 1 + 3 * arms);
    let answers = std::fs::read_to_string(out.join("uncertainty-bound.csv")).unwrap();
    assert_eq!(answers.lines().count(), 1 + 3);
    for (args, needle) in [
        // The v2 set has no [uncertainty] block (the shipped v3 set has one).
        (
            vec![
                "run",
                "--params",
                "v2",
                "--patients",
                "10",
                "--uncertainty",
                "2",
                "--out",
            ],
            "identifiability",
        ),
        (
            vec![
                "run",
                "--params",
                set.to_str().unwrap(),
                "--shard",
                "0/2",
                "--uncertainty",
                "2",
                "--out",
            ],
            "--shard",
        ),
    ] {
        let dir = tmp("refused");
        let mut a = args.clone();
        a.push(dir.to_str().unwrap());
        let (ok, _, stderr) = lymphosim(&a);
        assert!(!ok && stderr.contains(needle), "{stderr}");
        assert!(!dir.exists(), "a refused run wrote {}", dir.display());
    }
    // `posterior` samples the same posterior from that set and stores draws, which `run --uncertainty` uses.
    let sampled = tmp("sampled.toml");
    let trace = tmp("trace.csv");
    let (ok, stdout, stderr) = lymphosim(&[
        "posterior",
        "--params",
        set.to_str().unwrap(),
        "--patients",
        "40",
        "--chains",
        "2",
        "--burn-in",
        "40",
        "--steps",
        "20",
        "--keep",
        "10",
        "--out",
        sampled.to_str().unwrap(),
        "--trace",
        trace.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("clad_zref") && stdout.contains("R-hat") && stdout.contains("10 draws"),
        "{stdout}"
    );
    assert!(std::fs::read_to_string(&sampled).unwrap().contains("draws = [["));
    // The trace: a header naming the quantities, then one row per kept step of each chain.
    let csv = std::fs::read_to_string(&trace).unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("chain,step,log_posterior,clad_zref,clad_kill_m4"));
    let rows: Vec<Vec<f64>> = lines
        .map(|l| l.split(',').map(|x| x.parse().unwrap()).collect())
        .collect();
    assert_eq!(rows.len(), 2 * 20);
    assert_eq!((rows[20][0], rows[20][1]), (1.0, 0.0));
    assert!(rows
        .iter()
        .all(|r| r.len() == 5 && r[2].is_finite() && r[3] > 0.0 && r[4] > 0.0));
    // Its figure is drawn beside it.
    for ext in ["png", "svg"] {
        assert!(trace.with_extension(ext).metadata().unwrap().len() > 1000, "{ext}");
    }
    // The trace is a CSV and may not overwrite the set it comes with; both are refused before any sampling.
    let (ok, _, stderr) = lymphosim(&[
        "posterior",
        "--params",
        set.to_str().unwrap(),
        "--out",
        sampled.to_str().unwrap(),
        "--trace",
        sampled.to_str().unwrap(),
    ]);
    assert!(!ok && stderr.contains("--trace") && stderr.contains(".csv"), "{stderr}");
    let same_stem = tmp("same.csv");
    let (ok, _, stderr) = lymphosim(&[
        "posterior",
        "--params",
        set.to_str().unwrap(),
        "--out",
        same_stem.with_extension("png").to_str().unwrap(),
        "--trace",
        same_stem.to_str().unwrap(),
    ]);
    assert!(!ok && stderr.contains("would overwrite"), "{stderr}");
    let out = tmp("sampled-run");
    let base = [
        "run",
        "--params",
        sampled.to_str().unwrap(),
        "--patients",
        "30",
        "--no-plots",
        "--out",
    ];
    let mut a = base.to_vec();
    a.extend([out.to_str().unwrap(), "--uncertainty", "3"]);
    let (ok, stdout, stderr) = lymphosim(&a);
    assert!(ok && stdout.contains("over the 3 parameter sets"), "{stderr}");
    let dir = tmp("refused-draws");
    let mut a = base.to_vec();
    a.extend([dir.to_str().unwrap(), "--uncertainty", "11"]);
    let (ok, _, stderr) = lymphosim(&a);
    assert!(!ok && stderr.contains("10 posterior draws"), "{stderr}");
    assert!(!dir.exists());
    let (ok, _, stderr) = lymphosim(&["posterior", "--params", "v2", "--patients", "10"]);
    assert!(!ok && stderr.contains("identifiability"), "{stderr}");
}

/// `lymphosim forecast` on the example history (synthetic, labelled so): a start-date table with the patient's and
/// the population's risks, and a result directory with the estimates (JSON), the bands (CSV) and the figure; a bad
/// row names its line and column, a bad covariate or bound its flag; a NONMEM-style history brings its own doses,
/// and a preset given as well is refused.
#[test]
fn forecast_runs_on_the_example_history_and_refuses_bad_input() {
    let out = tmp("forecast-out");
    let history = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/data/history-after-alemtuzumab.csv"
    );
    let args = |out: &std::path::Path, extra: &[&str]| {
        let mut v: Vec<String> = [
            "forecast", history, "--age", "38", "--weight", "68", "--draws", "20", "--months", "3",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        v.extend(extra.iter().map(|s| s.to_string()));
        v.push("--out".into());
        v.push(out.to_str().unwrap().into());
        v
    };
    let run = |v: Vec<String>| lymphosim(&v.iter().map(String::as_str).collect::<Vec<_>>());
    let (ok, stdout, stderr) = run(args(&out, &["--band-months", "0,3"]));
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("P(G>=3) you [prior]") && stdout.contains("earliest start"),
        "{stdout}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("forecast.json")).unwrap()).unwrap();
    assert_eq!(json["table"].as_array().unwrap().len(), 4);
    assert!(json["posterior"]["effective_sample_size"].as_f64().unwrap() >= 1.0);
    assert_eq!(json["bound"]["risk"], "p_grade_ge3");
    assert!(json["map"]["standard_normal_effects"]["post_depletion_setpoint"].is_number());
    let bands = std::fs::read_to_string(out.join("forecast-bands.csv")).unwrap();
    assert!(
        bands.starts_with("plan,day,count,q05,q25,q50,q75,q95,unit\n"),
        "{bands}"
    );
    for plan in ["fit,", "none,", "cladribine-day-550,", "cladribine-day-641,"] {
        assert!(bands.lines().any(|l| l.starts_with(plan)), "no {plan} rows");
    }
    assert!(out.join("forecast.png").is_file() && out.join("manifest.json").is_file());

    // A bound on the CD4 risk is read; an unknown one is refused before anything runs.
    let (ok, stdout, stderr) = run(args(
        &tmp("forecast-cd4"),
        &["--bound", "p_cd4_below_200<=0.5", "--no-plots"],
    ));
    assert!(ok && stdout.contains("p_cd4_below_200 <= 50%"), "{stdout}{stderr}");
    let refused = tmp("forecast-refused");
    let (ok, _, stderr) = run(args(&refused, &["--bound", "p_grade_ge4<=0.1"]));
    assert!(!ok && stderr.contains("p_grade_ge4"), "{stderr}");
    assert!(!refused.exists());

    // NONMEM-style: the doses as `lymphosim events` writes them, labs as EVID=0 rows, one below detection.
    let nm = tmp("history-nonmem.csv");
    std::fs::write(
        &nm,
        "ID,TIME,EVID,AMT,CMT,RATE,DV,COUNT,UNIT,BLQ\n\
         1,-20,0,.,.,.,1.6,ALC,10^9/L,0\n\
         1,0,1,12,1,72,.,.,.,.\n1,1,1,12,1,72,.,.,.,.\n1,2,1,12,1,72,.,.,.,.\n\
         1,3,1,12,1,72,.,.,.,.\n1,4,1,12,1,72,.,.,.,.\n\
         1,30,0,.,.,.,50,CD4,cells/uL,1\n1,180,0,.,.,.,150,CD4,cells/uL,0\n",
    )
    .unwrap();
    let nm_out = tmp("forecast-nonmem");
    let (ok, stdout, stderr) = lymphosim(&[
        "forecast",
        nm.to_str().unwrap(),
        "--age",
        "40",
        "--weight",
        "70",
        "--draws",
        "20",
        "--months",
        "2",
        "--no-plots",
        "--out",
        nm_out.to_str().unwrap(),
    ]);
    assert!(ok && stdout.contains("doses from the dose rows"), "{stdout}{stderr}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(nm_out.join("forecast.json")).unwrap()).unwrap();
    assert_eq!(
        (json["labs"].as_u64(), json["below_detection"].as_u64()),
        (Some(3), Some(1))
    );
    let (ok, _, stderr) = lymphosim(&[
        "forecast",
        nm.to_str().unwrap(),
        "--age",
        "40",
        "--weight",
        "70",
        "--preset",
        "alemtuzumab-label",
    ]);
    assert!(!ok && stderr.contains("give them once"), "{stderr}");

    let bad = tmp("bad-history.csv");
    std::fs::write(&bad, "day,count,value,unit\n30,CD4,45,cells/uL\n60,CD4,0.1,g/L\n").unwrap();
    let (ok, _, stderr) = lymphosim(&["forecast", bad.to_str().unwrap(), "--age", "38", "--weight", "68"]);
    assert!(!ok && stderr.contains("line 3, column unit"), "{stderr}");
    let (ok, _, stderr) = lymphosim(&["forecast", history, "--age", "380", "--weight", "68"]);
    assert!(!ok && stderr.contains("--age"), "{stderr}");
}

/// `lymphosim forecast-coverage` runs a small study and reports both counts' coverage.
#[test]
fn forecast_coverage_reports_both_counts() {
    let out = tmp("coverage.csv");
    let (ok, stdout, stderr) = lymphosim(&[
        "forecast-coverage",
        "--patients",
        "4",
        "--draws",
        "20",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("CD4: truth inside the 50 % interval") && stdout.contains("ALC:"),
        "{stdout}"
    );
    assert_eq!(std::fs::read_to_string(&out).unwrap().lines().count(), 1 + 2 * 4);
}

/// `lymphosim patient --time-solves N` times the same solve in process and says how; out of range is refused.
#[test]
fn patient_times_its_solve_on_request() {
    let out = tmp("timed.csv");
    let (ok, stdout, stderr) = lymphosim(&[
        "patient",
        "--preset",
        "cladribine-label",
        "--no-plots",
        "--time-solves",
        "3",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("solve time: median") && stdout.contains("over 3 solves"),
        "{stdout}"
    );
    let (ok, _, stderr) = lymphosim(&["patient", "--preset", "cladribine-label", "--time-solves", "20000"]);
    assert!(!ok && stderr.contains("--time-solves"), "{stderr}");
}
