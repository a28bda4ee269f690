//! Sweeps, bounds and the reference arm: the switch question as a study.
//!
//! A [`Sweep`] runs every base arm at every value of one setting (the switch interval, or a model parameter);
//! each expanded arm knows its base arm and value ([`SweepPoint`]). A [`Bound`] asks for the shortest value from
//! which the risk stays under a limit — an absolute one, and/or one relative to the model's own reference arm
//! (cladribine alone in the same population, computed by the same model), so that like is compared with like.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use super::summary::{ArmSummary, Proportion};
use super::{Arm, ArmRegimen};
use crate::error::{Error, Result};
use crate::model::ParamId;
use crate::population::PopulationModel;
use crate::regimen::Count;

/// A risk a bound can limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Endpoint {
    /// P(worst grade ≥ 3) from the reference day.
    PGradeGe3,
    /// P(grade 4).
    PGrade4,
    /// P(CD4 < 200 cells/µL at any time).
    PCd4Below200,
}

impl Endpoint {
    /// All endpoints.
    pub const ALL: [Endpoint; 3] = [Endpoint::PGradeGe3, Endpoint::PGrade4, Endpoint::PCd4Below200];

    /// Stable name: `p_grade_ge3`, `p_grade4`, `p_cd4_below_200`.
    pub fn name(self) -> &'static str {
        match self {
            Endpoint::PGradeGe3 => "p_grade_ge3",
            Endpoint::PGrade4 => "p_grade4",
            Endpoint::PCd4Below200 => "p_cd4_below_200",
        }
    }

    /// The endpoint's proportion in an arm summary.
    pub fn of(self, s: &ArmSummary) -> Proportion {
        match self {
            Endpoint::PGradeGe3 => s.p_grade_ge3,
            Endpoint::PGrade4 => s.p_grade4,
            Endpoint::PCd4Below200 => s.p_cd4_below_200,
        }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Endpoint {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Endpoint::ALL.into_iter().find(|e| e.name() == s).ok_or_else(|| {
            Error::invalid(
                "bound.endpoint",
                format!("{s:?}"),
                format!("must be one of {}", Endpoint::ALL.map(Endpoint::name).join(", ")),
            )
        })
    }
}

/// What a sweep varies.
#[derive(Debug, Clone, PartialEq)]
pub enum SweepParameter {
    /// Months from the last alemtuzumab infusion to cladribine (arms given by preset).
    IntervalMonths,
    /// A model parameter's typical value (each patient keeps its own random effect).
    Model(ParamId),
}

impl fmt::Display for SweepParameter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SweepParameter::IntervalMonths => f.write_str("interval_months"),
            SweepParameter::Model(id) => f.write_str(id.name()),
        }
    }
}

/// Most values a sweep accepts.
pub const MAX_SWEEP_VALUES: usize = 100;

/// A grid over which one setting varies: each base arm is run at every value.
#[derive(Debug, Clone, PartialEq)]
pub struct Sweep {
    /// What varies.
    pub parameter: SweepParameter,
    /// The grid, ascending.
    pub values: Vec<f64>,
}

/// Where an expanded arm sits in a sweep.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SweepPoint {
    /// Index of the base arm (in the order the arms were given).
    pub base: usize,
    /// The swept value.
    pub value: f64,
}

/// A risk limit over a sweep.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Bound {
    /// The risk limited.
    pub endpoint: Endpoint,
    /// Largest acceptable proportion, if an absolute limit is set.
    pub max: Option<f64>,
    /// Largest acceptable excess over the reference arm (proportion points), if a relative limit is set.
    pub max_above_reference: Option<f64>,
}

impl Sweep {
    /// Checks the grid against the arms and the population (values finite, ascending, meaningful for every
    /// arm), with errors naming the field.
    pub fn validate(&self, arms: &[Arm], population: &PopulationModel) -> Result<()> {
        if self.values.is_empty() || self.values.len() > MAX_SWEEP_VALUES {
            return Err(Error::invalid(
                "sweep.values",
                self.values.len(),
                format!("must list 1 to {MAX_SWEEP_VALUES} values"),
            ));
        }
        for (i, v) in self.values.iter().enumerate() {
            if !v.is_finite() {
                return Err(Error::invalid(format!("sweep.values[{i}]"), v, "must be finite"));
            }
            if i > 0 && *v <= self.values[i - 1] {
                return Err(Error::invalid(
                    format!("sweep.values[{i}]"),
                    v,
                    "must be ascending, without repeats",
                ));
            }
        }
        match &self.parameter {
            SweepParameter::IntervalMonths => {
                if let Some(v) = self.values.iter().find(|v| !(0.0..=1200.0).contains(*v)) {
                    return Err(Error::invalid("sweep.values", v, "months must be in [0, 1200]"));
                }
                for (i, a) in arms.iter().enumerate() {
                    match &a.regimen {
                        ArmRegimen::Preset { name, .. } if name == "sequence" => {}
                        _ => {
                            return Err(Error::invalid(
                                format!("arms[{i}]"),
                                format!("{:?}", a.name),
                                "an interval_months sweep needs arms given by preset = \"sequence\" (other arms have no interval: every value would give the same arm)",
                            ))
                        }
                    }
                }
            }
            SweepParameter::Model(id) => {
                let typical = population.typical();
                if typical.value(*id) == 0.0 {
                    return Err(Error::invalid(
                        "sweep.parameter",
                        id,
                        "is 0 in the population, so it cannot be scaled",
                    ));
                }
                for (i, &v) in self.values.iter().enumerate() {
                    let mut p = typical.clone();
                    p.set_value(*id, v);
                    p.validate()
                        .map_err(|e| Error::invalid(format!("sweep.values[{i}]"), v, e.to_string()))?;
                }
            }
        }
        Ok(())
    }

