//! Lab gates: a course starts only if a blood count passes at the visit.
//!
//! A [`Gate`] is checked at the course's planned start. If the count fails, the visit is repeated every
//! `recheck_every_days` until `max_delay_days` have passed; if it still fails, the course — and every later
//! course of the same drug — is stopped ([`OnFail::Stop`]), or given anyway ([`OnFail::Proceed`]). Courses
//! placed relative to a delayed course move with it.
//!
//! [`LabelRules`] puts the MAVENCLAD label's rules on a regimen's cladribine courses: year 1 only with a normal
//! ALC (≥ LLN), re-checked monthly up to a configurable wait; year 2 only with ALC ≥ 800 cells/µL, delayed up
//! to 6 months, else stopped.

use super::{Drug, Regimen, RegimenError};
use crate::model::Count;
use crate::units::months;

/// What happens when a gate still fails at the end of the allowed delay (`stop` or `proceed` in files).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnFail {
    /// Cancel this course and every later course of the same drug.
    Stop,
    /// Give the course anyway at the end of the delay.
    Proceed,
}

/// Shortest interval between gate visits (days): blood counts are not repeated more than daily. The bound also
/// makes every wait loop advance.
pub const MIN_RECHECK_DAYS: f64 = 1.0;
/// Longest recheck interval or delay a gate accepts (days): 100 years.
pub const MAX_GATE_DAYS: f64 = 36525.0;

/// A lab rule checked before a course starts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gate {
    /// The count checked.
    pub observable: Count,
    /// The course may start if the (measured) count is at least this (cells/µL).
    pub min_cells_per_ul: f64,
    /// Days between re-checks while the count fails (from [`MIN_RECHECK_DAYS`] to [`MAX_GATE_DAYS`]).
    pub recheck_every_days: f64,
    /// Longest delay allowed (days, 0 to [`MAX_GATE_DAYS`]).
    pub max_delay_days: f64,
    /// What to do when the delay runs out.
    pub on_fail: OnFail,
}

impl Gate {
    /// Checks the gate's numbers; `path` prefixes error messages.
    pub fn validate(&self, path: &str) -> Result<(), RegimenError> {
        let bad = |field: &str, value: f64, requirement| RegimenError::InvalidValue {
            path: format!("{path}.{field}"),
            value,
            requirement,
        };
        if !(self.min_cells_per_ul.is_finite() && self.min_cells_per_ul >= 0.0) {
            return Err(bad(
                "min_cells_per_ul",
                self.min_cells_per_ul,
                "a finite count >= 0 cells/uL",
            ));
        }
        if !(self.recheck_every_days.is_finite()
            && (MIN_RECHECK_DAYS..=MAX_GATE_DAYS).contains(&self.recheck_every_days))
        {
            return Err(bad(
                "recheck_every_days",
                self.recheck_every_days,
                "an interval between 1 and 36525 days (visits at most daily)",
            ));
        }
        if !(self.max_delay_days.is_finite() && (0.0..=MAX_GATE_DAYS).contains(&self.max_delay_days)) {
            return Err(bad(
                "max_delay_days",
                self.max_delay_days,
                "a delay between 0 and 36525 days",
            ));
        }
        Ok(())
    }
}

/// The cladribine label's lymphocyte rules, with their adjustable numbers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LabelRules {
    /// Lower limit of normal for ALC (cells/µL): year 1 needs ALC ≥ LLN.
    pub lln: f64,
    /// Longest wait for a normal ALC before year 1 (days); after it, cladribine is not started.
    pub year1_max_wait_days: f64,
    /// Year 2 needs ALC ≥ this (cells/µL).
    pub year2_min_alc: f64,
    /// Longest delay of year 2 (days); after it, cladribine is stopped.
    pub year2_max_delay_days: f64,
    /// Interval between visits while waiting (days).
    pub recheck_every_days: f64,
}

impl Default for LabelRules {
    fn default() -> Self {
        LabelRules {
            lln: crate::model::DEFAULT_LLN,
            year1_max_wait_days: months(12.0),
            year2_min_alc: 800.0,
            year2_max_delay_days: months(6.0),
            recheck_every_days: months(1.0),
        }
    }
}

impl LabelRules {
    /// Puts gates on `regimen`'s cladribine courses: the first one (year 1) and the first one planned at least
    /// 300 days after it (year 2). Other courses are left as they are.
    pub fn apply(&self, mut regimen: Regimen) -> Result<Regimen, RegimenError> {
        let admins = regimen.administrations()?;
        let starts: Vec<(usize, f64)> = {
            let mut v: Vec<(usize, f64)> = Vec::new();
            for a in admins.iter().filter(|a| a.drug == Drug::Cladribine) {
                if v.last().is_none_or(|(c, _)| *c != a.course) {
                    v.push((a.course, a.day));
                }
            }
            v
        };
        let Some(&(y1, y1_day)) = starts.first() else {
            return Ok(regimen);
        };
        regimen.courses[y1].gate = Some(Gate {
            observable: Count::Alc,
            min_cells_per_ul: self.lln,
            recheck_every_days: self.recheck_every_days,
            max_delay_days: self.year1_max_wait_days,
            on_fail: OnFail::Stop,
        });
        if let Some(&(y2, _)) = starts.iter().find(|(_, d)| *d >= y1_day + 300.0) {
            regimen.courses[y2].gate = Some(Gate {
                observable: Count::Alc,
                min_cells_per_ul: self.year2_min_alc,
                recheck_every_days: self.recheck_every_days,
                max_delay_days: self.year2_max_delay_days,
                on_fail: OnFail::Stop,
            });
        }
        regimen.validate_gates()?;
        Ok(regimen)
    }
}

impl Regimen {
    fn validate_gates(&self) -> Result<(), RegimenError> {
        for (ci, c) in self.courses.iter().enumerate() {
            if let Some(g) = &c.gate {
                g.validate(&format!("courses[{ci}] {:?}.gate", c.course.name))?;
            }
        }
        Ok(())
    }
}
