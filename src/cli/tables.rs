//! Listing commands: presets, methods, event tables, target comparison.

use anyhow::Context;
use lymphosim::calibration::{targets, typical, EMBEDDED_TARGETS, EMBEDDED_VALIDATION};
use lymphosim::model::ModelParams;
use lymphosim::output::{write_atomic, Written};
use lymphosim::regimen::{event_table, presets};
use lymphosim::solver::Method;

use super::{
    CalibrateArgs, EventsArgs, IdentifiabilityArgs, PosteriorArgs, PosteriorLossArgs, SensitivityArgs, TargetsArgs,
};

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

/// `targets` and `calibration-report` (the calibration table), or `validate` (the validation table, always with
/// cohorts: its statistics are cohort statistics).
pub(super) fn targets(a: &TargetsArgs, validation: bool) -> anyhow::Result<()> {
    let text = match &a.file {
        Some(p) => std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?,
        None if validation => EMBEDDED_VALIDATION.to_string(),
        None => EMBEDDED_TARGETS.to_string(),
    };
    let cohort = a.cohort || validation;
    let ts = targets::parse(&text)?;
    let opts = a.solver.options()?;
    let set = super::load_params(a.params.as_deref())?;
    let mut rows = typical::compare(&ts, &set.typical, &opts)?;
    if cohort {
        let pop = lymphosim::population::PopulationModel::new(
            set.typical.clone(),
            Default::default(),
            set.variability.clone(),
        )?;
        let cohort_rows = lymphosim::calibration::cohort::compare(&ts, &pop, a.patients, a.seed)?;
        for c in cohort_rows {
            if let Some(r) = rows.iter_mut().find(|r| r.target.id == c.target.id) {
                *r = c;
            }
        }
    }
    if let Some(dir) = &a.plot_dir {
        let met = rows.iter().filter(|r| r.within == Some(true)).count();
        let evaluated = rows.iter().filter(|r| r.within.is_some()).count();
        let title = format!(
            "Model vs published targets: {met} of {evaluated} within tolerance ({})",
            if cohort {
                format!("typical patient and {}-patient cohorts", a.patients)
            } else {
                "typical patient; add --cohort for cohort targets".to_string()
            }
        );
        for p in lymphosim::plot::calibration_figure(dir, &rows, &title)? {
            eprintln!("wrote {}", p.display());
        }
    }
    if a.json {
        let arr: Vec<serde_json::Value> = rows
            .iter()
            .map(|r| {
                serde_json::json!({
                    "id": r.target.id,
                    "subset": r.target.subset,
                    "statistic": r.target.statistic,
                    "model": r.model.filter(|v| v.is_finite()),
                    "target": r.target.value.to_string(),
                    "tolerance": r.target.tolerance.to_string(),
                    "within": r.within,
                    "fold_off": match r.fold_off() {
                        Some(f) if f.is_infinite() => serde_json::json!("inf"),
                        f => serde_json::json!(f),
                    },
                    "note": r.note,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&arr)?);
        return Ok(());
    }
    println!(
        "{:<4} {:<11} {:<48} {:>9} {:>12} {:>14} {:<6} {:>6}",
        "id", "subset", "statistic", "model", "target", "tolerance", "within", "x off"
    );
    let (mut met, mut evaluated) = (0, 0);
    let mut far: Vec<&str> = Vec::new();
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
        let fold = r.fold_off();
        if fold.is_some_and(|f| f > 2.0) {
            far.push(&r.target.id);
        }
        println!(
            "{:<4} {:<11} {:<48} {:>9} {:>12} {:>14} {:<6} {:>6} {}",
            r.target.id,
            r.target.subset,
            stat,
            fmt(r.model),
            r.target.value.to_string(),
            r.target.tolerance.to_string(),
            within,
            fold.map_or("-".to_string(), |f| format!("{f:.2}")),
            if r.model.is_none() || r.kind == lymphosim::calibration::typical::ComparisonKind::LargestComponentDeviation
            {
                r.note.as_str()
            } else {
                ""
            }
        );
    }
    let who = if cohort {
        format!("typical patient and {}-patient cohorts", a.patients)
    } else {
        "typical patient".into()
    };
    let rest = if cohort {
        "not evaluated"
    } else {
        "need a cohort (--cohort) or are not evaluated"
    };
    println!(
        "{who} within tolerance: {met} of {evaluated} evaluated targets ({} {rest})",
        rows.len() - evaluated
    );
    println!(
        "off by more than 2x (single-number targets): {}",
        if far.is_empty() {
            "none".to_string()
        } else {
            far.join(", ")
        }
    );
    Ok(())
}

/// Refuses an output file that cannot be written (a directory, a symlink, a device, an unwritable folder)
/// before any work.
fn check_writable(flag: &str, path: &std::path::Path) -> anyhow::Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if !m.file_type().is_file() => {
            anyhow::bail!(
                "{flag} {}: exists and is not a regular file; refusing to replace it",
                path.display()
            )
        }
        _ => {}
    }
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("{flag} {}: cannot create its folder", path.display()))?;
    let probe = dir.join(format!(".lymphosim-write-test-{}", std::process::id()));
    std::fs::write(&probe, b"").with_context(|| format!("{flag} {}: its folder is not writable", path.display()))?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

