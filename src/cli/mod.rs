//! Command-line interface: argument parsing and one function per command. `main.rs` only calls [`run`].

mod bench;
mod forecast;
mod patient;
mod run;
mod tables;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use lymphosim::regimen::presets::PresetOptions;
use lymphosim::simulate::{PkForm, SimOptions};
use lymphosim::solver::{Method, SolverOptions};

/// Simulate lymphocyte depletion and repopulation after alemtuzumab and cladribine tablets.
#[derive(Debug, Parser)]
#[command(name = "lymphosim", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a cohort study from a scenario file or an embedded scenario preset (default: switch-interval).
    Run(RunArgs),
    /// Merge shard directories of one scenario into one result.
    Merge(MergeArgs),
    /// Print an embedded scenario as TOML (without NAME: list them).
    Preset {
        /// Scenario preset name.
        name: Option<String>,
    },
    /// Simulate one typical patient on a preset regimen (or an event table); print a summary, write a CSV.
    Patient(PatientArgs),
    /// List the regimen presets.
    Presets,
    /// List the integration methods.
    Methods,
    /// List the model parameters: name, symbol, typical value, unit and source (Markdown table).
    Params,
    /// Write a preset's dose events as a NONMEM-style CSV (ID,TIME,EVID,AMT,CMT,RATE; time in days).
    Events(EventsArgs),
    /// Compare the typical patient with published targets (calibration-targets.csv).
    Targets(TargetsArgs),
    /// Every target with model value, target, tolerance and whether it is met (--json for machines).
    CalibrationReport(TargetsArgs),
    /// The validation table (figures the fit never sees: other cohorts, statistics, follow-up), with cohorts.
    Validate(TargetsArgs),
    /// Fit named parameters to a targets table (Nelder-Mead, common random numbers) and write a parameter set.
    Calibrate(CalibrateArgs),
    /// Which parameters the switch answer depends on: Morris screening of P(G>=3), P(CD4<200) and the CD4 nadir.
    Sensitivity(SensitivityArgs),
    /// One patient from their own labs: MAP and posterior of their random effects, their P(G>=3) and P(CD4<200)
    /// after cladribine planned on each candidate day against the population's answer, bands and a figure.
    Forecast(ForecastArgs),
    /// Check the forecast's credible intervals on virtual patients (simulation-based calibration).
    ForecastCoverage(ForecastCoverageArgs),
    /// What the calibration data pin down: the loss curvature at a set, each quantity's uncertainty and partner,
    /// and the set with its approximate posterior (for `run --uncertainty N`).
    Identifiability(IdentifiabilityArgs),
    /// Sample the calibration posterior (random-walk Metropolis from the set's Laplace posterior): each
    /// quantity's median and 95 % range with its effective sample size and R-hat, and the set with the draws
    /// (for `run --uncertainty N`).
    Posterior(PosteriorArgs),
    /// Re-draw the figures of an output directory (of `run`, `merge` or `bench work-precision`).
    Plot {
        /// The output directory.
        dir: PathBuf,
    },
    /// Solver studies: `lymphosim bench work-precision`.
    #[command(subcommand)]
    Bench(BenchCommand),
}

#[derive(Debug, Subcommand)]
enum BenchCommand {
    /// Error vs time per patient for every method on a fixed-seed cohort and three regimens (table, CSV, figure).
    WorkPrecision(WorkPrecisionArgs),
}

#[derive(Debug, Args)]
struct WorkPrecisionArgs {
    /// Patients per regimen.
    #[arg(long, default_value_t = 100)]
    patients: u64,
    /// Seed of the cohort.
    #[arg(long, default_value_t = 20261124)]
    seed: u64,
    /// Short tolerance ladders and fewer methods (a minute or less).
    #[arg(long)]
    quick: bool,
    /// Output directory for work-precision.csv and the figure.
    #[arg(long, value_name = "DIR", default_value = "lymphosim-out/work-precision")]
    out: PathBuf,
    /// Do not draw the figure.
    #[arg(long)]
    no_plots: bool,
    /// No progress lines on stderr.
    #[arg(long)]
    quiet: bool,
    /// Instead of the counts, the switch question's answer (P(G>=3), P(CD4<200), median CD4 nadir; `sequence` at
    /// 12 months, label rules, 5 years) per method and tolerance, next to its Monte Carlo error (decision.csv).
    #[arg(long)]
    decision: bool,
}

