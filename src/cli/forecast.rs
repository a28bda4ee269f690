//! `lymphosim forecast`: one patient from their own labs — the start-date table on the terminal, and a result
//! directory with the estimates, the bands and the figure.

use anyhow::{bail, Context};
use lymphosim::forecast::{
    earliest_meeting, forecast as run_forecast, read_history, Forecast, ForecastOptions, PatientData, ResidualModel,
    Risk, QUANTILES,
};
use lymphosim::model::GradeScale;
use lymphosim::output::{write_atomic, ResultDir};
use lymphosim::population::{PatientCovariates, PopulationModel};
use lymphosim::regimen::presets::{self, PresetOptions};
use lymphosim::units::DAYS_PER_MONTH;

use super::{ForecastArgs, ForecastCoverageArgs};

/// Parses `--bound`: `NAME<=X` with a name of [`Risk::NAMES`], or a bare number (a bound on P(grade >= 3)).
fn parse_bound(s: &str) -> anyhow::Result<(Risk, f64)> {
    let (risk, value) = match s.split_once("<=") {
        Some((name, v)) => (
            Risk::parse(name).with_context(|| {
                format!(
                    "--bound {s:?}: unknown risk {:?}; expected one of {}",
                    name.trim(),
                    Risk::NAMES.join(", ")
                )
            })?,
            v,
        ),
        None => (Risk::GradeGe3, s),
    };
    let v: f64 = value
        .trim()
        .parse()
        .with_context(|| format!("--bound {s:?}: {value:?} is not a number"))?;
    if !(0.0..=1.0).contains(&v) {
        bail!("--bound {s:?}: the bound must be a probability between 0 and 1, got {v}");
    }
    Ok((risk, v))
}