pub(super) fn calibrate(a: &CalibrateArgs) -> anyhow::Result<()> {
    use lymphosim::calibration::fit::{calibrate_observed, FitParam, LossSpec};
    use sha2::{Digest, Sha256};
    let text = match &a.targets {
        Some(p) => std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?,
        None => EMBEDDED_TARGETS.to_string(),
    };
    let ts = targets::parse(&text)?;
    let fit: Vec<FitParam> = a.fit.iter().map(|p| FitParam::parse(p)).collect::<Result<_, _>>()?;
    for (i, p) in fit.iter().enumerate() {
        if fit[..i].contains(p) {
            anyhow::bail!("--fit: {} is named twice", p.name());
        }
    }
    let mut start = super::load_params(a.start.as_deref())?;
    let model = a.model.clone().unwrap_or_else(|| start.model.clone());
    start
        .promote(&model)
        .map_err(|e| anyhow::anyhow!("--model {model}: the start set: {e}"))?;
    let later = |f: &FitParam, from: &str| {
        let n = f.name();
        match from {
            "v2" => matches!(n.as_str(), "clad_prolif_inhibition" | "clad_kr_per_day"),
            _ => matches!(
                n.as_str(),
                "memory_niche_share"
                    | "setpoint_shift"
                    | "setpoint_rate"
                    | "nk_marrow_coupling"
                    | "variability.setpoint_cv"
                    | "setpoint_ratio_cd8"
                    | "variability.setpoint_cd8_cv"
            ),
        }
    };
    // A between-patient spread switched off (0) cannot start a fit on the log scale: it starts at the same first
    // guess as the v3 set point's spread (V3_FIRST_GUESS), and the run says so.
    let first_cv = lymphosim::population::paramset::V3_FIRST_GUESS.2;
    for f in &fit {
        if matches!(f, FitParam::Variability(_)) && f.get(&start) == 0.0 {
            eprintln!("--fit: {} is 0 in the start set; it starts at {first_cv}", f.name());
            f.set(&mut start, first_cv);
        }
    }
    for from in ["v2", "v3"] {
        if start.model.as_str() < from {
            if let Some(f) = fit.iter().find(|f| later(f, from)) {
                anyhow::bail!("--fit: {} belongs to model {from}; add --model {from}", f.name());
            }
        }
    }
    let spec = LossSpec {
        loss: a.loss.parse()?,
        targets: ts,
        patients: a.patients,
        seed: a.seed,
        sim: Default::default(),
        weights: a
            .weights
            .iter()
            .map(|w| lymphosim::calibration::fit::parse_weight(w))
            .collect::<Result<_, _>>()?,
    };
    spec.validate()?;
    eprintln!(
        "fitting {} parameters to {} targets ({} patients per cohort, seed {}) ...",
        fit.len(),
        spec.targets.len(),
        a.patients,
        a.seed
    );
    // The out file must be writable before minutes of fitting, not after.
    check_writable("--out", &a.out)?;
    let bar = if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        indicatif::ProgressBar::new_spinner()
    } else {
        indicatif::ProgressBar::hidden()
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template("{elapsed_precise} {spinner} {pos} loss evaluations, best {msg}")
            .expect("valid template"),
    );
    let best = std::sync::Mutex::new(f64::INFINITY);
    let t0 = std::time::Instant::now();
    let evaluations = std::sync::atomic::AtomicU64::new(0);
    let r = calibrate_observed(&spec, &start, &fit, a.max_iters, a.restarts, &|loss| {
        evaluations.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut b = best.lock().unwrap_or_else(|e| e.into_inner());
        if loss < *b {
            *b = loss;
            bar.set_message(format!("{loss:.3}"));
        }
        bar.inc(1);
    })?;
    bar.finish_and_clear();
    let mut set = r.set.clone();
    set.provenance = lymphosim::population::paramset::Provenance {
        targets_sha256: Sha256::digest(text.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
        seed: a.seed,
        patients: a.patients,
        command: std::env::args().skip(1).collect::<Vec<_>>().join(" "),
        fitted: fit.iter().map(|f| f.name()).collect(),
        fitted_before: start
            .provenance
            .all_fitted()
            .into_iter()
            .filter(|n| fit.iter().all(|f| f.name() != *n))
            .collect(),
        loss_initial: r.loss_initial,
        loss_final: r.loss_final,
    };
    let w = write_atomic(&a.out, set.to_toml().as_bytes())?;
    println!(
        "loss {:.3} -> {:.3} after {} Nelder-Mead iterations ({} loss evaluations in {:.0} s)",
        r.loss_initial,
        r.loss_final,
        r.iterations,
        evaluations.into_inner(),
        t0.elapsed().as_secs_f64()
    );
    println!(
        "{:<40} {:>12} {:>12} {:>12}   (loss with the value changed by -20 % / +20 %)",
        "parameter", "fitted", "loss -20%", "loss +20%"
    );
    for (n, v, lo, hi) in &r.sensitivity {
        println!("{n:<40} {v:>12.6} {lo:>12.3} {hi:>12.3}");
    }
    let verb = if w == Written::Replaced { "replaced" } else { "wrote" };
    println!("{verb} {}", a.out.display());
    if start.uncertainty.is_some() {
        println!(
            "(the start set's [uncertainty] block is not carried over: it belonged to another fit; run `lymphosim posterior --params {}` for this one's)",
            a.out.display()
        );
    }
    Ok(())
}