#[derive(Debug, Args)]
struct CalibrateArgs {
    /// Targets table (default: the embedded copy of the shared calibration-targets.csv).
    targets: Option<PathBuf>,
    /// Names to fit, comma-separated, each once: model parameters (lymphosim params) or variability.NAME.
    #[arg(long, value_delimiter = ',', required = true, value_name = "NAME,...")]
    fit: Vec<String>,
    /// Starting parameter set: a file, `v2` or `v1` (the calibrated v2 and v1 sets), `reference` (v1's first guesses)
    /// (default: the shipped calibrated v3 set).
    #[arg(long, value_name = "FILE.toml")]
    start: Option<String>,
    /// Model variant of the fitted set (default: the start set's): v1; v2 (v1 plus the impairment signal that
    /// suppresses lymphopenia-induced T-cell proliferation after cladribine; `clad_prolif_inhibition` starts at
    /// 10 when the start set has it at 0); or v3 (v2 plus the memory T cells' shared niche and post-depletion set
    /// point; they start at 0.5, 0.9 and CV 0.2 when the start set has them neutral).
    #[arg(long)]
    model: Option<String>,
    /// Patients per cohort for cohort targets (0: typical-patient targets only).
    #[arg(long, default_value_t = 500)]
    patients: u64,
    /// Seed of the cohorts (common random numbers: the loss is deterministic).
    #[arg(long, default_value_t = 20261124)]
    seed: u64,
    /// Nelder-Mead iterations at most (per run).
    #[arg(long, default_value_t = 400)]
    max_iters: u64,
    /// Restarts from the best point with a fresh simplex, while they improve.
    #[arg(long, default_value_t = 3)]
    restarts: u32,
    /// Weight of one target in the loss, as ID=WEIGHT (default 1); repeat for several.
    #[arg(long = "weight", value_name = "ID=W")]
    weights: Vec<String>,
    /// Loss: `squared` (squared deviation in tolerance units, as the v1 and v2 sets were fitted) or `inside`
    /// (the same plus 1 for every target outside its tolerance, so the fit prefers meeting more targets).
    #[arg(long, default_value = "squared")]
    loss: String,
    /// Output parameter set.
    #[arg(
        long,
        value_name = "FILE.toml",
        default_value = "lymphosim-out/params-calibrated.toml"
    )]
    out: PathBuf,
}

#[derive(Debug, Args)]
struct SensitivityArgs {
    /// Quantities to screen, comma-separated (default: every quantity the parameter set's history fitted).
    #[arg(long, value_delimiter = ',', value_name = "NAME,...")]
    fit: Vec<String>,
    /// Parameter set around which to screen (default: the shipped calibrated v3 set; `v2`; `v1`; `reference`; a file).
    #[arg(long, value_name = "FILE.toml")]
    params: Option<String>,
    /// Each quantity varies from value/RANGE to value*RANGE (log scale).
    #[arg(long, default_value_t = 2.0)]
    range: f64,
    /// Morris trajectories ((quantities + 1) cohorts each).
    #[arg(long, default_value_t = 8)]
    trajectories: usize,
    /// Patients per cohort (the same patients in every cohort).
    #[arg(long, default_value_t = 300)]
    patients: u64,
    /// Seed of the cohorts and the design.
    #[arg(long, default_value_t = 20261124)]
    seed: u64,
    /// Months from the last alemtuzumab infusion to cladribine (the `sequence` preset, label rules).
    #[arg(long = "interval-months", default_value_t = 12.0)]
    interval_months: f64,
    /// Horizon (years).
    #[arg(long, default_value_t = 5.0)]
    horizon_years: f64,
}

