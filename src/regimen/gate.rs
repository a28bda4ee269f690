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
    /// The course may start if the (measured) count is at least this (cells/µL) at its first visit.
    pub min_cells_per_ul: f64,
    /// Once the course has been held, the count it must reach at a later visit (cells/µL; at least
    /// `min_cells_per_ul`). `None`: the same as `min_cells_per_ul`. A trial protocol that holds dosing at grade 3
    /// "until resolution to grade 0 or 1" has `min` 500 and `resume` 800.
    pub resume_cells_per_ul: Option<f64>,
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
        if let Some(r) = self.resume_cells_per_ul {
            if !(r.is_finite() && r >= self.min_cells_per_ul) {
                return Err(bad(
                    "resume_cells_per_ul",
                    r,
                    "a finite count >= min_cells_per_ul (a held course resumes at a count at least as high)",
                ));
            }
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

    /// The count a visit must reach: `min_cells_per_ul` at the first visit, the resume level at later ones.
    pub fn threshold(&self, first_visit: bool) -> f64 {
        if first_visit {
            self.min_cells_per_ul
        } else {
            self.resume_cells_per_ul.unwrap_or(self.min_cells_per_ul)
        }
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
            resume_cells_per_ul: None,
            recheck_every_days: self.recheck_every_days,
            max_delay_days: self.year1_max_wait_days,
            on_fail: OnFail::Stop,
        });
        if let Some(&(y2, _)) = starts.iter().find(|(_, d)| *d >= y1_day + 300.0) {
            regimen.courses[y2].gate = Some(Gate {
                observable: Count::Alc,
                min_cells_per_ul: self.year2_min_alc,
                resume_cells_per_ul: None,
                recheck_every_days: self.recheck_every_days,
                max_delay_days: self.year2_max_delay_days,
                on_fail: OnFail::Stop,
            });
        }
        regimen.validate_gates()?;
        Ok(regimen)
    }
}

/// A trial protocol's lymphocyte rules for cladribine, as distinct from the label's: every cycle is held while
/// the ALC is at grade 3 or worse, and given once it is back at grade 0–1.
///
/// The CLARITY protocol (Giovannoni et al., N Engl J Med 2010;362:416–26, supplementary appendix, "protocol for
/// the management of hematological events"): a grade-3 event attributable to the study drug interrupted
/// treatment until it resolved to grade 0 or 1, and could be repeated. The label's year-2 rule (ALC ≥ 800 before
/// year 2, postponed up to 6 months) came after CLARITY (Terranova et al., Clin Pharmacokinet 2019;58:325–33), so
/// the trial dosed patients at grade 2 whom the label would hold. The appendix excerpt does not give the longest
/// interruption; [`TrialProtocol::clarity`] assumes 6 months, then discontinuation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrialProtocol {
    /// A cycle is held when the ALC at its planned start is below this (cells/µL): 500, the grade-3 limit.
    pub hold_below: f64,
    /// A held cycle is given once the ALC reaches this (cells/µL): 800, the grade-1 limit.
    pub resume_at: f64,
    /// Interval between visits while a cycle is held (days): 4 weeks, the trial's haematology spacing.
    pub recheck_every_days: f64,
    /// Longest interruption (days) before treatment is discontinued \[assumption: 6 months\].
    pub max_delay_days: f64,
}

impl TrialProtocol {
    /// The CLARITY protocol's numbers (see the type's documentation).
    pub fn clarity() -> Self {
        TrialProtocol {
            hold_below: 500.0,
            resume_at: 800.0,
            recheck_every_days: 28.0,
            max_delay_days: months(6.0),
        }
    }

    /// Puts the hold-and-resume gate on every cladribine course (cycle) of `regimen`.
    pub fn apply(&self, mut regimen: Regimen) -> Result<Regimen, RegimenError> {
        let gate = Gate {
            observable: Count::Alc,
            min_cells_per_ul: self.hold_below,
            resume_cells_per_ul: Some(self.resume_at),
            recheck_every_days: self.recheck_every_days,
            max_delay_days: self.max_delay_days,
            on_fail: OnFail::Stop,
        };
        for c in regimen.courses.iter_mut().filter(|c| c.course.drug == Drug::Cladribine) {
            c.gate = Some(gate);
        }
        regimen.validate_gates()?;
        Ok(regimen)
    }
}

/// The lymphocyte rules an arm runs under: the label's, or a trial's own protocol.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rules {
    /// The MAVENCLAD label ([`LabelRules`]): what a clinic applies, and what a switch question is asked under.
    Label(LabelRules),
    /// A trial's protocol ([`TrialProtocol`]): what a published trial cohort was treated under.
    Trial(TrialProtocol),
}

impl Rules {
    /// Puts the rules' gates on `regimen`.
    pub fn apply(&self, regimen: Regimen) -> Result<Regimen, RegimenError> {
        match self {
            Rules::Label(r) => r.apply(regimen),
            Rules::Trial(t) => t.apply(regimen),
        }
    }
}

impl From<LabelRules> for Rules {
    fn from(r: LabelRules) -> Self {
        Rules::Label(r)
    }
}

impl From<TrialProtocol> for Rules {
    fn from(t: TrialProtocol) -> Self {
        Rules::Trial(t)
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