pub(super) fn sensitivity(a: &SensitivityArgs) -> anyhow::Result<()> {
    use lymphosim::calibration::fit::FitParam;
    use lymphosim::calibration::screening::{morris, ScreeningSpec, ENDPOINTS};
    let set = super::load_params(a.params.as_deref())?;
    let names: Vec<String> = if a.fit.is_empty() {
        set.provenance.all_fitted()
    } else {
        a.fit.clone()
    };
    if names.is_empty() {
        anyhow::bail!("--fit: the parameter set names no fitted quantities; list the quantities to screen");
    }
    let params: Vec<FitParam> = names.iter().map(|n| FitParam::parse(n)).collect::<Result<_, _>>()?;
    let spec = ScreeningSpec {
        params,
        range: a.range,
        trajectories: a.trajectories,
        regimen: lymphosim::cohort::ArmRegimen::Preset {
            name: "sequence".into(),
            interval_months: a.interval_months,
        },
        patients: a.patients,
        seed: a.seed,
        horizon_years: a.horizon_years,
    };
    eprintln!(
        "screening {} quantities: {} cohorts of {} patients ...",
        spec.params.len(),
        (spec.params.len() + 1) * spec.trajectories,
        spec.patients
    );
    let mut effects = morris(&spec, &set)?;
    effects.sort_by(|x, y| y.mu_star[0].total_cmp(&x.mu_star[0]));
    println!(
        "Morris screening around the set's values (each x/{r} to x*{r}), sequence at {} months, label rules, {} years; \
         effects per full range, mu* (sigma):",
        a.interval_months,
        a.horizon_years,
        r = a.range
    );
    println!(
        "{:<36} {:>12} {:>22} {:>22} {:>24}",
        "quantity", "value", ENDPOINTS[0], ENDPOINTS[1], ENDPOINTS[2]
    );
    for e in &effects {
        println!(
            "{:<36} {:>12.5} {:>22} {:>22} {:>24}",
            e.name,
            e.value,
            format!("{:.3} ({:.3})", e.mu_star[0], e.sigma[0]),
            format!("{:.3} ({:.3})", e.mu_star[1], e.sigma[1]),
            format!("{:.0} ({:.0})", e.mu_star[2], e.sigma[2]),
        );
    }
    Ok(())
}