#[derive(Debug, Args)]
struct ForecastArgs {
    /// Lab history: a CSV with header day,count,value,unit (day from the first dose, negative before it; value a
    /// number or <limit below detection; unit cells/uL or 10^9/L) or date,count,value,unit (with
    /// --first-dose-date), or a NONMEM-style table (ID,TIME,EVID,AMT,CMT,RATE,DV,COUNT,UNIT[,BLQ]) whose EVID=1
    /// rows are the doses.
    history: PathBuf,
    /// The first dose's date (YYYY-MM-DD), for a history whose first column is `date` rather than `day`.
    #[arg(long, value_name = "YYYY-MM-DD")]
    first_dose_date: Option<String>,
    /// The doses given, as a preset (see `lymphosim presets`), when the history does not hold them
    /// [default: alemtuzumab-label].
    #[arg(long)]
    preset: Option<String>,
    /// Age (years).
    #[arg(long)]
    age: f64,
    /// Body weight (kg); sets the cladribine dose.
    #[arg(long)]
    weight: f64,
    /// Creatinine clearance (mL/min).
    #[arg(long, default_value_t = 100.0)]
    crcl: f64,
    /// Bound for the earliest start day: `p_grade_ge3<=0.10`, `p_cd4_below_200<=0.5`, or a number (a bound on
    /// P(grade >= 3)).
    #[arg(long, default_value = "p_grade_ge3<=0.10")]
    bound: String,
    /// Posterior (and prior) draws.
    #[arg(long, default_value_t = 100)]
    draws: usize,
    /// Candidate start days: monthly from the last lab for this many months.
    #[arg(long, default_value_t = 24)]
    months: u32,
    /// Start dates drawn as bands in the figure, in months after the last lab (at most 3).
    #[arg(long, value_delimiter = ',', default_values_t = [0u32, 12, 24], value_name = "M,...")]
    band_months: Vec<u32>,
    /// Parameter set of the population (the prior).
    #[arg(long, value_name = "FILE.toml")]
    params: Option<String>,
    /// Seed of the sampling.
    #[arg(long, default_value_t = 20261202)]
    seed: u64,
    /// Output directory: forecast.json, forecast-bands.csv, forecast.png/.svg, manifest.json.
    #[arg(long, value_name = "DIR", default_value = "lymphosim-out/forecast")]
    out: PathBuf,
    /// Skip the figure.
    #[arg(long)]
    no_plots: bool,
}