    /// The arms run: every base arm at every value, named `"{base} {parameter}={value}"`, base by base.
    pub fn expand(&self, arms: &[Arm], population: &PopulationModel) -> Result<Vec<Arm>> {
        self.validate(arms, population)?;
        let mut out = Vec::with_capacity(arms.len() * self.values.len());
        for (base, arm) in arms.iter().enumerate() {
            for &value in &self.values {
                let mut a = arm.clone();
                a.name = format!("{} {}={}", arm.name, self.parameter, value);
                a.sweep = Some(SweepPoint { base, value });
                match &self.parameter {
                    SweepParameter::IntervalMonths => {
                        if let ArmRegimen::Preset { interval_months, .. } = &mut a.regimen {
                            *interval_months = value;
                        }
                    }
                    SweepParameter::Model(id) => {
                        a.param_factors.push((*id, value / population.typical().value(*id)));
                    }
                }
                out.push(a);
            }
        }
        Ok(out)
    }
}

/// A cohort study with what its report needs: what a scenario file translates into.
#[derive(Debug, Clone)]
pub struct Study {
    /// Name.
    pub name: String,
    /// The cohort run (arms already expanded over the sweep; the reference arm, if any, last).
    pub spec: super::CohortSpec,
    /// The sweep, if any; each expanded arm records its base arm and value.
    pub sweep: Option<Sweep>,
    /// The bound, if any.
    pub bound: Option<Bound>,
    /// Names of the arms as given, before the sweep expanded them.
    pub base_names: Vec<String>,
    /// Index in `spec.arms` of the reference arm (cladribine alone in the same population), if any.
    pub reference_arm: Option<usize>,
}

/// Sweep curves for one base arm.
#[derive(Debug, Clone, Serialize)]
pub struct SweepCurve {
    /// Base arm name.
    pub arm: String,
    /// Grid values.
    pub values: Vec<f64>,
    /// P(worst grade ≥ 3) per value.
    pub p_grade_ge3: Vec<Proportion>,
    /// P(grade 4) per value.
    pub p_grade4: Vec<Proportion>,
    /// P(CD4 < 200) per value.
    pub p_cd4_below_200: Vec<Proportion>,
    /// P(delayed) per value.
    pub p_delayed: Vec<Proportion>,
    /// P(stopped) per value: patients who never got every planned dose.
    pub p_stopped: Vec<Proportion>,
    /// Median CD4 nadir per value (cells/µL).
    pub median_cd4_nadir: Vec<Option<f64>>,
    /// Values whose point estimate meets every limit of the bound.
    pub meeting_bound: Vec<f64>,
    /// Shortest value from which every longer value's point estimate meets the bound (`None`: none).
    pub shortest_meeting_bound: Option<f64>,
    /// Shortest value from which every longer value's upper 95 % limit meets the bound (`None`: none).
    pub shortest_meeting_bound_upper_ci: Option<f64>,
}

/// The sweep curves of `arms` (summaries in the order of `spec_arms`), with the bound evaluated; `reference` is
/// the reference arm's summary, if the study has one.
pub fn curves(
    spec_arms: &[Arm],
    arms: &[ArmSummary],
    base_names: &[String],
    sweep: &Sweep,
    bound: Option<&Bound>,
    reference: Option<&ArmSummary>,
) -> Vec<SweepCurve> {
    let mut out = Vec::new();
    for (base, name) in base_names.iter().enumerate() {
        let block: Vec<&ArmSummary> = spec_arms
            .iter()
            .zip(arms)
            .filter(|(a, _)| a.sweep.is_some_and(|p| p.base == base))
            .map(|(_, s)| s)
            .collect();
        // A value meets the bound when its risk could be computed and is within every limit set.
        let meets = |s: &ArmSummary, upper: bool| -> bool {
            let Some(b) = bound else { return false };
            let p = b.endpoint.of(s);
            let x = if upper { p.ci95[1] } else { p.value };
            let abs_ok = b.max.is_none_or(|m| x <= m);
            let rel_ok = b.max_above_reference.is_none_or(|d| {
                reference.is_some_and(|r| {
                    let rp = b.endpoint.of(r).value;
                    rp.is_finite() && x <= rp + d
                })
            });
            s.analysed > 0 && x.is_finite() && abs_ok && rel_ok
        };
        // The shortest value from which every longer value on the grid meets the bound (a value that meets it
        // while a longer one does not is not "safe from here on").
        let shortest = |upper: bool| {
            bound?;
            let k = block.iter().rposition(|s| !meets(s, upper)).map_or(0, |k| k + 1);
            sweep.values.get(k).copied()
        };
        out.push(SweepCurve {
            arm: name.clone(),
            values: sweep.values.clone(),
            p_grade_ge3: block.iter().map(|s| s.p_grade_ge3).collect(),
            p_grade4: block.iter().map(|s| s.p_grade4).collect(),
            p_cd4_below_200: block.iter().map(|s| s.p_cd4_below_200).collect(),
            p_delayed: block.iter().map(|s| s.p_delayed).collect(),
            p_stopped: block.iter().map(|s| s.p_stopped).collect(),
            median_cd4_nadir: block
                .iter()
                .map(|s| s.nadir_of(Count::Cd4).and_then(|q| q.p50))
                .collect(),
            meeting_bound: sweep
                .values
                .iter()
                .zip(&block)
                .filter(|(_, s)| meets(s, false))
                .map(|(v, _)| *v)
                .collect(),
            shortest_meeting_bound: shortest(false),
            shortest_meeting_bound_upper_ci: shortest(true),
        });
    }
    out
}