pub(super) fn identifiability(a: &IdentifiabilityArgs) -> anyhow::Result<()> {
    use lymphosim::calibration::fit::FitParam;
    use lymphosim::calibration::uncertainty::{laplace, CurvatureSpec};
    let mut set = super::load_params(a.posterior.params.as_deref())?;
    let names: Vec<String> = if a.fit.is_empty() {
        set.provenance.all_fitted()
    } else {
        a.fit.clone()
    };
    if names.is_empty() {
        anyhow::bail!("--fit: the parameter set names no fitted quantities; list the quantities");
    }
    let fit: Vec<FitParam> = names.iter().map(|n| FitParam::parse(n)).collect::<Result<_, _>>()?;
    if let Some(out) = &a.out {
        check_writable("--out", out)?;
    }
    let spec = CurvatureSpec {
        loss: a.posterior.loss_spec()?,
        step: a.step,
        prior_factor: a.prior_factor,
    };
    let n = fit.len();
    let total = 1 + 2 * n + 2 * n * n.saturating_sub(1);
    eprintln!(
        "curvature of the loss in {n} quantities: {total} loss evaluations ({} patients per cohort) ...",
        a.posterior.patients
    );
    let bar = progress_bar(total as u64);
    let t0 = std::time::Instant::now();
    let r = laplace(&spec, &set, &fit, &|| bar.inc(1))?;
    bar.finish_and_clear();
    println!(
        "Identifiability at the set's values (loss {:.3}; {} evaluations in {:.0} s). sd: posterior SD of the log; \
         95 % range: value ·/ exp(1.96 sd); data: 1 - posterior/prior SD (0: the data say nothing, near 1: pinned); \
         partner: strongest posterior correlation.",
        r.loss,
        r.evaluations,
        t0.elapsed().as_secs_f64()
    );
    println!(
        "{:<36} {:>12} {:>8} {:>22} {:>6}  partner",
        "quantity", "value", "sd", "95 % range", "data"
    );
    for row in &r.rows {
        let f = (1.96 * row.log_sd).exp();
        let partner = row
            .partner
            .as_ref()
            .map_or(String::new(), |(p, c)| format!("{p} ({c:+.2})"));
        println!(
            "{:<36} {:>12.5} {:>8.3} {:>22} {:>6.2}  {partner}",
            row.name,
            row.value,
            row.log_sd,
            format!("{:.4} to {:.4}", row.value / f, row.value * f),
            1.0 - row.sd_ratio
        );
    }
    if let Some(out) = &a.out {
        set.uncertainty = Some(r.uncertainty);
        let w = write_atomic(out, set.to_toml().as_bytes())?;
        let verb = if w == Written::Replaced { "replaced" } else { "wrote" };
        println!("{verb} {} (the set with its [uncertainty] block)", out.display());
    }
    Ok(())
}