#[derive(Debug, Args)]
struct ForecastCoverageArgs {
    /// Virtual patients.
    #[arg(long, default_value_t = 200)]
    patients: u64,
    /// Posterior draws per patient.
    #[arg(long, default_value_t = 100)]
    draws: usize,
    /// Parameter set of the population (the prior and the virtual patients).
    #[arg(long, value_name = "FILE.toml")]
    params: Option<String>,
    /// Seed of the patients, their lab noise and their posteriors.
    #[arg(long, default_value_t = 20261202)]
    seed: u64,
    /// Worker threads (default: all cores); the result does not depend on it.
    #[arg(long)]
    threads: Option<usize>,
    /// Write one row per patient here (truth, interval bounds, effective sample size).
    #[arg(long, value_name = "FILE.csv")]
    out: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct IdentifiabilityArgs {
    /// Quantities, comma-separated (default: every quantity the parameter set's history fitted).
    #[arg(long, value_delimiter = ',', value_name = "NAME,...")]
    fit: Vec<String>,
    #[command(flatten)]
    posterior: PosteriorLossArgs,
    /// Central-difference step on the log scale.
    #[arg(long, default_value_t = 0.1)]
    step: f64,
    /// Prior: each quantity within this factor of its value (one standard deviation).
    #[arg(long, default_value_t = 2.0)]
    prior_factor: f64,
    /// Write the parameter set with its [uncertainty] block here.
    #[arg(long, value_name = "FILE.toml")]
    out: Option<PathBuf>,
}

/// The posterior's set and likelihood, shared by `identifiability` and `posterior`.
#[derive(Debug, Args)]
struct PosteriorLossArgs {
    /// Parameter set (default: the shipped calibrated set; `v1`; `v2`; `reference`; a file); `posterior` needs
    /// one with an [uncertainty] block and samples its quantities.
    #[arg(long, value_name = "FILE.toml")]
    params: Option<String>,
    /// Targets table (default: the embedded calibration targets).
    #[arg(long, value_name = "FILE.csv")]
    targets: Option<PathBuf>,
    /// Patients per cohort for cohort targets (the same patients at every point).
    #[arg(long, default_value_t = 500)]
    patients: u64,
    /// Seed of the cohorts.
    #[arg(long, default_value_t = 20261124)]
    seed: u64,
}

#[derive(Debug, Args)]
struct PosteriorArgs {
    #[command(flatten)]
    posterior: PosteriorLossArgs,
    /// Seed of the chains' random streams.
    #[arg(long, default_value_t = 1)]
    chain_seed: u64,
    /// Chains (run side by side).
    #[arg(long, default_value_t = 4)]
    chains: usize,
    /// Burn-in steps per chain (the proposal is tuned, the draws discarded).
    #[arg(long, default_value_t = 300)]
    burn_in: usize,
    /// Kept steps per chain.
    #[arg(long, default_value_t = 1000)]
    steps: usize,
    /// Draws to store in the written set.
    #[arg(long, default_value_t = 200)]
    keep: usize,
    /// Prior: each quantity within this factor of its value (one standard deviation).
    #[arg(long, default_value_t = 2.0)]
    prior_factor: f64,
    /// Write the parameter set with the sampled [uncertainty] block (covariance and draws) here.
    #[arg(long, value_name = "FILE.toml")]
    out: Option<PathBuf>,
    /// Write every kept step of every chain here (CSV: chain, step, log_posterior, one column per quantity), for
    /// diagnostics of your own, and its trace figure beside it (FILE.png, FILE.svg).
    #[arg(long, value_name = "FILE.csv")]
    trace: Option<PathBuf>,
}

#[derive(Debug, Args, Default)]
struct RunArgs {
    /// Scenario file (TOML); see `lymphosim preset switch-interval` for a complete example.
    scenario: Option<PathBuf>,
    /// Embedded scenario preset instead of a file (see `lymphosim preset`).
    #[arg(long)]
    preset: Option<String>,
    /// Number of virtual patients (overrides the scenario).
    #[arg(long)]
    patients: Option<u64>,
    /// Random seed (overrides the scenario).
    #[arg(long)]
    seed: Option<u64>,
    /// Worker threads (default: all cores). Results do not depend on it.
    #[arg(long)]
    threads: Option<usize>,
    /// Output directory (default: lymphosim-out).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Run only shard I of N (0-based, e.g. 3/10); merge the shard directories afterwards.
    #[arg(long, value_name = "I/N")]
    shard: Option<String>,
    /// No progress bar and no table.
    #[arg(long)]
    quiet: bool,
    /// Do not keep the per-patient table (memory then stays flat in the number of patients).
    #[arg(long)]
    no_patients: bool,
    /// Do not draw the figures (fan chart per arm, risk curves over a sweep).
    #[arg(long)]
    no_plots: bool,
    /// Warn about arms whose last planned dose leaves less than this follow-up within the horizon (months).
    #[arg(long, value_name = "MONTHS", default_value_t = 24.0)]
    follow_up_months: f64,
    /// Parameter uncertainty: also run the same patients under N parameter sets drawn from the set's posterior
    /// (its [uncertainty] block: N of its stored draws from `lymphosim posterior`, or log-normal draws from the
    /// Laplace covariance of `lymphosim identifiability`), and report each endpoint's spread over the sets next to
    /// its Monte Carlo interval (uncertainty.csv).
    #[arg(long, value_name = "N")]
    uncertainty: Option<usize>,
    /// Parameter set replacing the population's typical values and variability
    /// (default: the shipped calibrated v3 set; `v2` and `v1` for the calibrated v2 and v1 sets; `reference` for v1's first guesses).
    #[arg(long, value_name = "FILE.toml")]
    params: Option<String>,
}

#[derive(Debug, Args)]
struct MergeArgs {
    /// Shard directories written by `lymphosim run --shard`.
    #[arg(required = true)]
    dirs: Vec<PathBuf>,
    /// Output directory.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Do not draw the figures.
    #[arg(long)]
    no_plots: bool,
}

/// Regimen choice shared by commands.
#[derive(Debug, Args, Clone)]
struct RegimenArgs {
    /// Preset name (see `lymphosim presets`).
    #[arg(long, default_value = "sequence")]
    preset: String,
    /// Body weight (kg); drives the cladribine dose.
    #[arg(long, default_value_t = 70.0)]
    weight: f64,
    /// For `sequence`: months from the last alemtuzumab infusion to the first cladribine dose.
    #[arg(long = "interval-months", default_value_t = 12.0)]
    interval_months: f64,
}

/// Loads a parameter set: a file, `reference` (v1 first guesses), or the shipped calibrated set.
/// `--threads`: the value given (1 to the cohort engine's maximum), or every core.
fn threads(given: Option<usize>) -> anyhow::Result<usize> {
    let n = given.unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
    if !(1..=lymphosim::cohort::MAX_THREADS).contains(&n) {
        anyhow::bail!(
            "--threads: must be between 1 and {}, got {n}",
            lymphosim::cohort::MAX_THREADS
        );
    }
    Ok(n)
}

fn load_params(spec: Option<&str>) -> anyhow::Result<lymphosim::population::paramset::ParamSet> {
    use anyhow::Context;
    use lymphosim::population::paramset::ParamSet;
    match spec {
        None => Ok(ParamSet::shipped()),
        Some("reference") => Ok(ParamSet::default()),
        Some("v1") => Ok(ParamSet::shipped_v1()),
        Some("v2") => Ok(ParamSet::shipped_v2()),
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("reading parameter set {path}"))?;
            Ok(ParamSet::from_toml(&text).with_context(|| format!("in {path}"))?)
        }
    }
}

