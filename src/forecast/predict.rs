//! What the estimate says about the future: posterior predictive bands of every count under a plan (no
//! cladribine, or cladribine from a start day), the start-date table of risks, and [`forecast`], which runs the
//! whole chain for one patient.

use super::{map_estimate, posterior_draws, MapEstimate, PatientData, PosteriorDraws, MAX_DAY};
use crate::model::{Count, Model};
use crate::population::rng::patient_rng;
use crate::population::PopulationModel;
use crate::regimen::{presets, LabelRules, Regimen, Start};
use crate::simulate::{simulate, Problem, SimOptions};

/// One candidate cladribine start day: the patient's risks after it, under their posterior and under the prior.
#[derive(Debug, Clone, PartialEq)]
pub struct StartDateRow {
    /// Planned first cladribine dose (days from the first dose of the history's regimen).
    pub start_day: f64,
    /// P(worst grade ≥ 3 from the first cladribine dose on), over the posterior draws; `None` if no draw reached
    /// the start within the follow-up.
    pub p_grade_ge3: Option<f64>,
    /// P(CD4 < 200 at any time from the first cladribine dose on), over the posterior draws.
    pub p_cd4_below_200: Option<f64>,
    /// The same two risks over draws from the prior alone (the population's answer for these covariates).
    pub prior_p_grade_ge3: Option<f64>,
    /// See [`StartDateRow::prior_p_grade_ge3`].
    pub prior_p_cd4_below_200: Option<f64>,
}

/// The two risks over `draws` when cladribine (the label regimen for the patient's weight, under the label's
/// rules) is planned on `start_day` after the history's regimen, followed for `follow_up_days` after it.
fn risks_at(
    data: &PatientData,
    draws: &[Vec<f64>],
    start_day: f64,
    follow_up_days: f64,
) -> crate::Result<(Option<f64>, Option<f64>)> {
    use crate::outcome::{OutcomeConfig, OutcomeTracker, Reference};
    let regimen = Plan::CladribineAt(start_day).regimen(data)?;
    let cfg = OutcomeConfig {
        reference: Reference::Switch,
        ..OutcomeConfig::default()
    };
    let mut problems = Vec::with_capacity(draws.len());
    for z in draws {
        let Ok(model) = Model::new(data.patient(z).params) else {
            continue;
        };
        problems.push(Problem::new(model, &regimen, start_day + follow_up_days)?);
    }
    let mut trackers: Vec<OutcomeTracker> = problems
        .iter()
        .map(|p| OutcomeTracker::new(p.model(), &cfg, p.regimen()))
        .collect();
    // No lab noise at the gates: the random streams are not drawn from.
    let mut rngs: Vec<_> = problems
        .iter()
        .map(|_| crate::population::rng::patient_rng(0, 0))
        .collect();
    // The draws run four at a time in SIMD lanes, each exactly as it would alone.
    let runs = crate::simulate::solve_batch(&problems, &mut rngs, &mut trackers, &SimOptions::default())?;
    let (mut n, mut g3, mut cd4) = (0u32, 0u32, 0u32);
    for (tracker, run) in trackers.into_iter().zip(runs) {
        if run.is_err() {
            continue;
        }
        if let Some(w) = tracker.finish().window {
            n += 1;
            g3 += u32::from(w.worst_grade.value() >= 3);
            cd4 += u32::from(w.days_cd4_below_200 > 0.0);
        }
    }
    let p = |k: u32| (n > 0).then(|| f64::from(k) / f64::from(n));
    Ok((p(g3), p(cd4)))
}