pub(super) fn posterior(a: &PosteriorArgs) -> anyhow::Result<()> {
    use lymphosim::calibration::posterior::{metropolis, SamplerSpec};
    let mut set = super::load_params(a.posterior.params.as_deref())?;
    let laplace = set.uncertainty.clone().ok_or_else(|| {
        anyhow::anyhow!(
            "--params: the parameter set has no [uncertainty] block to start from; compute one with `lymphosim identifiability --out FILE`"
        )
    })?;
    if let Some(out) = &a.out {
        check_writable("--out", out)?;
    }
    if let Some(trace) = &a.trace {
        if trace.extension().and_then(|x| x.to_str()) != Some("csv") {
            anyhow::bail!(
                "--trace {}: must end in .csv (its figure is written beside it as .png and .svg)",
                trace.display()
            );
        }
        for path in [trace.clone(), trace.with_extension("png"), trace.with_extension("svg")] {
            check_writable("--trace", &path)?;
            if a.out.as_ref() == Some(&path) {
                anyhow::bail!("--trace {}: would overwrite --out {}", trace.display(), path.display());
            }
        }
    }
    let spec = SamplerSpec {
        loss: a.posterior.loss_spec()?,
        prior_factor: a.prior_factor,
        chains: a.chains,
        burn_in: a.burn_in,
        steps: a.steps,
        keep: a.keep,
        seed: a.chain_seed,
    };
    let total = a
        .chains
        .saturating_mul(a.burn_in.saturating_add(a.steps).saturating_add(1));
    eprintln!(
        "sampling the posterior of {} quantities: {} chains x ({} burn-in + {} kept steps), about {total} loss \
         evaluations ({} patients per cohort) ...",
        laplace.names.len(),
        a.chains,
        a.burn_in,
        a.steps,
        a.posterior.patients
    );
    let bar = progress_bar(total as u64);
    let t0 = std::time::Instant::now();
    let r = metropolis(&spec, &set, &|| bar.inc(1))?;
    bar.finish_and_clear();
    println!(
        "Posterior sample ({} chains x {} kept steps, acceptance {:.2}; {} evaluations in {:.0} s). median and 95 % \
         range of the sample; start: the 95 % range of the set's earlier posterior, the chains' start ({}); ESS: \
         effective sample size; R-hat: split R-hat (above 1.1: the chains disagree, run longer).",
        r.chains,
        r.steps,
        r.acceptance,
        r.evaluations,
        t0.elapsed().as_secs_f64(),
        laplace.method.split(':').next().unwrap_or_default()
    );
    println!(
        "{:<36} {:>10} {:>10} {:>22} {:>22} {:>7} {:>6}",
        "quantity", "value", "median", "95 % range", "start 95 %", "ESS", "R-hat"
    );
    for (i, row) in r.rows.iter().enumerate() {
        let f = (1.96 * laplace.log_covariance[i][i].max(0.0).sqrt()).exp();
        println!(
            "{:<36} {:>10.4} {:>10.4} {:>22} {:>22} {:>7.0} {:>6}",
            row.name,
            row.value,
            row.median,
            format!("{:.4} to {:.4}", row.range.0, row.range.1),
            format!("{:.4} to {:.4}", row.value / f, row.value * f),
            row.ess,
            row.r_hat.map_or("-".to_string(), |v| format!("{v:.2}")),
        );
    }
    let worst = r.rows.iter().filter_map(|x| x.r_hat).fold(f64::NAN, f64::max);
    if worst > 1.1 {
        println!("R-hat up to {worst:.2}: the chains have not mixed; run longer before using the sample");
    }
    if let Some(path) = &a.trace {
        let mut csv = String::from("chain,step,log_posterior");
        for row in &r.rows {
            csv.push(',');
            csv.push_str(&row.name);
        }
        csv.push('\n');
        for t in &r.trace {
            csv.push_str(&format!("{},{},{}", t.chain, t.step, t.log_posterior));
            for v in &t.values {
                csv.push_str(&format!(",{v}"));
            }
            csv.push('\n');
        }
        let w = write_atomic(path, csv.as_bytes())?;
        let verb = if w == Written::Replaced { "replaced" } else { "wrote" };
        let [png, svg] = lymphosim::plot::trace_figure(path, &r)?;
        println!(
            "{verb} {} (the trace: {} chains x {} kept steps) and its figure {}, {}",
            path.display(),
            r.chains,
            r.steps,
            png.display(),
            svg.display()
        );
    }
    if let Some(out) = &a.out {
        set.uncertainty = Some(r.uncertainty);
        let w = write_atomic(out, set.to_toml().as_bytes())?;
        let verb = if w == Written::Replaced { "replaced" } else { "wrote" };
        println!(
            "{verb} {} (the set with the sampled [uncertainty] block: {} draws)",
            out.display(),
            a.keep
        );
    }
    Ok(())
}

impl PosteriorLossArgs {
    /// The squared-loss likelihood these arguments name: the targets table (or the embedded one), the cohort size
    /// and seed.
    fn loss_spec(&self) -> anyhow::Result<lymphosim::calibration::fit::LossSpec> {
        let text = match &self.targets {
            Some(p) => std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?,
            None => EMBEDDED_TARGETS.to_string(),
        };
        Ok(lymphosim::calibration::fit::LossSpec {
            loss: Default::default(),
            targets: targets::parse(&text)?,
            patients: self.patients,
            seed: self.seed,
            sim: Default::default(),
            weights: Vec::new(),
        })
    }
}

/// A progress bar of `total` steps on stderr, hidden when stderr is not a terminal.
fn progress_bar(total: u64) -> indicatif::ProgressBar {
    if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        indicatif::ProgressBar::new(total)
    } else {
        indicatif::ProgressBar::hidden()
    }
}