impl RegimenArgs {
    fn preset_options(&self) -> PresetOptions {
        PresetOptions {
            weight_kg: self.weight,
            interval_months: self.interval_months,
        }
    }
}

/// Integration choice shared by commands.
#[derive(Debug, Args, Clone)]
struct SolverArgs {
    /// Integration method (see `lymphosim methods`).
    #[arg(long, default_value = "dopri5")]
    method: String,
    /// Drug representation: `exact` (closed-form propagation) or `ode` (full 16-state ODE).
    #[arg(long, default_value = "exact")]
    pk: String,
    /// Relative tolerance.
    #[arg(long, default_value_t = 1e-6)]
    rtol: f64,
    /// Absolute tolerance (cells/µL, mg).
    #[arg(long, default_value_t = 1e-6)]
    atol: f64,
}

impl SolverArgs {
    fn options(&self) -> lymphosim::Result<SimOptions> {
        let method: Method = self.method.parse()?;
        let pk: PkForm = self.pk.parse()?;
        let solver = SolverOptions {
            rtol: self.rtol,
            atol: self.atol,
            ..SolverOptions::default()
        };
        solver.validate()?;
        Ok(SimOptions { method, solver, pk })
    }
}

#[derive(Debug, Args)]
#[command(allow_negative_numbers = true)]
struct PatientArgs {
    #[command(flatten)]
    regimen: RegimenArgs,
    /// Read the dose events from a NONMEM-style CSV instead of a preset.
    #[arg(long, value_name = "FILE.csv")]
    events: Option<PathBuf>,
    /// Simulated days (default: 10 years).
    #[arg(long, default_value_t = 3653.0)]
    days: f64,
    /// Output CSV (one row per day). Default: lymphosim-out/patient-<preset>.csv
    #[arg(long, value_name = "FILE.csv")]
    out: Option<PathBuf>,
    /// Lower limit of normal for ALC (cells/µL), for CTCAE grades.
    #[arg(long, default_value_t = lymphosim::model::DEFAULT_LLN)]
    lln: f64,
    /// Do not draw the figure (PNG and SVG beside the CSV).
    #[arg(long)]
    no_plots: bool,
    /// Parameter set for the typical patient (default: the shipped calibrated v3 set; `v2` and `v1` for the calibrated v2 and v1 sets; `reference` for v1's first guesses).
    #[arg(long, value_name = "FILE.toml")]
    params: Option<String>,
    #[command(flatten)]
    solver: SolverArgs,
    /// Also solve the patient this many more times and print the median time per solve, in process (0-10000).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=10000))]
    time_solves: u32,
}

