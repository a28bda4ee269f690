//! Scenario files: a cohort study as TOML, translated into a [`crate::cohort::study::Study`] (a cohort
//! specification with its sweep, bound and reference arm).
//!
//! `raw` mirrors the file; `validate` (here) checks every value against its documented range and fills defaults
//! from the domain types. The schema is documented in `docs/scenario.md`; the embedded presets
//! (`lymphosim preset NAME`) are complete examples. Every table rejects unknown fields; every error names the field
//! path and the value (`arms[1].interval_months: must be a number of months in [0, 1200], got -3`).

use crate::cohort::study::{Bound, Endpoint, Sweep, SweepParameter};
use crate::cohort::{Arm, ArmRegimen, CohortSpec};
use crate::model::GradeScale;
use crate::outcome::{OutcomeConfig, Recovery, Reference, Threshold};
use crate::population::paramset::ParamSet;
use crate::population::{Covariates, PopulationModel, Variability};
use crate::regimen::{
    presets, Count, Course, Dose, Drug, Gate, LabelRules, OnFail, Regimen, Route, Rules, Start, TrialProtocol,
};
use crate::simulate::{PkForm, SimOptions};
use crate::solver::{Method, SolverOptions};
use crate::units::{hours, months, years, DAYS_PER_MONTH};

pub mod ensemble;
mod raw;

use raw::{RawCourse, RawScenario};

/// The embedded scenario presets: (name, description, TOML text).
pub const PRESETS: [(&str, &str, &str); 3] = [
    (
        "switch-interval",
        "alemtuzumab, then cladribine after 6-36 months, label rules (the default)",
        include_str!("../../scenarios/switch-interval.toml"),
    ),
    (
        "clarity",
        "the CLARITY 3.5 mg/kg arm (targets C18-C20)",
        include_str!("../../scenarios/clarity.toml"),
    ),
    (
        "alemtuzumab",
        "alemtuzumab on its label (targets A15-A16)",
        include_str!("../../scenarios/alemtuzumab.toml"),
    ),
];

/// Most scheduled lab visits a scenario may list (`outcomes.visit_days`).
pub const MAX_VISITS: usize = 10_000;

/// A scenario that cannot be used, naming the field path and the value.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ScenarioError {
    /// Field path, e.g. `arms[0].interval_months` (`<file>` for syntax errors).
    pub path: String,
    /// What is wrong, with the value.
    pub message: String,
}

impl From<crate::population::paramset::ParamSetError> for ScenarioError {
    fn from(e: crate::population::paramset::ParamSetError) -> Self {
        ScenarioError {
            path: e.path,
            message: e.message,
        }
    }
}

fn err(path: impl Into<String>, message: impl Into<String>) -> ScenarioError {
    ScenarioError {
        path: path.into(),
        message: message.into(),
    }
}

/// A validated scenario is a cohort study with its report settings ([`crate::cohort::study::Study`]).
pub use crate::cohort::study::Study as Scenario;

/// Longest wait, delay, interval or visit spacing in months a scenario accepts: 100 years.
const MAX_MONTHS: f64 = 1200.0;
/// Shortest visit spacing in months: one day.
const MIN_VISIT_MONTHS: f64 = crate::regimen::MIN_RECHECK_DAYS / crate::units::DAYS_PER_MONTH;
/// Most daily doses in one course of a scenario file: a year.
const MAX_COURSE_DAYS: usize = 366;

fn finite(path: &str, v: f64, ok: bool, req: &str) -> Result<f64, ScenarioError> {
    if v.is_finite() && ok {
        Ok(v)
    } else {
        Err(err(path, format!("must be {req}, got {v}")))
    }
}

/// Parses and validates a scenario from TOML text, with the shipped calibrated parameter set as the population's
/// starting point (see [`parse_with`]).
pub fn parse(text: &str) -> Result<Scenario, ScenarioError> {
    parse_with(text, &ParamSet::shipped())
}

/// Parses and validates a scenario from TOML text. The population is built once, here: the typical values and
/// variability of `set`, then the file's `[population]` overrides on top, so a swept parameter value means what
/// it says.
pub fn parse_with(text: &str, set: &ParamSet) -> Result<Scenario, ScenarioError> {
    let de = toml::Deserializer::parse(text).map_err(|e| err("<file>", e.to_string().trim().to_string()))?;
    let raw: RawScenario = serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        let msg = inner
            .lines()
            .rfind(|l| !l.trim().is_empty())
            .unwrap_or("invalid")
            .trim()
            .to_string();
        err(if path == "." { "<file>".into() } else { path }, msg)
    })?;
    validate(raw, set)
}

