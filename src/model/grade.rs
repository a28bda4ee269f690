//! CTCAE "lymphocyte count decreased" grades from the absolute lymphocyte count.
//!
//! | grade | ALC (cells/µL) |
//! |---|---|
//! | 0 | ≥ LLN |
//! | 1 | < LLN and ≥ 800 |
//! | 2 | < 800 and ≥ 500 |
//! | 3 | < 500 and ≥ 200 |
//! | 4 | < 200 |
//!
//! Boundaries are strict `<` (an ALC of exactly 500 is grade 2). The lower limit of normal (LLN) is
//! laboratory-specific; the default is 1000 cells/µL. The table is the same in CTCAE v3, v4 and v5.

use super::ParamError;

/// A CTCAE lymphopenia grade, 0 (normal) to 4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Grade(u8);

impl Grade {
    /// Grade 0 (≥ LLN).
    pub const NORMAL: Grade = Grade(0);
    /// Grade 4 (< 200 cells/µL).
    pub const MAX: Grade = Grade(4);

    /// The grade as a number 0–4.
    pub fn value(self) -> u8 {
        self.0
    }

    /// The grade `k` (0–4; larger values are grade 4).
    pub fn from_value(k: u8) -> Grade {
        Grade(k.min(4))
    }
}

impl std::fmt::Display for Grade {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Grade boundaries with a configurable lower limit of normal.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GradeScale {
    lln: f64,
}

/// Default lower limit of normal for ALC (cells/µL).
pub const DEFAULT_LLN: f64 = 1000.0;

impl Default for GradeScale {
    fn default() -> Self {
        GradeScale { lln: DEFAULT_LLN }
    }
}

impl GradeScale {
    /// A scale with the given LLN (cells/µL); it must be finite and > 800, so that grade 1 exists, and at most
    /// 4 000 (laboratory LLNs lie near 1 000; a value 10⁶ times larger was given in cells/L).
    pub fn with_lln(lln: f64) -> Result<Self, ParamError> {
        if !(lln.is_finite() && lln > 800.0 && lln <= 4000.0) {
            return Err(ParamError::OutOfRange {
                name: "lln",
                symbol: "LLN",
                value: lln,
                requirement: "an ALC in cells/uL, > 800 and <= 4000 (cells/L are 10^6 times larger)",
            });
        }
        Ok(GradeScale { lln })
    }

    /// The lower limit of normal (cells/µL).
    pub fn lln(&self) -> f64 {
        self.lln
    }

    /// Grade of an ALC in cells/µL. A NaN count is graded 4 (the worst), so it can never hide a toxicity.
    /// The ALC below which each grade from 1 to 4 begins: grade ≥ `k + 1` exactly when ALC < `bounds()[k]`
    /// (cells/µL: the LLN, 800, 500 and 200).
    pub fn bounds(&self) -> [f64; 4] {
        [self.lln, 800.0, 500.0, 200.0]
    }

    /// The grade of an ALC (cells/µL).
    pub fn grade(&self, alc: f64) -> Grade {
        if alc >= self.lln {
            Grade(0)
        } else if alc >= 800.0 {
            Grade(1)
        } else if alc >= 500.0 {
            Grade(2)
        } else if alc >= 200.0 {
            Grade(3)
        } else {
            Grade(4)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundaries_are_strict() {
        let s = GradeScale::default();
        let cases = [
            (1500.0, 0),
            (1000.0, 0),
            (999.9, 1),
            (800.0, 1),
            (799.9, 2),
            (500.0, 2),
            (499.9, 3),
            (200.0, 3),
            (199.9, 4),
            (0.0, 4),
            (f64::NAN, 4),
        ];
        for (alc, g) in cases {
            assert_eq!(s.grade(alc).value(), g, "ALC {alc}");
        }
    }

    #[test]
    fn lln_is_configurable() {
        let s = GradeScale::with_lln(1100.0).unwrap();
        assert_eq!(s.grade(1050.0).value(), 1);
        assert!(GradeScale::with_lln(700.0).is_err());
        assert!(GradeScale::with_lln(f64::NAN).is_err());
    }
}