pub(super) fn forecast(a: &ForecastArgs) -> anyhow::Result<()> {
    let (risk, bound) = parse_bound(&a.bound)?;
    for (name, v, lo, hi) in [
        ("--age", a.age, 1.0, 110.0),
        ("--weight", a.weight, 20.0, 250.0),
        ("--crcl", a.crcl, 5.0, 300.0),
    ] {
        if !(v.is_finite() && (lo..=hi).contains(&v)) {
            bail!("{name}: must be between {lo} and {hi}, got {v}");
        }
    }
    if !(10..=5000).contains(&a.draws) {
        bail!("--draws: must be between 10 and 5000, got {}", a.draws);
    }
    if !(1..=120).contains(&a.months) {
        bail!("--months: must be between 1 and 120, got {}", a.months);
    }
    if a.band_months.len() > 3 || a.band_months.iter().any(|m| *m > 120) {
        bail!(
            "--band-months: at most 3 values, each 0 to 120 months, got {:?}",
            a.band_months
        );
    }
    let text = std::fs::read_to_string(&a.history).with_context(|| format!("reading {}", a.history.display()))?;
    let history =
        read_history(&text, a.first_dose_date.as_deref()).with_context(|| format!("in {}", a.history.display()))?;
    let (regimen, doses_from) = match (&history.regimen, &a.preset) {
        (Some(_), Some(p)) => bail!(
            "--preset {p}: {} already holds the doses (EVID=1 rows); give them once",
            a.history.display()
        ),
        (Some(r), None) => (r.clone(), format!("the dose rows of {}", a.history.display())),
        (None, p) => {
            let name = p.as_deref().unwrap_or("alemtuzumab-label");
            let r = presets::build(
                name,
                &PresetOptions {
                    weight_kg: a.weight,
                    ..PresetOptions::default()
                },
            )?;
            (r, format!("preset {name}"))
        }
    };
    // Nothing is written where a result cannot go, before any simulation.
    let out = ResultDir::begin(&a.out)?;
    let set = super::load_params(a.params.as_deref())?;
    let population: PopulationModel = set.population(Default::default())?;
    let covariates = PatientCovariates {
        age_years: a.age,
        weight_kg: a.weight,
        crcl_ml_min: a.crcl,
        neutralising_antibodies: false,
    };
    let residual = ResidualModel::default();
    let data = PatientData {
        population: &population,
        covariates: &covariates,
        regimen: &regimen,
        labs: &history.labs,
        residual: &residual,
    };
    let from = history.labs.last().map_or(0.0, |o| o.day.max(0.0));
    let month = |m: u32| (from + f64::from(m) * DAYS_PER_MONTH).round();
    let opts = ForecastOptions {
        draws: a.draws,
        start_days: (0..=a.months).map(month).collect(),
        band_starts: a.band_months.iter().map(|&m| month(m)).collect(),
        seed: a.seed,
        ..ForecastOptions::default()
    };
    let started = std::time::Instant::now();
    let f = run_forecast(&data, &opts)?;
    let seconds = started.elapsed().as_secs_f64();
    let earliest = earliest_meeting(&f.table, risk, bound, false);
    let earliest_prior = earliest_meeting(&f.table, risk, bound, true);

    println!(
        "lymphosim forecast: {} labs to day {from:.0}, doses from {doses_from}; {}",
        history.labs.len(),
        match &f.posterior {
            Some(p) => format!(
                "MAP after {} evaluations; posterior: {} draws, effective sample size {:.0} of {} proposals",
                f.map.evaluations, a.draws, p.ess, p.proposals
            ),
            None => "no labs: the forecast is the population's (the prior)".into(),
        }
    );
    println!(
        "{:>10} {:>7} {:>22} {:>22}",
        "start day", "month", "P(G>=3) you [prior]", "P(CD4<200) you [prior]"
    );
    let show = |p: Option<f64>| p.map_or("-".to_string(), |x| format!("{:.0}%", 100.0 * x));
    for r in &f.table {
        println!(
            "{:>10.0} {:>7.0} {:>22} {:>22}",
            r.start_day,
            r.start_day / DAYS_PER_MONTH,
            format!("{} [{}]", show(r.p_grade_ge3), show(r.prior_p_grade_ge3)),
            format!("{} [{}]", show(r.p_cd4_below_200), show(r.prior_p_cd4_below_200))
        );
    }
    let day = |d: Option<f64>| d.map_or("none in the window".to_string(), |x| format!("day {x:.0}"));
    println!(
        "earliest start with {} <= {:.0}% from then on: {} (the population's answer for these covariates: {})",
        risk.name(),
        100.0 * bound,
        day(earliest),
        day(earliest_prior)
    );

    let dir = out.path();
    let json = estimates_json(
        &f,
        &history.labs,
        &opts,
        (risk, bound),
        (earliest, earliest_prior),
        &doses_from,
    );
    write_atomic(
        &dir.join("forecast.json"),
        serde_json::to_string_pretty(&json)?.as_bytes(),
    )?;
    write_atomic(&dir.join("forecast-bands.csv"), bands_csv(&f).as_bytes())?;
    if !a.no_plots {
        let title = format!(
            "{} — forecast from {} labs (model, not advice)",
            a.history
                .file_name()
                .map_or(String::new(), |n| n.to_string_lossy().into_owned()),
            history.labs.len()
        );
        lymphosim::plot::forecast_figure(&dir.join("forecast"), &f, &history.labs, &GradeScale::default(), &title)?;
    }
    let manifest = serde_json::json!({
        "lymphosim_version": env!("CARGO_PKG_VERSION"),
        "command_line": std::env::args().collect::<Vec<_>>(),
        "model": set.model,
        "seed": a.seed,
        "elapsed_seconds": seconds,
    });
    write_atomic(
        &dir.join(lymphosim::output::MARKER),
        format!("{}\n", serde_json::to_string_pretty(&manifest)?).as_bytes(),
    )?;
    let target = out.target().to_path_buf();
    out.commit()?;
    println!("wrote {} ({seconds:.1} s)", target.display());
    Ok(())
}

/// `forecast.json`: the estimates, the sampler's diagnostics and the start-date table.
fn estimates_json(
    f: &Forecast,
    labs: &[lymphosim::forecast::LabObservation],
    opts: &ForecastOptions,
    (risk, bound): (Risk, f64),
    (earliest, earliest_prior): (Option<f64>, Option<f64>),
    doses_from: &str,
) -> serde_json::Value {
    let effects: serde_json::Map<String, serde_json::Value> = PopulationModel::RANDOM_EFFECT_NAMES
        .iter()
        .zip(&f.map.z)
        .map(|(n, z)| (n.to_string(), serde_json::json!(z)))
        .collect();
    serde_json::json!({
        "labs": labs.len(),
        "below_detection": labs.iter().filter(|o| o.below_detection).count(),
        "doses_from": doses_from,
        "map": {
            "standard_normal_effects": effects,
            "objective": f.map.objective,
            "evaluations": f.map.evaluations,
        },
        "posterior": f.posterior.as_ref().map(|p| serde_json::json!({
            "method": "importance sampling: Laplace Gaussian, then a Gaussian fitted to the first round; 10 % defensive prior; deterministic-mixture weights; systematic resampling",
            "draws": p.z.len(),
            "proposals": p.proposals,
            "effective_sample_size": p.ess,
        })),
        "prior_draws": f.prior.len(),
        "follow_up_days": opts.follow_up_days,
        "bound": { "risk": risk.name(), "at_most": bound },
        "earliest_start_day": earliest,
        "earliest_start_day_prior": earliest_prior,
        "table": f.table.iter().map(|r| serde_json::json!({
            "start_day": r.start_day,
            "p_grade_ge3": r.p_grade_ge3,
            "p_cd4_below_200": r.p_cd4_below_200,
            "prior_p_grade_ge3": r.prior_p_grade_ge3,
            "prior_p_cd4_below_200": r.prior_p_cd4_below_200,
        })).collect::<Vec<_>>(),
    })
}