/// For each candidate cladribine start day, the patient's P(G ≥ 3) and P(CD4 < 200) after it under their
/// posterior draws and under `prior` draws (standard-normal vectors from N(0, I)), each followed for
/// `follow_up_days` after the planned start.
pub fn start_date_table(
    data: &PatientData,
    posterior: &[Vec<f64>],
    prior: &[Vec<f64>],
    start_days: &[f64],
    follow_up_days: f64,
) -> crate::Result<Vec<StartDateRow>> {
    if !(follow_up_days.is_finite() && follow_up_days > 0.0 && follow_up_days <= MAX_DAY) {
        return Err(crate::Error::invalid(
            "follow_up_days",
            follow_up_days,
            "must be between 0 and 36525 days",
        ));
    }
    start_days
        .iter()
        .map(|&d| {
            if !(d.is_finite() && (0.0..=MAX_DAY).contains(&d)) {
                return Err(crate::Error::invalid(
                    "start_days",
                    d,
                    "must be days between 0 and 36525",
                ));
            }
            let (p3, p200) = risks_at(data, posterior, d, follow_up_days)?;
            let (q3, q200) = risks_at(data, prior, d, follow_up_days)?;
            Ok(StartDateRow {
                start_day: d,
                p_grade_ge3: p3,
                p_cd4_below_200: p200,
                prior_p_grade_ge3: q3,
                prior_p_cd4_below_200: q200,
            })
        })
        .collect()
}

/// A risk of the start-date table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Risk {
    /// P(worst ALC grade ≥ 3 from the first cladribine dose on).
    GradeGe3,
    /// P(CD4 < 200 cells/µL at any time from the first cladribine dose on).
    Cd4Below200,
}

impl Risk {
    /// The names a bound may use: `p_grade_ge3`, `p_cd4_below_200`.
    pub const NAMES: [&'static str; 2] = ["p_grade_ge3", "p_cd4_below_200"];

    /// Parses a name of [`Risk::NAMES`].
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "p_grade_ge3" => Some(Risk::GradeGe3),
            "p_cd4_below_200" => Some(Risk::Cd4Below200),
            _ => None,
        }
    }

    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            Risk::GradeGe3 => Self::NAMES[0],
            Risk::Cd4Below200 => Self::NAMES[1],
        }
    }

    /// Its value in `row`, under the posterior or (with `prior`) the prior.
    pub fn of(self, row: &StartDateRow, prior: bool) -> Option<f64> {
        match (self, prior) {
            (Risk::GradeGe3, false) => row.p_grade_ge3,
            (Risk::GradeGe3, true) => row.prior_p_grade_ge3,
            (Risk::Cd4Below200, false) => row.p_cd4_below_200,
            (Risk::Cd4Below200, true) => row.prior_p_cd4_below_200,
        }
    }
}

/// The earliest start day of `table` from which every later one keeps `risk` at or below `max` (posterior, or
/// prior with `prior = true`); `None` if none does. A row whose risk could not be computed counts as failing.
pub fn earliest_meeting(table: &[StartDateRow], risk: Risk, max: f64, prior: bool) -> Option<f64> {
    let ok = |r: &StartDateRow| risk.of(r, prior).is_some_and(|p| p <= max);
    let last_bad = table.iter().rposition(|r| !ok(r));
    match last_bad {
        None => table.first().map(|r| r.start_day),
        Some(i) => table.get(i + 1).map(|r| r.start_day),
    }
}

/// `n` draws of a patient's standard-normal effects from the prior N(0, I) — the population's answer for given
/// covariates, to set beside a patient's posterior.
pub fn prior_draws<R: rand::Rng + ?Sized>(n: usize, rng: &mut R) -> Vec<Vec<f64>> {
    use rand_distr::{Distribution, StandardNormal};
    (0..n)
        .map(|_| {
            (0..PopulationModel::RANDOM_EFFECTS)
                .map(|_| StandardNormal.sample(rng))
                .collect()
        })
        .collect()
}

/// What is planned after the history's doses.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Plan {
    /// Nothing more: the history's regimen alone.
    NoCladribine,
    /// Cladribine tablets, the label regimen for the patient's weight under the label's lymphocyte rules, with the
    /// first dose on this day (days from the start of the history).
    CladribineAt(f64),
}

impl Plan {
    /// The regimen the plan gives for this patient.
    pub fn regimen(&self, data: &PatientData) -> crate::Result<Regimen> {
        Ok(match *self {
            Plan::NoCladribine => data.regimen.clone(),
            Plan::CladribineAt(day) => LabelRules::default().apply(
                data.regimen
                    .clone()
                    .then(Start::AtDay(day), presets::cladribine_label(data.covariates.weight_kg)?),
            )?,
        })
    }