/// The embedded preset called `name`.
pub fn preset(name: &str) -> Result<Scenario, ScenarioError> {
    let (_, _, text) = PRESETS.iter().find(|(n, _, _)| *n == name).ok_or_else(|| {
        err(
            "preset",
            format!(
                "unknown scenario preset {name:?}; known: {}",
                PRESETS.map(|p| p.0).join(", ")
            ),
        )
    })?;
    parse(text)
}

fn parse_recovery(path: &str, s: &str) -> Result<Recovery, ScenarioError> {
    let bad = || {
        err(
            path,
            format!("must look like \"ALC >= LLN\", \"CD4 >= 200\" or \"CD19 >= 50% baseline\", got {s:?}"),
        )
    };
    let (lhs, rhs) = s.split_once(">=").ok_or_else(bad)?;
    let observable = Count::parse(lhs.trim()).ok_or_else(bad)?;
    let rhs = rhs.trim();
    let threshold = if rhs.eq_ignore_ascii_case("LLN") {
        Threshold::Lln
    } else if let Some(p) = rhs
        .strip_suffix("baseline")
        .map(str::trim)
        .and_then(|p| p.strip_suffix('%'))
    {
        let f: f64 = p.trim().parse().map_err(|_| bad())?;
        Threshold::FractionOfBaseline(finite(path, f / 100.0, f > 0.0, "a percentage > 0")?)
    } else {
        let c: f64 = rhs.parse().map_err(|_| bad())?;
        Threshold::Cells(finite(path, c, c >= 0.0, "a count >= 0")?)
    };
    Ok(Recovery { observable, threshold })
}

fn course(path: &str, c: &RawCourse) -> Result<(Start, Course, Option<Gate>), ScenarioError> {
    let drug = c.drug;
    let starts = [
        c.at_day.map(|v| ("at_day", Start::AtDay(v), v)),
        c.after_previous_start_days
            .map(|v| ("after_previous_start_days", Start::AfterPreviousStart(v), v)),
        c.after_previous_end_days
            .map(|v| ("after_previous_end_days", Start::AfterPreviousEnd(v), v)),
        c.after_previous_end_months
            .map(|v| ("after_previous_end_months", Start::AfterPreviousEnd(months(v)), v)),
    ];
    let given: Vec<_> = starts.into_iter().flatten().collect();
    let start = match given.as_slice() {
        [] => Start::AfterPreviousEnd(0.0),
        [(field, s, v)] => {
            finite(
                &format!("{path}.{field}"),
                *v,
                (0.0..=crate::simulate::MAX_HORIZON_DAYS).contains(v),
                "a number >= 0, at most 100 years",
            )?;
            *s
        }
        _ => return Err(err(
            path,
            "give at most one of at_day, after_previous_start_days, after_previous_end_days, after_previous_end_months",
        )),
    };
    let name = c.name.clone().unwrap_or_else(|| path.to_string());
    let doses = match (drug, &c.doses_mg, c.daily_mg, c.days) {
        (Drug::Cladribine, Some(mg), None, None) => {
            if mg.is_empty() || mg.len() > MAX_COURSE_DAYS {
                return Err(err(
                    format!("{path}.doses_mg"),
                    format!("must list 1 to {MAX_COURSE_DAYS} daily doses, got {}", mg.len()),
                ));
            }
            for (i, &m) in mg.iter().enumerate() {
                finite(&format!("{path}.doses_mg[{i}]"), m, m > 0.0, "a dose > 0 mg")?;
            }
            Course::oral_daily(name, drug, mg).doses
        }
        (Drug::Alemtuzumab, None, Some(mg), Some(days)) => {
            finite(&format!("{path}.daily_mg"), mg, mg > 0.0, "a dose > 0 mg")?;
            if days == 0 || days as usize > MAX_COURSE_DAYS {
                return Err(err(
                    format!("{path}.days"),
                    format!("must be 1 to {MAX_COURSE_DAYS} days, got {days}"),
                ));
            }
            let h = c.infusion_hours.unwrap_or(presets::ALEMTUZUMAB_INFUSION_HOURS);
            finite(
                &format!("{path}.infusion_hours"),
                h,
                h > 0.0,
                "an infusion duration > 0 hours",
            )?;
            (0..days)
                .map(|d| Dose {
                    offset_days: d as f64,
                    amount_mg: mg,
                    route: Route::Infusion {
                        duration_days: hours(h),
                    },
                })
                .collect()
        }
        (Drug::Cladribine, ..) => {
            return Err(err(
                path,
                "a cladribine course needs doses_mg = [daily oral doses] and nothing else",
            ))
        }
        (Drug::Alemtuzumab, ..) => {
            return Err(err(
                path,
                "an alemtuzumab course needs daily_mg and days (and optionally infusion_hours)",
            ))
        }
    };
    let gate = match &c.gate {
        None => None,
        Some(g) => {
            let gp = format!("{path}.gate");
            let observable = Count::parse(&g.observable).ok_or_else(|| {
                err(
                    format!("{gp}.observable"),
                    format!("must be ALC, CD4, CD8, CD19 or NK, got {:?}", g.observable),
                )
            })?;
            let on_fail = g.on_fail.unwrap_or(OnFail::Stop);
            let recheck = g
                .recheck_months
                .unwrap_or(LabelRules::default().recheck_every_days / DAYS_PER_MONTH);
            finite(
                &format!("{gp}.recheck_months"),
                recheck,
                (MIN_VISIT_MONTHS..=MAX_MONTHS).contains(&recheck),
                "a number of months from one day (0.033) to 1200 (visits at most daily)",
            )?;
            finite(
                &format!("{gp}.max_delay_months"),
                g.max_delay_months,
                (0.0..=MAX_MONTHS).contains(&g.max_delay_months),
                "a number of months in [0, 1200]",
            )?;
            finite(
                &format!("{gp}.min"),
                g.min,
                (0.0..=crate::model::MAX_CELLS_PER_UL).contains(&g.min),
                "a count in cells/uL, 0 to 20000 (cells/L are 10^6 times larger)",
            )?;
            if let Some(r) = g.resume {
                finite(
                    &format!("{gp}.resume"),
                    r,
                    (g.min..=crate::model::MAX_CELLS_PER_UL).contains(&r),
                    "a count in cells/uL from the gate's min to 20000 (a held course resumes at a count at least as high)",
                )?;
            }
            Some(Gate {
                observable,
                min_cells_per_ul: g.min,
                resume_cells_per_ul: g.resume,
                recheck_every_days: months(recheck),
                max_delay_days: months(g.max_delay_months),
                on_fail,
            })
        }
    };
    Ok((
        start,
        Course {
            name: c.name.clone().unwrap_or_else(|| path.to_string()),
            drug,
            doses,
        },
        gate,
    ))
}