/// `forecast-bands.csv`: one row per plan, day and count; `plan` is `fit` for the MAP patient under the doses
/// given, `none` for the posterior under them, `cladribine-day-N` for cladribine from day N. Empty fields are
/// values that could not be computed.
fn bands_csv(f: &Forecast) -> String {
    let mut s = String::from("plan,day,count");
    for q in QUANTILES {
        s.push_str(&format!(",q{:02.0}", 100.0 * q));
    }
    s.push_str(",unit\n");
    let rows = f
        .fit
        .iter()
        .map(|r| ("fit".to_string(), r))
        .chain(f.bands.iter().map(|r| (r.plan.label(), r)));
    for (plan, r) in rows {
        s.push_str(&format!("{plan},{},{}", r.day, r.count.name()));
        for q in r.quantiles {
            s.push(',');
            if let Some(v) = q {
                s.push_str(&format!("{v:.3}"));
            }
        }
        s.push_str(",cells/uL\n");
    }
    s
}

pub(super) fn coverage(a: &ForecastCoverageArgs) -> anyhow::Result<()> {
    use lymphosim::forecast::coverage::{coverage_study, CoverageSpec, CHECKED};
    if !(10..=5000).contains(&a.draws) {
        bail!("--draws: must be between 10 and 5000, got {}", a.draws);
    }
    let threads = super::threads(a.threads)?;
    let set = super::load_params(a.params.as_deref())?;
    let population: PopulationModel = set.population(Default::default())?;
    let spec = CoverageSpec {
        patients: a.patients,
        draws: a.draws,
        seed: a.seed,
        ..CoverageSpec::default()
    };
    let regimen = presets::alemtuzumab_label();
    let started = std::time::Instant::now();
    let study = coverage_study(&population, &regimen, &spec, threads)?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "forecast coverage: {} virtual patients after the label's alemtuzumab, CD4 and ALC at days {:?}, held back: day {} ({} failed; {seconds:.0} s on {threads} threads)",
        study.rows.len(),
        spec.visits,
        spec.held_back_day,
        study.failures.len()
    );
    for (id, e) in &study.failures {
        println!("  patient {id} failed: {e}");
    }
    for (c, count) in CHECKED.iter().enumerate() {
        match study.coverage(c) {
            Some((c50, c90)) => {
                let n = study.rows.len() as f64;
                let se = |p: f64| (p * (1.0 - p) / n).sqrt();
                println!(
                    "  {}: truth inside the 50 % interval {:.1} % (± {:.1}), inside the 90 % interval {:.1} % (± {:.1})",
                    count.name(),
                    100.0 * c50,
                    100.0 * se(0.5),
                    100.0 * c90,
                    100.0 * se(0.9)
                );
            }
            None => println!("  {}: no patient", count.name()),
        }
    }
    if let Some(m) = study.median_ess() {
        println!(
            "  median effective sample size {m:.0} of {} proposals",
            spec.proposals_per_draw * spec.draws
        );
    }
    if let Some(path) = &a.out {
        let mut s = String::from("id,count,truth,q05,q25,q50,q75,q95,ess\n");
        for r in &study.rows {
            for (c, count) in CHECKED.iter().enumerate() {
                let q = r.quantiles[c];
                s.push_str(&format!(
                    "{},{},{},{},{},{},{},{},{}\n",
                    r.id,
                    count.name(),
                    r.truth[c],
                    q[0],
                    q[1],
                    q[2],
                    q[3],
                    q[4],
                    r.ess
                ));
            }
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("--out {}: cannot create its folder", path.display()))?;
        }
        write_atomic(path, s.as_bytes())?;
        println!("wrote {}", path.display());
    }
    Ok(())
}