    /// A short label: `none` or `cladribine-day-N`.
    pub fn label(&self) -> String {
        match self {
            Plan::NoCladribine => "none".into(),
            Plan::CladribineAt(d) => format!("cladribine-day-{d:.0}"),
        }
    }
}

/// Most values one band computation holds per count (days × draws): 10⁷, 80 MB per count.
pub const MAX_BAND_VALUES: usize = 10_000_000;

/// Quantiles of the posterior predictive bands, in [`BandRow::quantiles`] order.
pub const QUANTILES: [f64; 5] = [0.05, 0.25, 0.5, 0.75, 0.95];

/// One day of one count's posterior predictive band under one plan.
#[derive(Debug, Clone, PartialEq)]
pub struct BandRow {
    /// The plan.
    pub plan: Plan,
    /// Days from the start of the history.
    pub day: f64,
    /// The count.
    pub count: Count,
    /// The model count (cells/µL, without measurement error) at [`QUANTILES`] over the draws; `None` where no
    /// draw could be simulated.
    pub quantiles: [Option<f64>; 5],
}

/// Posterior predictive bands: every count on `days` under `plan`, over the patient's `draws`. A draw whose
/// simulation fails is left out (and if all fail the quantiles are `None`).
pub fn predictive_bands(
    data: &PatientData,
    draws: &[Vec<f64>],
    plan: Plan,
    days: &[f64],
) -> crate::Result<Vec<BandRow>> {
    if days.len().saturating_mul(draws.len()) > MAX_BAND_VALUES {
        return Err(crate::Error::invalid(
            "days",
            days.len(),
            format!(
                "{} days × {} draws is more than {MAX_BAND_VALUES} values per count; use fewer days or draws",
                days.len(),
                draws.len()
            ),
        ));
    }
    let regimen = plan.regimen(data)?;
    let horizon = days.iter().copied().fold(1.0, f64::max);
    let mut values: Vec<[Vec<f64>; 5]> = (0..days.len()).map(|_| Default::default()).collect();
    for z in draws {
        let Ok(model) = Model::new(data.patient(z).params) else {
            continue;
        };
        let problem = Problem::new(model.clone(), &regimen, horizon)?.with_observation_days(days.to_vec())?;
        let Ok(t) = simulate(&problem, &SimOptions::default()) else {
            continue;
        };
        for (k, y) in t.states.iter().enumerate() {
            let o = model.observe(y);
            for (c, count) in Count::ALL.iter().enumerate() {
                values[k][c].push(count.of(&o));
            }
        }
    }
    let mut out = Vec::with_capacity(days.len() * Count::ALL.len());
    for (k, &day) in days.iter().enumerate() {
        for (c, &count) in Count::ALL.iter().enumerate() {
            let v = &values[k][c];
            out.push(BandRow {
                plan,
                day,
                count,
                quantiles: QUANTILES.map(|q| crate::scenario::ensemble::quantile(v, q)),
            });
        }
    }
    Ok(out)
}

/// What [`forecast`] does.
#[derive(Debug, Clone, PartialEq)]
pub struct ForecastOptions {
    /// Posterior draws, and prior draws beside them (10 to 5000).
    pub draws: usize,
    /// Importance-sampling proposals per posterior draw.
    pub proposals_per_draw: usize,
    /// Candidate cladribine start days of the start-date table (days from the start of the history).
    pub start_days: Vec<f64>,
    /// Follow-up after each candidate start (days).
    pub follow_up_days: f64,
    /// Start days drawn as bands (besides no cladribine); at most 3.
    pub band_starts: Vec<f64>,
    /// Step of the bands' day grid (days).
    pub band_step_days: f64,
    /// Nelder–Mead iterations of the MAP at most.
    pub map_iterations: u64,
    /// Seed: the posterior's proposals use stream 0 of it, the prior's draws stream 1.
    pub seed: u64,
}

impl Default for ForecastOptions {
    fn default() -> Self {
        ForecastOptions {
            draws: 100,
            proposals_per_draw: 4,
            start_days: Vec::new(),
            follow_up_days: 730.0,
            band_starts: Vec::new(),
            band_step_days: 7.0,
            map_iterations: 4000,
            seed: 20261202,
        }
    }
}