#[derive(Debug, Args)]
#[command(allow_negative_numbers = true)]
struct EventsArgs {
    #[command(flatten)]
    regimen: RegimenArgs,
    /// Output CSV; without it the table goes to standard output.
    #[arg(long, value_name = "FILE.csv")]
    out: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct TargetsArgs {
    /// Targets table (default: the embedded copy of the shared calibration-targets.csv).
    #[arg(long, value_name = "FILE.csv")]
    file: Option<PathBuf>,
    /// Parameter set to evaluate (default: the shipped calibrated v3 set; `v2` and `v1` for the calibrated v2 and v1 sets; `reference` for v1's first guesses).
    #[arg(long, value_name = "FILE.toml")]
    params: Option<String>,
    /// Print a JSON array of objects with id, model, target, tolerance, within, note.
    #[arg(long)]
    json: bool,
    /// Also draw the comparison (model vs each target with its tolerance) as DIR/calibration.png and .svg.
    #[arg(long, value_name = "DIR")]
    plot_dir: Option<PathBuf>,
    /// Also evaluate the cohort statistics (fractions of patients, grade distributions) with a cohort run.
    #[arg(long)]
    cohort: bool,
    /// Patients per cohort for --cohort.
    #[arg(long, default_value_t = 2000)]
    patients: u64,
    /// Seed for --cohort.
    #[arg(long, default_value_t = 20261124)]
    seed: u64,
    #[command(flatten)]
    solver: SolverArgs,
}

/// Parses the command line and runs the chosen command. With no command, runs the `switch-interval` cohort study.
pub fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        None => {
            eprintln!("lymphosim: no command given; running the embedded `switch-interval` cohort study (see `lymphosim --help`).");
            run::run(&RunArgs::default())
        }
        Some(Command::Run(a)) => run::run(&a),
        Some(Command::Merge(a)) => run::merge(&a),
        Some(Command::Preset { name }) => run::preset(name.as_deref()),
        Some(Command::Patient(a)) => patient::run(&a),
        Some(Command::Presets) => {
            tables::presets();
            Ok(())
        }
        Some(Command::Methods) => {
            tables::methods();
            Ok(())
        }
        Some(Command::Params) => {
            tables::params();
            Ok(())
        }
        Some(Command::Events(a)) => tables::events(&a),
        Some(Command::Targets(a)) | Some(Command::CalibrationReport(a)) => tables::targets(&a, false),
        Some(Command::Validate(a)) => tables::targets(&a, true),
        Some(Command::Calibrate(a)) => tables::calibrate(&a),
        Some(Command::Sensitivity(a)) => tables::sensitivity(&a),
        Some(Command::Identifiability(a)) => tables::identifiability(&a),
        Some(Command::Posterior(a)) => tables::posterior(&a),
        Some(Command::Forecast(a)) => forecast::forecast(&a),
        Some(Command::ForecastCoverage(a)) => forecast::coverage(&a),
        Some(Command::Bench(BenchCommand::WorkPrecision(a))) => bench::work_precision(&a),
        Some(Command::Plot { dir }) => run::plot(&dir),
    }
}