fn validate(raw: RawScenario, set: &ParamSet) -> Result<Scenario, ScenarioError> {
    if raw.name.trim().is_empty() {
        return Err(err("name", "must not be empty"));
    }
    let patients = raw.patients.unwrap_or(crate::cohort::DEFAULT_PATIENTS);
    if !(1..=crate::cohort::MAX_PATIENTS).contains(&patients) {
        return Err(err(
            "patients",
            format!("must be between 1 and {}, got {patients}", crate::cohort::MAX_PATIENTS),
        ));
    }
    let horizon_days = match (raw.horizon_years, raw.horizon_days) {
        (Some(_), Some(_)) => return Err(err("horizon_days", "give horizon_years or horizon_days, not both")),
        (Some(y), None) => years(finite(
            "horizon_years",
            y,
            y > 0.0 && y <= 100.0,
            "a number of years in (0, 100]",
        )?),
        (None, Some(d)) => finite(
            "horizon_days",
            d,
            (1.0..=36525.0).contains(&d),
            "a number of days in [1, 36525]",
        )?,
        (None, None) => years(crate::cohort::DEFAULT_HORIZON_YEARS),
    }
    .floor();
    let band_step_days = raw.band_step_days.unwrap_or(crate::cohort::DEFAULT_BAND_STEP_DAYS);
    finite(
        "band_step_days",
        band_step_days,
        band_step_days >= 1.0 && band_step_days.fract() == 0.0,
        "a whole number of days >= 1",
    )?;

    let method: Method = raw
        .method
        .name
        .as_deref()
        .unwrap_or("dopri5")
        .parse()
        .map_err(|e: crate::solver::SolverError| err("method.name", e.to_string()))?;
    let pk: PkForm = raw.method.pk.as_deref().unwrap_or("exact").parse().map_err(|_| {
        err(
            "method.pk",
            format!(
                "must be \"exact\" or \"ode\", got {:?}",
                raw.method.pk.unwrap_or_default()
            ),
        )
    })?;
    let defaults = SolverOptions::default();
    let solver = SolverOptions {
        rtol: raw.method.rtol.unwrap_or(defaults.rtol),
        atol: raw.method.atol.unwrap_or(defaults.atol),
        ..defaults
    };
    solver.validate().map_err(|e| err("method", e.to_string()))?;

    let lln = raw.outcomes.lln.unwrap_or(crate::model::DEFAULT_LLN);
    let scale = GradeScale::with_lln(lln).map_err(|_| {
        err(
            "outcomes.lln",
            format!("must be an ALC in cells/uL, > 800 and <= 4000 (cells/L are 10^6 times larger), got {lln}"),
        )
    })?;
    let reference = match &raw.outcomes.reference {
        None => Reference::Switch,
        Some(toml::Value::String(s)) if s == "switch" => Reference::Switch,
        Some(toml::Value::String(s)) if s == "start" => Reference::Start,
        Some(toml::Value::Integer(d)) if *d >= 0 => Reference::Day(*d as f64),
        Some(toml::Value::Float(d)) if d.is_finite() && *d >= 0.0 => Reference::Day(*d),
        Some(v) => {
            return Err(err(
                "outcomes.reference",
                format!("must be \"start\", \"switch\" or a day >= 0, got {v}"),
            ))
        }
    };
    let recoveries = match &raw.outcomes.recoveries {
        None => OutcomeConfig::default().recoveries,
        Some(list) => list
            .iter()
            .enumerate()
            .map(|(i, s)| parse_recovery(&format!("outcomes.recoveries[{i}]"), s))
            .collect::<Result<_, _>>()?,
    };
    let visit_days = raw.outcomes.visit_days.clone().unwrap_or_default();
    if visit_days.len() > MAX_VISITS {
        return Err(err(
            "outcomes.visit_days",
            format!("at most {MAX_VISITS} visits, got {}", visit_days.len()),
        ));
    }
    for (i, &d) in visit_days.iter().enumerate() {
        let path = format!("outcomes.visit_days[{i}]");
        if !(d.is_finite() && d >= 0.0 && d.fract() == 0.0 && d <= horizon_days) {
            return Err(err(
                path,
                format!("must be a whole day in [0, {horizon_days}], got {d}"),
            ));
        }
        if i > 0 && d <= visit_days[i - 1] {
            return Err(err(
                path,
                format!("must be after the previous visit (day {}), got {d}", visit_days[i - 1]),
            ));
        }
    }

    let r = &raw.rules;
    // Defaults come from the domain type (the label's numbers), converted to the file's months once.
    let label = LabelRules::default();
    let in_months = |days: f64| days / DAYS_PER_MONTH;
    let months_in = |field: &str, v: Option<f64>, default_days: f64, lo: f64, req: &str| {
        let m = v.unwrap_or(in_months(default_days));
        finite(field, m, (lo..=MAX_MONTHS).contains(&m), req).map(months)
    };
    let year2_min_alc = r.year2_min_alc.unwrap_or(label.year2_min_alc);
    let rules = LabelRules {
        lln,
        year1_max_wait_days: months_in(
            "rules.year1_max_wait_months",
            r.year1_max_wait_months,
            label.year1_max_wait_days,
            0.0,
            "a number of months in [0, 1200]",
        )?,
        year2_min_alc: finite(
            "rules.year2_min_alc",
            year2_min_alc,
            (0.0..=crate::model::MAX_CELLS_PER_UL).contains(&year2_min_alc),
            "a count in cells/uL, 0 to 20000 (cells/L are 10^6 times larger)",
        )?,
        year2_max_delay_days: months_in(
            "rules.year2_max_delay_months",
            r.year2_max_delay_months,
            label.year2_max_delay_days,
            0.0,
            "a number of months in [0, 1200]",
        )?,
        recheck_every_days: months_in(
            "rules.visit_every_months",
            r.visit_every_months,
            label.recheck_every_days,
            MIN_VISIT_MONTHS,
            "a number of months from one day (0.033) to 1200 (visits at most daily)",
        )?,
    };
    let noise_cv = finite(
        "rules.noise_cv",
        r.noise_cv.unwrap_or(0.0),
        (0.0..=crate::simulate::MAX_LAB_NOISE_CV).contains(&r.noise_cv.unwrap_or(0.0)),
        "a coefficient of variation in [0, 1]",
    )?;
    let rules = match r.protocol.as_deref() {
        None | Some("label") => Rules::Label(rules),
        Some("clarity") => {
            for (field, given) in [
                ("rules.year1_max_wait_months", r.year1_max_wait_months.is_some()),
                ("rules.year2_min_alc", r.year2_min_alc.is_some()),
                ("rules.year2_max_delay_months", r.year2_max_delay_months.is_some()),
                ("rules.visit_every_months", r.visit_every_months.is_some()),
            ] {
                if given {
                    return Err(err(
                        field,
                        "is a number of the label's rules; protocol = \"clarity\" has its own (docs/cohort.md)",
                    ));
                }
            }
            Rules::Trial(TrialProtocol::clarity())
        }
        Some(other) => {
            return Err(err(
                "rules.protocol",
                format!("must be \"label\" or \"clarity\", got {other:?}"),
            ))
        }
    };
    let label_default = r.label.unwrap_or(true);

    // Population: the parameter set, with the file's overrides.
    let mut typical = set.typical.clone();
    for (k, v) in &raw.population.parameters {
        typical.set(k, *v).map_err(|_| {
            err(
                format!("population.parameters.{k}"),
                "unknown model parameter (see `lymphosim params`)",
            )
        })?;
    }
    typical
        .validate()
        .map_err(|e| err("population.parameters", e.to_string()))?;
    let mut cov = Covariates::default();
    for (k, v) in &raw.population.covariates {
        let slot = match k.as_str() {
            "age_mean" => &mut cov.age_mean,
            "age_sd" => &mut cov.age_sd,
            "weight_median_kg" => &mut cov.weight_median_kg,
            "weight_cv" => &mut cov.weight_cv,
            "crcl_mean" => &mut cov.crcl_mean,
            "crcl_sd" => &mut cov.crcl_sd,
            "nab_probability" => &mut cov.nab_probability,
            _ => return Err(err(format!("population.covariates.{k}"), "unknown covariate setting (age_mean, age_sd, weight_median_kg, weight_cv, crcl_mean, crcl_sd, nab_probability)")),
        };
        *slot = *v;
    }
    let mut var = set.variability.clone();
    for (k, v) in &raw.population.variability {
        if !var.set(k, *v) {
            return Err(err(
                format!("population.variability.{k}"),
                format!("unknown variability setting; known: {}", Variability::NAMES.join(", ")),
            ));
        }
    }
    let population = PopulationModel::new(typical, cov, var).map_err(|e| err("population", e.to_string()))?;

    // Arms.
    if raw.arms.is_empty() {
        return Err(err("arms", "at least one [[arms]] entry is needed"));
    }
    let mut arms = Vec::new();
    for (i, a) in raw.arms.iter().enumerate() {
        let p = format!("arms[{i}]");
        if a.name.trim().is_empty() {
            return Err(err(format!("{p}.name"), "must not be empty"));
        }
        let interval = a
            .interval_months
            .unwrap_or(presets::PresetOptions::default().interval_months);
        finite(
            &format!("{p}.interval_months"),
            interval,
            (0.0..=MAX_MONTHS).contains(&interval),
            "a number of months in [0, 1200]",
        )?;
        let regimen = match (&a.preset, &a.courses) {
            (Some(name), None) => {
                presets::build(
                    name,
                    &presets::PresetOptions {
                        interval_months: interval,
                        ..presets::PresetOptions::default()
                    },
                )
                .map_err(|e| err(format!("{p}.preset"), e.to_string()))?;
                ArmRegimen::Preset {
                    name: name.clone(),
                    interval_months: interval,
                }
            }
            (None, Some(courses)) => {
                if courses.is_empty() {
                    return Err(err(format!("{p}.courses"), "must list at least one course"));
                }
                let mut r = Regimen {
                    name: a.name.clone(),
                    courses: Vec::new(),
                };
                for (j, c) in courses.iter().enumerate() {
                    let (start, course, gate) = course(&format!("{p}.courses[{j}]"), c)?;
                    r.push(start, course);
                    r.courses.last_mut().expect("just pushed").gate = gate;
                }
                r.administrations()
                    .map_err(|e| err(format!("{p}.courses"), e.to_string()))?;
                ArmRegimen::Fixed(r)
            }
            _ => {
                return Err(err(
                    &p,
                    "give either preset = \"NAME\" or a list of [[arms.courses]], not both or neither",
                ))
            }
        };
        if raw.arms[..i].iter().any(|b| b.name == a.name) {
            return Err(err(
                format!("{p}.name"),
                format!("{:?} is used by an earlier arm; arm names must be unique", a.name),
            ));
        }
        let label = a.rules.unwrap_or(label_default);
        arms.push(Arm {
            name: a.name.clone(),
            regimen,
            rules: label.then_some(rules),
            param_factors: Vec::new(),
            sweep: None,
        });
    }

    // Sweep.
    let base_names: Vec<String> = arms.iter().map(|a| a.name.clone()).collect();
    let mut reference_arm = None;
    let sweep = match raw.sweep {
        None => None,
        Some(s) => {
            let parameter = match s.parameter.as_str() {
                "interval_months" => SweepParameter::IntervalMonths,
                name => SweepParameter::Model(crate::model::ModelParams::id(name).map_err(|_| {
                    err(
                        "sweep.parameter",
                        format!(
                            "must be \"interval_months\" or a model parameter name (see `lymphosim params`), got {name:?}"
                        ),
                    )
                })?),
            };
            let sweep = Sweep {
                parameter,
                values: s.values,
            };
            arms = sweep.expand(&arms, &population).map_err(|e| match e {
                crate::Error::InvalidInput { field, value, reason } => err(field, format!("{reason}, got {value}")),
                e => err("sweep", e.to_string()),
            })?;
            let reference = match (&s.reference, &sweep.parameter) {
                (Some(r), _) if r == "none" => None,
                (Some(r), _) => Some(r.clone()),
                (None, SweepParameter::IntervalMonths) => Some("cladribine-label".to_string()),
                (None, SweepParameter::Model(_)) => None,
            };
            if let Some(preset) = reference {
                presets::build(&preset, &presets::PresetOptions::default())
                    .map_err(|e| err("sweep.reference", e.to_string()))?;
                let label = raw.arms.first().and_then(|a| a.rules).unwrap_or(label_default);
                reference_arm = Some(arms.len());
                arms.push(Arm {
                    name: format!("reference: {preset}"),
                    regimen: ArmRegimen::Preset {
                        name: preset,
                        interval_months: 0.0,
                    },
                    rules: label.then_some(rules),
                    param_factors: Vec::new(),
                    sweep: None,
                });
            }
            Some(sweep)
        }
    };
    let bound = match raw.bound {
        None => None,
        Some(b) => {
            let endpoint: Endpoint = b
                .endpoint
                .parse()
                .map_err(|e: crate::Error| err("bound.endpoint", e.to_string()))?;
            for (field, v) in [
                ("bound.max", b.max),
                ("bound.max_above_reference", b.max_above_reference),
            ] {
                if let Some(v) = v {
                    finite(field, v, (0.0..=1.0).contains(&v), "a proportion in [0, 1]")?;
                }
            }
            if b.max.is_none() && b.max_above_reference.is_none() {
                return Err(err("bound", "give max, max_above_reference, or both"));
            }
            if sweep.is_none() {
                return Err(err(
                    "bound",
                    "a bound picks the shortest value of a [sweep]; this scenario has no [sweep]",
                ));
            }
            if b.max_above_reference.is_some() && reference_arm.is_none() {
                return Err(err(
                    "bound.max_above_reference",
                    "needs a reference arm ([sweep] reference = \"PRESET\")",
                ));
            }
            Some(Bound {
                endpoint,
                max: b.max,
                max_above_reference: b.max_above_reference,
            })
        }
    };

    let spec = CohortSpec {
        arms,
        population,
        patients,
        seed: raw.seed.unwrap_or(crate::cohort::DEFAULT_SEED),
        horizon_days,
        band_step_days,
        outcomes: OutcomeConfig {
            scale,
            reference,
            recoveries,
            visit_days,
        },
        sim: SimOptions { method, solver, pk },
        noise_cv,
    };
    Ok(Scenario {
        name: raw.name,
        spec,
        sweep,
        bound,
        base_names,
        reference_arm,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_parse() {
        for (name, _, _) in PRESETS {
            let s = preset(name).unwrap();
            assert!(!s.spec.arms.is_empty());
        }
        let s = preset("switch-interval").unwrap();
        assert_eq!(s.spec.arms.len(), 7); // six intervals and the reference arm
        assert_eq!(s.bound.unwrap().max_above_reference, Some(0.02));
    }
}