/// One patient's forecast.
#[derive(Debug, Clone)]
pub struct Forecast {
    /// The MAP estimate (the typical patient of the covariates when there are no labs).
    pub map: MapEstimate,
    /// Posterior draws with their diagnostics; `None` with no labs, when the posterior is the prior.
    pub posterior: Option<PosteriorDraws>,
    /// Draws from the prior (the population's answer for these covariates).
    pub prior: Vec<Vec<f64>>,
    /// Risks by candidate start day.
    pub table: Vec<StartDateRow>,
    /// Posterior predictive bands under no cladribine and under each band start.
    pub bands: Vec<BandRow>,
    /// The MAP patient's counts on the bands' grid under the history's regimen (the fit).
    pub fit: Vec<BandRow>,
}

impl Forecast {
    /// The draws the forecast stands on: the posterior's, or the prior's when there are no labs.
    pub fn draws(&self) -> &[Vec<f64>] {
        self.posterior.as_ref().map_or(&self.prior, |p| &p.z)
    }
}

/// The whole forecast for one patient: MAP, posterior draws (importance sampling, see
/// [`posterior_draws`]), prior draws, the start-date table and the predictive bands.
pub fn forecast(data: &PatientData, opts: &ForecastOptions) -> crate::Result<Forecast> {
    if !(10..=5000).contains(&opts.draws) {
        return Err(crate::Error::invalid(
            "draws",
            opts.draws,
            "must be between 10 and 5000",
        ));
    }
    if !(1..=50).contains(&opts.proposals_per_draw) {
        return Err(crate::Error::invalid(
            "proposals_per_draw",
            opts.proposals_per_draw,
            "must be between 1 and 50",
        ));
    }
    if let Some(d) = opts
        .band_starts
        .iter()
        .find(|d| !(d.is_finite() && (0.0..=MAX_DAY).contains(*d)))
    {
        return Err(crate::Error::invalid(
            "band_starts",
            d,
            "must be days between 0 and 36525",
        ));
    }
    if opts.band_starts.len() > 3 {
        return Err(crate::Error::invalid(
            "band_starts",
            opts.band_starts.len(),
            "at most 3 start days are drawn as bands",
        ));
    }
    if !(opts.band_step_days.is_finite() && (1.0..=365.0).contains(&opts.band_step_days)) {
        return Err(crate::Error::invalid(
            "band_step_days",
            opts.band_step_days,
            "must be between 1 and 365 days",
        ));
    }
    let map = map_estimate(data, opts.map_iterations)?;
    let posterior = if data.labs.is_empty() {
        None
    } else {
        Some(posterior_draws(
            data,
            &map,
            opts.proposals_per_draw * opts.draws,
            opts.draws,
            &mut patient_rng(opts.seed, 0),
        )?)
    };
    let prior = prior_draws(opts.draws, &mut patient_rng(opts.seed, 1));
    let draws = posterior.as_ref().map_or(&prior, |p| &p.z);
    let table = start_date_table(data, draws, &prior, &opts.start_days, opts.follow_up_days)?;
    let last = opts
        .start_days
        .iter()
        .chain(&opts.band_starts)
        .copied()
        .fold(data.labs.last().map_or(0.0, |o| o.day), f64::max);
    let horizon = (last + opts.follow_up_days).min(MAX_DAY);
    let grid: Vec<f64> = (0..)
        .map(|k| k as f64 * opts.band_step_days)
        .take_while(|d| *d <= horizon)
        .collect();
    let mut bands = predictive_bands(data, draws, Plan::NoCladribine, &grid)?;
    for &d in &opts.band_starts {
        bands.extend(predictive_bands(data, draws, Plan::CladribineAt(d), &grid)?);
    }
    let fit = predictive_bands(data, std::slice::from_ref(&map.z), Plan::NoCladribine, &grid)?;
    Ok(Forecast {
        map,
        posterior,
        prior,
        table,
        bands,
        fit,
    })
}
