//! `lymphosim run`, `lymphosim merge`, `lymphosim preset`: cohort studies from scenario files.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use lymphosim::cohort::report::{self, Summary};
use lymphosim::cohort::{Cohort, Shard};
use lymphosim::output::{write_atomic, ResultDir};
use lymphosim::scenario::{self, Scenario, PRESETS};
use sha2::{Digest, Sha256};

use super::{MergeArgs, RunArgs};

fn parse_shard(s: &str) -> anyhow::Result<Shard> {
    let (i, n) = s
        .split_once('/')
        .with_context(|| format!("--shard: expected I/N (e.g. 0/4), got {s:?}"))?;
    let (i, n): (u64, u64) = (
        i.trim()
            .parse()
            .with_context(|| format!("--shard: I is not a number in {s:?}"))?,
        n.trim()
            .parse()
            .with_context(|| format!("--shard: N is not a number in {s:?}"))?,
    );
    if n == 0 || i >= n {
        bail!("--shard: need 0 <= I < N, got {i}/{n}");
    }
    Ok(Shard { index: i, count: n })
}

fn sha256(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn hash(text: &str, params: &str, patients: u64, seed: u64) -> String {
    let mut h = Sha256::new();
    h.update(text.as_bytes());
    h.update(b"\n[parameter set]\n");
    h.update(params.as_bytes());
    h.update(format!("\npatients={patients}\nseed={seed}\n").as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn load(a: &RunArgs) -> anyhow::Result<(String, String, Scenario)> {
    let (text, what) = match (&a.scenario, &a.preset) {
        (Some(_), Some(_)) => bail!("give a scenario file or --preset, not both"),
        (Some(path), None) => (
            std::fs::read_to_string(path).with_context(|| format!("reading scenario {}", path.display()))?,
            path.display().to_string(),
        ),
        (None, name) => {
            let name = name.as_deref().unwrap_or("switch-interval");
            let (_, _, text) = PRESETS.iter().find(|p| p.0 == name).with_context(|| {
                format!(
                    "unknown scenario preset {name:?}; known: {}",
                    PRESETS.map(|p| p.0).join(", ")
                )
            })?;
            (text.to_string(), format!("preset {name}"))
        }
    };
    // The population is resolved once: the parameter set, then the scenario's own [population] overrides.
    let set = super::load_params(a.params.as_deref())?;
    let mut s = scenario::parse_with(&text, &set).with_context(|| format!("in {what}"))?;
    if let Some(n) = a.patients {
        if !(1..=lymphosim::cohort::MAX_PATIENTS).contains(&n) {
            bail!(
                "--patients: must be between 1 and {}, got {n}",
                lymphosim::cohort::MAX_PATIENTS
            );
        }
        s.spec.patients = n;
    }
    if let Some(seed) = a.seed {
        s.spec.seed = seed;
    }
    Ok((text, set.to_toml(), s))
}

/// Memory available to a new process (bytes), from `/proc/meminfo` where there is one.
fn available_memory_bytes() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// A proportion as a percentage; a proportion that could not be computed (no patient analysed) is "n/a".
fn pct(p: f64) -> String {
    if p.is_finite() {
        format!("{:.1}%", 100.0 * p)
    } else {
        "n/a".to_string()
    }
}

fn print_table(s: &Summary) {
    println!(
        "scenario {}: {} patients per arm, seed {}, outcomes counted from the {}",
        s.scenario, s.patients, s.seed, s.reference
    );
    println!(
        "{:<34} {:>8} {:>8} {:>8} {:>24} {:>7} {:>10} {:>10}",
        "arm", "analysed", "delayed", "stopped", "P(G>=3) [95% CI]", "P(G4)", "P(CD4<200)", "CD4 nadir"
    );
    for a in &s.arms {
        println!(
            "{:<34} {:>8} {:>8} {:>8} {:>24} {:>7} {:>10} {:>10}",
            a.name,
            a.analysed,
            pct(a.p_delayed.value),
            pct(a.p_stopped.value),
            if a.analysed > 0 {
                format!(
                    "{} [{}-{}]",
                    pct(a.p_grade_ge3.value),
                    pct(a.p_grade_ge3.ci95[0]),
                    pct(a.p_grade_ge3.ci95[1])
                )
            } else if a.not_reached > 0 {
                "n/a (not reached)".to_string()
            } else {
                "n/a".to_string()
            },
            pct(a.p_grade4.value),
            pct(a.p_cd4_below_200.value),
            a.nadir[1]
                .1
                .p50
                .map(|v| format!("{v:.0}"))
                .unwrap_or_else(|| "n/a".into()),
        );
    }
    for a in s.arms.iter().filter(|a| a.patients == 0) {
        println!(
            "warning: arm {:?}: no patient was simulated ({} excluded by the regimen, {} failed); its risks are n/a and it has no figures",
            a.name, a.excluded, a.failed
        );
    }
    for a in s.arms.iter().filter(|a| a.not_reached > 0) {
        println!(
            "warning: arm {:?}: {} of {} patients never reached the reference day ({}) within the {}-day horizon; \
             they are censored and left out of its risks",
            a.name, a.not_reached, a.patients, s.reference, s.horizon_days
        );
    }
    if s.arms.iter().any(|a| a.p_stopped.count > 0) {
        println!(
            "(stopped: a lab rule cancelled a course; the risks include these patients, who did not get every dose)"
        );
    }
    let excluded = s.arms.iter().map(|a| a.excluded).max().unwrap_or(0);
    let failed: u64 = s.arms.iter().map(|a| a.failed).sum();
    if excluded + failed > 0 {
        println!("(up to {excluded} patients per arm excluded by the regimen — cladribine is not given below 40 kg; {failed} patient-arms failed, see failures.csv)");
    }
    let reference = s
        .reference_arm
        .as_ref()
        .and_then(|name| s.arms.iter().find(|a| &a.name == name));
    if let (Some(r), Some(b)) = (reference, &s.bound) {
        println!(
            "reference arm {:?} (same population, same model): {} = {}",
            r.name,
            b.endpoint,
            pct(b.endpoint.of(r).value)
        );
    }
    if let (Some(b), Some(param)) = (&s.bound, &s.sweep_parameter) {
        let mut limits = Vec::new();
        if let Some(max) = b.max {
            limits.push(format!("<= {}", pct(max)));
        }
        if let Some(d) = b.max_above_reference {
            limits.push(format!("<= reference + {:.1} points", 100.0 * d));
        }
        for c in &s.sweep {
            let show = |v: Option<f64>| v.map(|x| format!("{x}")).unwrap_or_else(|| "none on the grid".into());
            println!(
                "bound {} {}: shortest {param} from which every longer one meets it: {} (point estimate), {} (upper 95% limit)",
                b.endpoint,
                limits.join(" and "),
                show(c.shortest_meeting_bound),
                show(c.shortest_meeting_bound_upper_ci)
            );
            let meeting: Vec<String> = c.meeting_bound.iter().map(|v| format!("{v}")).collect();
            println!(
                "  values meeting it (point estimate): {}",
                if meeting.is_empty() {
                    "none".to_string()
                } else {
                    meeting.join(", ")
                }
            );
        }
    }
}

/// What `manifest.json` records about a run: everything that may differ between equivalent runs.
struct Manifest<'a> {
    name: &'a str,
    hash: &'a str,
    /// The parameter set's model variant and the SHA-256 of its TOML.
    params: (&'a str, String),
    seed: u64,
    patients: u64,
    shard: Shard,
    threads: usize,
    elapsed_seconds: f64,
}

impl Manifest<'_> {
    fn write(&self, dir: &Path) -> anyhow::Result<()> {
        let finished = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let m = serde_json::json!({
            "lymphosim_version": env!("CARGO_PKG_VERSION"),
            "scenario": self.name,
            "scenario_hash": self.hash,
            "model": self.params.0,
            "parameter_set_sha256": self.params.1,
            "seed": self.seed,
            "patients": self.patients,
            "shard": [self.shard.index, self.shard.count],
            "threads": self.threads,
            "command_line": std::env::args().collect::<Vec<_>>(),
            "elapsed_seconds": self.elapsed_seconds,
            "finished_unix": finished,
            "host_cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        });
        write_atomic(
            &dir.join("manifest.json"),
            format!("{}\n", serde_json::to_string_pretty(&m)?).as_bytes(),
        )?;
        Ok(())
    }
}

pub(super) fn run(a: &RunArgs) -> anyhow::Result<()> {
    let (text, params, scenario) = load(a)?;
    let set_model = lymphosim::population::paramset::ParamSet::from_toml(&params)?.model;
    let shard = match &a.shard {
        Some(s) => parse_shard(s)?,
        None => Shard::ALL,
    };
    let threads = super::threads(a.threads)?;
    if !(a.follow_up_months.is_finite() && (0.0..=1200.0).contains(&a.follow_up_months)) {
        bail!(
            "--follow-up-months: must be between 0 and 1200, got {}",
            a.follow_up_months
        );
    }
    let follow_up = lymphosim::units::months(a.follow_up_months);
    for (arm, last_dose) in scenario.spec.arms_short_of_follow_up(follow_up) {
        eprintln!(
            "warning: arm {:?}: the last planned dose (day {last_dose:.0} for a typical patient) leaves less than {} months of follow-up within the {}-day horizon (--follow-up-months); outcomes after it are censored",
            scenario.spec.arms[arm].name, a.follow_up_months, scenario.spec.horizon_days
        );
    }
    // Parameter uncertainty: the sets are drawn (and the request checked) before any simulation.
    let ensemble = match a.uncertainty {
        None | Some(0) => Vec::new(),
        Some(n) => {
            if shard.count > 1 {
                bail!("--uncertainty: run it without --shard (every parameter set runs the whole cohort)");
            }
            let set = lymphosim::population::paramset::ParamSet::from_toml(&params)?;
            lymphosim::calibration::uncertainty::sample_sets(&set, n, scenario.spec.seed)
                .map_err(|e| anyhow::anyhow!("--uncertainty {n}: {e}"))?
        }
    };
    // Memory: refuse a run that cannot fit before it starts, not after hours.
    let need = scenario.spec.estimated_peak_bytes(threads, !a.no_patients, shard);
    if let Some(avail) = available_memory_bytes() {
        if need > avail {
            bail!(
                "this run needs about {:.1} GB ({} patients x {} arms{}), but {:.1} GB are available: use --no-patients, fewer patients, or --shard I/N",
                need as f64 / 1e9,
                shard.range(scenario.spec.patients).count(),
                scenario.spec.arms.len(),
                if a.no_patients { "" } else { " with per-patient rows" },
                avail as f64 / 1e9
            );
        }
    }
    // The output location is checked (and its staging directory made) before any simulation.
    let out = ResultDir::begin(&a.out.clone().unwrap_or_else(|| PathBuf::from("lymphosim-out")))?;
    let n_shard = shard.range(scenario.spec.patients).count() as u64;
    let bar = if a.quiet || !std::io::stderr().is_terminal() {
        ProgressBar::hidden()
    } else {
        let b = ProgressBar::with_draw_target(Some(n_shard), ProgressDrawTarget::stderr());
        b.set_style(
            ProgressStyle::with_template("{elapsed_precise} [{bar:40}] {pos}/{len} patients ({eta} left)")
                .expect("valid template")
                .progress_chars("=> "),
        );
        b
    };
    let done = Arc::new(AtomicU64::new(0));
    let t0 = Instant::now();
    let progress_bar = bar.clone();
    let result = Cohort::from_spec(scenario.spec.clone())
        .shard(shard)
        .per_patient(!a.no_patients)
        .threads(threads)
        .progress(move |k| {
            let d = done.fetch_add(k, Ordering::Relaxed) + k;
            if t0.elapsed().as_secs_f64() > 2.0 {
                progress_bar.set_position(d);
            }
        })
        .run()?
        .result;
    bar.finish_and_clear();
    let elapsed = t0.elapsed().as_secs_f64();

    let h = hash(&text, &params, scenario.spec.patients, scenario.spec.seed);
    let summary = report::write_results(out.path(), &scenario, &result.arms, Some(&result))?;
    report::write_state(
        out.path(),
        &report::state_of(&h, &text, &params, &scenario, shard, &result, !a.no_patients),
    )?;
    if !a.no_plots && shard.count == 1 {
        draw_figures(out.path(), &summary, &result.arms, scenario.spec.outcomes.scale.lln())?;
    }
    let spread = if ensemble.is_empty() {
        None
    } else {
        let r = parameter_spread(&text, &scenario, &summary.arms, &ensemble, threads, a.quiet, out.path())?;
        if !a.no_plots {
            // The risk figure again, with the parameter band over the Monte Carlo one.
            lymphosim::plot::risk_curves(out.path(), &summary, Some(&r.2))?;
        }
        Some(r)
    };
    Manifest {
        name: &scenario.name,
        hash: &h,
        params: (&set_model, sha256(&params)),
        seed: scenario.spec.seed,
        patients: scenario.spec.patients,
        shard,
        threads,
        elapsed_seconds: elapsed,
    }
    .write(out.path())?;
    let dir = out.target().to_path_buf();
    out.commit()?;
    if !a.quiet {
        if shard.count > 1 {
            println!(
                "shard {}/{}: {} patients in {:.1} s; merge the shard directories with `lymphosim merge`",
                shard.index, shard.count, n_shard, elapsed
            );
        } else {
            print_table(&summary);
            if let Some((rows, answers, _)) = &spread {
                print_spread(rows, ensemble.len());
                print_answers(answers);
            }
            println!(
                "{} patient-arms in {:.1} s on {threads} threads; wrote {}",
                n_shard * scenario.spec.arms.len() as u64,
                elapsed,
                dir.display()
            );
        }
    }
    Ok(())
}

/// One arm's endpoint under the parameter ensemble: the point estimate with its Monte Carlo interval, and the
/// 5th–95th percentiles over the parameter sets.
struct Spread {
    arm: String,
    endpoint: &'static str,
    value: f64,
    mc95: [f64; 2],
    model90: [f64; 2],
}

/// Runs the same patients under every parameter set of `ensemble` (`scenario::ensemble`), writes
/// `uncertainty.csv` and, for a sweep with a bound, `uncertainty-bound.csv` into `dir`, and returns each arm's
/// endpoints with their Monte Carlo and parameter intervals, each set's answer, and the figure's band.
fn parameter_spread(
    text: &str,
    scenario: &Scenario,
    base: &[lymphosim::cohort::summary::ArmSummary],
    sets: &[lymphosim::population::paramset::ParamSet],
    threads: usize,
    quiet: bool,
    dir: &Path,
) -> anyhow::Result<(Vec<Spread>, Vec<Option<f64>>, lymphosim::plot::ParameterBand)> {
    use lymphosim::scenario::ensemble::{self, endpoints, ENDPOINTS};
    let progress = |k: usize| {
        if !quiet {
            eprint!("\rparameter set {k}/{} ...", sets.len());
        }
    };
    // The same scenario, patients and seed: only the parameter set changes (common random numbers).
    let run = ensemble::run(
        text,
        &sets[0],
        sets,
        scenario.spec.patients,
        scenario.spec.seed,
        Some(threads),
        &progress,
    )?;
    if !quiet {
        eprintln!();
    }
    write_atomic(&dir.join("uncertainty.csv"), run.csv().as_bytes())?;
    if let Some(a) = run.answers_csv() {
        write_atomic(&dir.join("uncertainty-bound.csv"), a.as_bytes())?;
    }
    let mut out = Vec::new();
    for (i, arm) in base.iter().enumerate() {
        let e = endpoints(arm);
        let props = [arm.p_grade_ge3, arm.p_grade4, arm.p_cd4_below_200];
        for (j, name) in ENDPOINTS.iter().enumerate() {
            out.push(Spread {
                arm: arm.name.clone(),
                endpoint: name,
                value: e[j],
                mc95: props.get(j).map_or([f64::NAN; 2], |p| p.ci95),
                model90: run.interval90(i, j),
            });
        }
    }
    let band = lymphosim::plot::ParameterBand {
        sets: sets.len(),
        points: run.grade3_band(),
    };
    Ok((out, run.answers, band))
}

/// How often each grid value is the switch answer (the shortest value meeting the bound) over the sets.
fn print_answers(answers: &[Option<f64>]) {
    if answers.is_empty() {
        return;
    }
    let mut values: Vec<Option<f64>> = answers.to_vec();
    values.sort_by(|a, b| match (a, b) {
        (Some(x), Some(y)) => x.total_cmp(y),
        (None, None) => std::cmp::Ordering::Equal,
        (None, _) => std::cmp::Ordering::Greater,
        (_, None) => std::cmp::Ordering::Less,
    });
    values.dedup();
    let parts: Vec<String> = values
        .iter()
        .map(|v| {
            let n = answers.iter().filter(|a| *a == v).count();
            let what = v.map_or("none on the grid".to_string(), |x| format!("{x}"));
            format!("{what} in {n}")
        })
        .collect();
    println!(
        "shortest value meeting the bound (point estimate) over the {} parameter sets: {}",
        answers.len(),
        parts.join(", ")
    );
}

fn print_spread(rows: &[Spread], n: usize) {
    println!("\nparameter uncertainty over {n} sets drawn from the set's posterior (same patients):");
    println!(
        "{:<34} {:<18} {:>10} {:>20} {:>24}",
        "arm", "endpoint", "value", "Monte Carlo 95 %", "parameters 5-95 %"
    );
    let show = |x: f64| if x.is_finite() { format!("{x:.3}") } else { "-".into() };
    for r in rows {
        let mc = if r.mc95[0].is_finite() {
            format!("{} to {}", show(r.mc95[0]), show(r.mc95[1]))
        } else {
            "-".into()
        };
        println!(
            "{:<34} {:<18} {:>10} {:>20} {:>24}",
            r.arm,
            r.endpoint,
            show(r.value),
            mc,
            format!("{} to {}", show(r.model90[0]), show(r.model90[1]))
        );
    }
}

fn draw_figures(
    dir: &Path,
    summary: &Summary,
    arms: &[lymphosim::cohort::summary::ArmAccumulator],
    lln: f64,
) -> anyhow::Result<()> {
    for (i, arm) in arms.iter().enumerate() {
        // An arm without a simulated patient has no distribution to draw (a figure of zeros would mislead).
        if arm.patients > 0 {
            lymphosim::plot::fan_chart(dir, i, arm, lln)?;
            lymphosim::plot::grade_areas(dir, i, arm, lln)?;
        }
    }
    lymphosim::plot::risk_curves(dir, summary, None)?;
    Ok(())
}

/// `lymphosim plot DIR`: re-draws the figures of an output directory from what it holds — `state.json` of a
/// cohort run (fan charts, grade areas, risk curves) or `work-precision.csv` of the solver study.
pub(super) fn plot(dir: &Path) -> anyhow::Result<()> {
    let state = dir.join("state.json");
    let wp = dir.join("work-precision.csv");
    let mut drawn = Vec::new();
    if state.exists() {
        let st = report::read_state(dir)?;
        let (scenario, _) = stored_study(&st)?;
        let summary = report::summarise(&scenario, &st.arms);
        let lln = scenario.spec.outcomes.scale.lln();
        for (i, arm) in st.arms.iter().enumerate().filter(|(_, a)| a.patients > 0) {
            drawn.extend(lymphosim::plot::fan_chart(dir, i, arm, lln)?);
            drawn.extend(lymphosim::plot::grade_areas(dir, i, arm, lln)?);
        }
        drawn.extend(lymphosim::plot::risk_curves(dir, &summary, None)?.into_iter().flatten());
    }
    if wp.exists() {
        let text = std::fs::read_to_string(&wp).with_context(|| format!("reading {}", wp.display()))?;
        let study =
            lymphosim::work_precision::Study::from_csv(&text).with_context(|| format!("reading {}", wp.display()))?;
        drawn.extend(lymphosim::plot::work_precision_figure(dir, &study)?);
    }
    if drawn.is_empty() {
        anyhow::bail!(
            "{} holds neither state.json (from `lymphosim run`) nor work-precision.csv (from `lymphosim bench work-precision`)",
            dir.display()
        );
    }
    for p in drawn {
        println!("wrote {}", p.display());
    }
    Ok(())
}

/// The study a `state.json` was run from: its scenario text with its parameter set (the shipped set for states
/// written before the set was stored), patients and seed.
fn stored_study(st: &report::RunState) -> anyhow::Result<(Scenario, lymphosim::population::paramset::ParamSet)> {
    let set = match st.params_toml.as_str() {
        "" => lymphosim::population::paramset::ParamSet::shipped(),
        t => {
            lymphosim::population::paramset::ParamSet::from_toml(t).context("the parameter set stored in state.json")?
        }
    };
    let mut scenario = scenario::parse_with(&st.scenario_text, &set).context("the scenario stored in state.json")?;
    scenario.spec.patients = st.patients;
    scenario.spec.seed = st.seed;
    Ok((scenario, set))
}

pub(super) fn merge(a: &MergeArgs) -> anyhow::Result<()> {
    let same = |x: &Path, y: &Path| match (x.canonicalize(), y.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    };
    if let Some(d) = a.dirs.iter().find(|d| same(d, &a.out)) {
        bail!(
            "--out {}: is one of the shard directories being merged ({}); choose a new directory",
            a.out.display(),
            d.display()
        );
    }
    let states: Vec<_> = a.dirs.iter().map(|d| report::read_state(d)).collect::<Result<_, _>>()?;
    let merged = report::merge_states(&states)?;
    let (scenario, set) = stored_study(&merged)?;
    let out = ResultDir::begin(&a.out)?;
    let summary = report::write_results(out.path(), &scenario, &merged.arms, None)?;
    report::write_state(out.path(), &merged)?;
    if !a.no_plots {
        draw_figures(out.path(), &summary, &merged.arms, scenario.spec.outcomes.scale.lln())?;
    }
    // failures.csv: the shards' own files concatenated (every parameter column kept), in shard order.
    let mut sorted: Vec<(u64, &PathBuf)> = states.iter().map(|s| s.shard.0).zip(&a.dirs).collect();
    sorted.sort();
    for (file, required) in [("failures.csv", true), ("patients.csv", merged.per_patient)] {
        let mut table = String::new();
        for (k, (_, d)) in sorted.iter().enumerate() {
            let path = d.join(file);
            let t = match std::fs::read_to_string(&path) {
                Ok(t) => t,
                Err(_) if !required => continue,
                Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
            };
            for line in t.lines().skip(if k == 0 { 0 } else { 1 }) {
                table.push_str(line);
                table.push('\n');
            }
        }
        if !table.is_empty() {
            write_atomic(&out.path().join(file), table.as_bytes())?;
        }
    }
    Manifest {
        name: &scenario.name,
        hash: &merged.scenario_hash,
        params: (&set.model, sha256(&set.to_toml())),
        seed: merged.seed,
        patients: merged.patients,
        shard: Shard::ALL,
        threads: 0,
        elapsed_seconds: 0.0,
    }
    .write(out.path())?;
    out.commit()?;
    print_table(&summary);
    println!("merged {} shards into {}", states.len(), a.out.display());
    Ok(())
}

pub(super) fn preset(name: Option<&str>) -> anyhow::Result<()> {
    match name {
        None => {
            for (n, what, _) in PRESETS {
                println!("{n:<18} {what}");
            }
        }
        Some(n) => {
            let (_, _, text) = PRESETS.iter().find(|p| p.0 == n).with_context(|| {
                format!(
                    "unknown scenario preset {n:?}; known: {}",
                    PRESETS.map(|p| p.0).join(", ")
                )
            })?;
            print!("{text}");
        }
    }
    Ok(())
}
