//! Reading calibration targets.

use std::fmt;

use crate::units::DAYS_PER_MONTH;

/// A malformed targets table.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("targets line {line}, column {column}: {message}")]
pub struct TargetError {
    /// 1-based line number (the header is line 1).
    pub line: usize,
    /// Column name.
    pub column: &'static str,
    /// What is wrong, with the value.
    pub message: String,
}

/// The published value.
#[derive(Debug, Clone, PartialEq)]
pub enum TargetValue {
    /// One number.
    Number(f64),
    /// A range `lo-hi` (e.g. a window of weeks).
    Range(f64, f64),
    /// Several numbers separated by `/` (e.g. a grade distribution).
    Distribution(Vec<f64>),
}

/// How far the model may be from the value.
#[derive(Debug, Clone, PartialEq)]
pub enum Tolerance {
    /// `+-X%`: relative to the value.
    Relative(f64),
    /// `+-X` (optionally followed by a unit word such as `weeks`, `points`, `each`): absolute.
    Absolute(f64),
    /// `within range`: the model must fall inside the value's range.
    WithinRange,
    /// `lo to hi` or `lo-hi unit`: an explicit acceptable interval.
    Interval(f64, f64),
}

/// What a target measures, parsed once from the table's `statistic` words.
#[derive(Debug, Clone, PartialEq)]
pub enum Statistic {
    /// `fraction of patients below LLN` on `time_day` (a cohort statistic).
    FractionBelowLln,
    /// `fraction with worst grade >= 3 at any time` (a cohort statistic).
    FractionWorstGradeGe3,
    /// `fraction with worst grade 4 at any time` (a cohort statistic).
    FractionWorstGrade4,
    /// `grade distribution … (G0/G1/G2/G3/G4)` on `time_day` (a cohort statistic).
    GradeDistribution,
    /// `terminal half-life` of cladribine (hours).
    TerminalHalfLife,
    /// `volume of distribution at steady state` of cladribine (L).
    VolumeOfDistribution,
    /// `Cmax course K`: the highest concentration within 30 days of course K's start.
    CmaxCourse(usize),
    /// `tmax`: the hour of the peak plasma concentration after a single dose.
    Tmax,
    /// `week of year-1 nadir`.
    WeekOfYearOneNadir,
    /// `day of nadir` in the first year.
    DayOfNadir,
    /// `… back to X (week)`: the first week at or above X after the overall nadir.
    WeekBackTo(f64),
    /// `percent decrease`, `percent reduction` or `percent depletion` at `time_day`: `100 (1 − x(t)/x(0))`.
    PercentDecrease,
    /// `percent of baseline …` at `time_day`: `100 x(t)/x(0)`.
    PercentOfBaseline,
    /// `proportion … relative to baseline proportion` at `time_day`: `x(t)/x(0)`.
    RatioToBaseline,
    /// `median of per-patient … nadir`: the median over patients of each patient's own nadir (a cohort
    /// statistic, lower than the median count at the median's nadir week).
    MedianPerPatientNadir,
    /// `fraction of patients with … >= LLN` on `time_day` (a cohort statistic; the count's LLN is
    /// [`lln_of`]).
    FractionAtLeastLln,
    /// `between-patient SD` on `time_day` (a cohort statistic).
    BetweenPatientSd,
    /// `median months to recovery >= LLN`: the median over patients of the months from the first dose until the
    /// count is back at or above its LLN ([`lln_of`]) after first falling below it (a cohort statistic).
    MonthsToLln,
    /// `geometric mean months to recovery >= LLN` with the follow-up in `time_day`: the geometric mean of those
    /// months over the patients who fell below the LLN and were back by `time_day`.
    GeometricMeanMonthsToLln,
    /// `mean months to recovery >= LLN` with the follow-up in `time_day`: the mean of those months over the
    /// patients back at the LLN by `time_day` (a published mean can only average the recoveries seen in its
    /// follow-up). Without a follow-up the words are not evaluable: a mean with censored patients is undefined.
    /// How the return is seen — continuously, or at a trial's quarterly lab visits (words
    /// `… at quarterly visits`) — is the [`Observed`].
    MeanMonthsToLln(Observed),
    /// `fraction recovered to baseline …` by `time_day` (a cohort statistic).
    FractionRecoveredToBaseline,
    /// A value at `time_day` (words starting `mean`, `median`, `baseline mean`, `baseline median`).
    ValueAtDay,
    /// Words the model cannot evaluate (reported as not evaluated, with the words).
    NotModelled(String),
}

/// When a study saw a count's return: the model's continuous time, or at scheduled lab visits (a recovery between
/// two visits is recorded at the second).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Observed {
    /// The day the count crosses its threshold.
    Continuously,
    /// The first of the [`quarterly_visit_days`], after the count first fell below its threshold, at which it is at
    /// or above it ([`crate::outcome::Window::recoveries_at_visits`]).
    AtQuarterlyVisits,
}

/// A trial's quarterly lymphocyte-subset visits, days from the first dose, up to `horizon_days`: month 1, then
/// every 3 months (months 3, 6, 9, 12, …), and a month after a second course given at month 12 (month 13) — the
/// time points the CARE-MS trials report subsets at (calibration rows A1–A13: days 30, 91, 183, 274, 365, 396,
/// 457, 548, 730). A month is [`DAYS_PER_MONTH`] days; visit days are rounded to whole days.
pub fn quarterly_visit_days(horizon_days: f64) -> Vec<f64> {
    let mut months: Vec<f64> = vec![1.0, 13.0];
    months.extend(
        (1..)
            .map(|k| 3.0 * k as f64)
            .take_while(|m| m * DAYS_PER_MONTH <= horizon_days),
    );
    let mut days: Vec<f64> = months
        .into_iter()
        .map(|m| (m * DAYS_PER_MONTH).round())
        .filter(|d| *d <= horizon_days)
        .collect();
    days.sort_by(f64::total_cmp);
    days
}

impl Statistic {
    /// Parses the table's words (any case); `time_day` decides whether a plain value statistic is evaluable.
    pub fn parse(words: &str, time_day: Option<f64>) -> Statistic {
        let s = words.to_ascii_lowercase();
        let number_after = |key: &str| s.split(key).nth(1).and_then(leading_number);
        if s.starts_with("geometric mean months to recovery >= lln") {
            match time_day {
                Some(_) => Statistic::GeometricMeanMonthsToLln,
                None => Statistic::NotModelled(format!(
                    "{words} (a geometric mean time to recovery needs the follow-up in time_day)"
                )),
            }
        } else if s.starts_with("mean months to recovery >= lln") {
            let observed = if s.contains("at quarterly visits") {
                Observed::AtQuarterlyVisits
            } else {
                Observed::Continuously
            };
            match time_day {
                Some(_) => Statistic::MeanMonthsToLln(observed),
                None => Statistic::NotModelled(format!(
                    "{words} (a mean time to recovery needs the follow-up in time_day: patients not yet back leave it undefined)"
                )),
            }
        } else if s.contains("months to recovery >= lln") {
            Statistic::MonthsToLln
        } else if s.starts_with("fraction recovered to baseline") && time_day.is_some() {
            Statistic::FractionRecoveredToBaseline
        } else if s.contains("between-patient sd") && time_day.is_some() {
            Statistic::BetweenPatientSd
        } else if s.starts_with("median of per-patient") && s.contains("nadir") {
            Statistic::MedianPerPatientNadir
        } else if s.starts_with("fraction of patients with") && s.contains(">= lln") && time_day.is_some() {
            Statistic::FractionAtLeastLln
        } else if s.contains("between-patient") || s.contains("per-patient") || s.split_whitespace().any(|w| w == "sd")
        {
            // Any other spread or per-patient statistic: a typical patient's value is not one of them.
            Statistic::NotModelled(words.to_string())
        } else if s.contains("relative to baseline proportion") && time_day.is_some() {
            Statistic::RatioToBaseline
        } else if s.starts_with("fraction of patients below lln") {
            Statistic::FractionBelowLln
        } else if s.starts_with("fraction with worst grade >= 3") {
            Statistic::FractionWorstGradeGe3
        } else if s.starts_with("fraction with worst grade 4") {
            Statistic::FractionWorstGrade4
        } else if s.starts_with("grade distribution") {
            Statistic::GradeDistribution
        } else if s.contains("terminal half-life") {
            Statistic::TerminalHalfLife
        } else if s.contains("volume of distribution") {
            Statistic::VolumeOfDistribution
        } else if let Some(k) = number_after("cmax course ") {
            Statistic::CmaxCourse(k as usize)
        } else if s.contains("tmax") {
            Statistic::Tmax
        } else if s.contains("week of year-1 nadir") {
            Statistic::WeekOfYearOneNadir
        } else if s.contains("day of nadir") {
            Statistic::DayOfNadir
        } else if let Some(x) = number_after("back to") {
            Statistic::WeekBackTo(x)
        } else if ["percent decrease", "percent reduction", "percent depletion"]
            .iter()
            .any(|k| s.contains(k))
            && time_day.is_some()
        {
            Statistic::PercentDecrease
        } else if s.contains("percent of baseline") && time_day.is_some() {
            Statistic::PercentOfBaseline
        } else if time_day.is_some()
            && ["mean", "median", "baseline mean", "baseline median"]
                .iter()
                .any(|k| s.starts_with(k))
        {
            Statistic::ValueAtDay
        } else {
            Statistic::NotModelled(words.to_string())
        }
    }

    /// Whether the statistic needs a simulated cohort (fractions of patients, grade distributions).
    pub fn is_cohort(&self) -> bool {
        matches!(
            self,
            Statistic::FractionBelowLln
                | Statistic::FractionWorstGradeGe3
                | Statistic::FractionWorstGrade4
                | Statistic::GradeDistribution
                | Statistic::MedianPerPatientNadir
                | Statistic::FractionAtLeastLln
                | Statistic::BetweenPatientSd
                | Statistic::MonthsToLln
                | Statistic::MeanMonthsToLln(_)
                | Statistic::GeometricMeanMonthsToLln
                | Statistic::FractionRecoveredToBaseline
        )
    }
}

/// The regimen a target was measured under, parsed once from the table's `regimen` words.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Setting {
    /// Alemtuzumab on its label (or a course of it).
    Alemtuzumab,
    /// One course of alemtuzumab (12 mg/day × 5), followed for years.
    AlemtuzumabSingleCourse,
    /// Cladribine tablets on the CLARITY schedule.
    ClarityCladribine,
    /// Cladribine tablets, first course only (cohort targets use the CLARITY scenario).
    CladribineFirstCourse,
    /// Cladribine tablets, the year-1 course only (CLARITY cycles on days 0 and 28), sampled before year 2.
    ClarityYearOne,
    /// Cladribine tablets on the label (courses at months 0 and 12, by weight band).
    CladribineLabel,
    /// One oral cladribine dose of this many mg (PK targets).
    SingleOralDose(f64),
    /// A drug-level property (half-life, volume) with no regimen.
    DrugProperty,
    /// Words the model has no regimen for.
    NotModelled,
}

impl Setting {
    /// Parses the table's words (any case).
    pub fn parse(words: &str) -> Setting {
        let r = words.to_ascii_lowercase();
        if r.starts_with("alemtuzumab") && r.contains("single course") {
            Setting::AlemtuzumabSingleCourse
        } else if r.starts_with("alemtuzumab") {
            Setting::Alemtuzumab
        } else if r.contains("single oral dose") {
            Setting::SingleOralDose(leading_number(&r).unwrap_or(10.0))
        } else if r.contains("label schedule") && r.starts_with("cladribine") {
            Setting::CladribineLabel
        } else if r.contains("year-1 course") {
            Setting::ClarityYearOne
        } else if r.contains("first course only") {
            Setting::CladribineFirstCourse
        } else if r.contains("clarity schedule") {
            Setting::ClarityCladribine
        } else if r.trim() == "cladribine" {
            Setting::DrugProperty
        } else {
            Setting::NotModelled
        }
    }
}

/// Lower limits of normal of the counts a `>= LLN` target names (cells/µL): ALC 1 000, CD4 400, CD8 200 and CD19
/// 100, as in Hill-Cawthorne et al. 2012 (JNNP 83:298) \[lit\]; the sources of rows A23–A24 do not state theirs.
pub fn lln_of(subset: &str) -> Option<f64> {
    match subset.to_ascii_lowercase().as_str() {
        "alc" => Some(crate::model::DEFAULT_LLN),
        "cd4" => Some(400.0),
        "cd8" => Some(200.0),
        "cd19" => Some(100.0),
        _ => None,
    }
}

/// The first number in `s` (digits and a decimal point), if any.
pub(crate) fn leading_number(s: &str) -> Option<f64> {
    let s = s.trim_start_matches(|c: char| !c.is_ascii_digit());
    let end = s.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(s.len());
    s[..end].parse().ok()
}

/// One published figure.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// Identifier (e.g. `C5`).
    pub id: String,
    /// Regimen in words.
    pub regimen: String,
    /// Population in words.
    pub population: String,
    /// Subset (`ALC`, `CD4`, `CD8`, `CD19`, a drug name).
    pub subset: String,
    /// Statistic in words (`mean`, `median at year-1 nadir (week 9)`, `percent decrease at week 52` …).
    pub statistic: String,
    /// The statistic, parsed.
    pub stat: Statistic,
    /// The regimen, parsed.
    pub setting: Setting,
    /// Day the statistic refers to, if any.
    pub time_day: Option<f64>,
    /// The published value.
    pub value: TargetValue,
    /// Unit of the value.
    pub unit: String,
    /// Acceptable deviation.
    pub tolerance: Tolerance,
    /// Where the figure comes from.
    pub source: String,
}

impl fmt::Display for TargetValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TargetValue::Number(v) => write!(f, "{v}"),
            TargetValue::Range(a, b) => write!(f, "{a}-{b}"),
            TargetValue::Distribution(v) => {
                let s: Vec<String> = v.iter().map(|x| x.to_string()).collect();
                write!(f, "{}", s.join("/"))
            }
        }
    }
}

impl fmt::Display for Tolerance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Tolerance::Relative(r) => write!(f, "+-{}%", r * 100.0),
            Tolerance::Absolute(a) => write!(f, "+-{a}"),
            Tolerance::WithinRange => write!(f, "within range"),
            Tolerance::Interval(a, b) => write!(f, "{a} to {b}"),
        }
    }
}

fn number(s: &str) -> Option<f64> {
    s.trim().parse::<f64>().ok().filter(|v| v.is_finite())
}

/// Parses `lo-hi`, ignoring a trailing unit word (`0.3-1.5 h`).
fn range(s: &str) -> Option<(f64, f64)> {
    let head = s.split_whitespace().next()?;
    let (a, b) = head.split_once('-')?;
    let (a, b) = (number(a)?, number(b)?);
    (a <= b).then_some((a, b))
}

fn parse_value(s: &str) -> Option<TargetValue> {
    if let Some(v) = number(s) {
        return Some(TargetValue::Number(v));
    }
    if s.contains('/') {
        let parts: Option<Vec<f64>> = s.split('/').map(number).collect();
        return parts.map(TargetValue::Distribution);
    }
    range(s).map(|(a, b)| TargetValue::Range(a, b))
}

fn parse_tolerance(s: &str) -> Option<Tolerance> {
    let t = s.trim();
    if t == "within range" {
        return Some(Tolerance::WithinRange);
    }
    if let Some(rest) = t.strip_prefix("+-") {
        if let Some(p) = rest.strip_suffix('%') {
            return number(p).filter(|v| *v >= 0.0).map(|v| Tolerance::Relative(v / 100.0));
        }
        let head = rest.split_whitespace().next()?;
        return number(head).filter(|v| *v >= 0.0).map(Tolerance::Absolute);
    }
    if let Some((a, b)) = t.split_once(" to ") {
        let (a, b) = (number(a)?, number(b)?);
        return (a <= b).then_some(Tolerance::Interval(a, b));
    }
    range(t).map(|(a, b)| Tolerance::Interval(a, b))
}

const COLUMNS: [&str; 10] = [
    "id",
    "regimen",
    "population",
    "subset",
    "statistic",
    "time_day",
    "value",
    "unit",
    "suggested_tolerance",
    "source",
];

/// Parses a targets table (CSV with the header of `calibration-targets.csv`; quoted fields allowed).
pub fn parse(text: &str) -> Result<Vec<Target>, TargetError> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(text.as_bytes());
    let header = rdr
        .headers()
        .map_err(|e| TargetError {
            line: 1,
            column: "header",
            message: e.to_string(),
        })?
        .clone();
    let mut idx = [0usize; COLUMNS.len()];
    for (i, name) in COLUMNS.iter().enumerate() {
        idx[i] = header.iter().position(|h| h.trim() == *name).ok_or(TargetError {
            line: 1,
            column: COLUMNS[i],
            message: format!("missing column {name:?}; expected {}", COLUMNS.join(",")),
        })?;
    }
    let mut out = Vec::new();
    for (n, rec) in rdr.records().enumerate() {
        let line = n + 2;
        let rec = rec.map_err(|e| TargetError {
            line,
            column: "row",
            message: e.to_string(),
        })?;
        let get = |i: usize| rec.get(idx[i]).unwrap_or("").trim().to_string();
        if rec.len() != header.len() {
            return Err(TargetError {
                line,
                column: "row",
                message: format!("expected {} fields, found {}", header.len(), rec.len()),
            });
        }
        let id = get(0);
        if id.is_empty() {
            return Err(TargetError {
                line,
                column: "id",
                message: "empty id".into(),
            });
        }
        let time_raw = get(5);
        let time_day = if time_raw.is_empty() {
            None
        } else {
            Some(number(&time_raw).filter(|v| *v >= 0.0).ok_or(TargetError {
                line,
                column: "time_day",
                message: format!("must be a day >= 0 or empty, got {time_raw:?}"),
            })?)
        };
        let value_raw = get(6);
        let value = parse_value(&value_raw).ok_or(TargetError {
            line,
            column: "value",
            message: format!("must be a number, a range lo-hi or a list a/b/c, got {value_raw:?}"),
        })?;
        let tol_raw = get(8);
        let tolerance = parse_tolerance(&tol_raw).ok_or(TargetError {
            line,
            column: "suggested_tolerance",
            message: format!("must be +-X%, +-X [unit], 'within range', 'lo to hi' or 'lo-hi [unit]', got {tol_raw:?}"),
        })?;
        if tolerance == Tolerance::WithinRange && !matches!(value, TargetValue::Range(..)) {
            return Err(TargetError {
                line,
                column: "value",
                message: format!("'within range' needs a range value lo-hi, got {value_raw:?}"),
            });
        }
        out.push(Target {
            id,
            regimen: get(1),
            population: get(2),
            subset: get(3),
            stat: Statistic::parse(&get(4), time_day),
            setting: Setting::parse(&get(1)),
            statistic: get(4),
            time_day,
            value,
            unit: get(7),
            tolerance,
            source: get(9),
        });
    }
    Ok(out)
}

impl Target {
    /// Whether a scalar model value meets the target (distributions are compared component-wise elsewhere).
    pub fn admits(&self, model: f64) -> Option<bool> {
        if !model.is_finite() {
            return Some(false);
        }
        match (&self.value, &self.tolerance) {
            (TargetValue::Number(v), Tolerance::Relative(r)) => Some((model - v).abs() <= r * v.abs()),
            (TargetValue::Number(v), Tolerance::Absolute(a)) => Some((model - v).abs() <= *a),
            (_, Tolerance::Interval(a, b)) => Some(model >= *a && model <= *b),
            (TargetValue::Range(a, b), Tolerance::WithinRange) => Some(model >= *a && model <= *b),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn quarterly_visits_are_the_trials_subset_time_points() {
        assert_eq!(
            quarterly_visit_days(740.0),
            vec![30.0, 91.0, 183.0, 274.0, 365.0, 396.0, 457.0, 548.0, 639.0, 731.0]
        );
        assert_eq!(quarterly_visit_days(20.0), Vec::<f64>::new());
    }

    #[test]
    fn statistics_and_settings_are_parsed_once_into_types() {
        let d = Some(30.0);
        for (words, day, want) in [
            ("mean", d, Statistic::ValueAtDay),
            ("median at year-1 nadir (week 9)", d, Statistic::ValueAtDay),
            ("percent decrease at week 52", d, Statistic::PercentDecrease),
            (
                "percent depletion from baseline at first post-course sample",
                d,
                Statistic::PercentDecrease,
            ),
            ("Cmax course 2 (day 3)", None, Statistic::CmaxCourse(2)),
            ("median back to >= 1000 (week)", None, Statistic::WeekBackTo(1000.0)),
            (
                "fraction with worst grade >= 3 at any time",
                None,
                Statistic::FractionWorstGradeGe3,
            ),
            (
                "grade distribution 1-2 months after first dose (G0/G1/G2/G3/G4)",
                d,
                Statistic::GradeDistribution,
            ),
        ] {
            assert_eq!(Statistic::parse(words, day), want, "{words}");
        }
        // Spreads and per-patient statistics are cohort statistics, never the typical patient's value.
        assert_eq!(Statistic::parse("between-patient SD", d), Statistic::BetweenPatientSd);
        assert_eq!(
            Statistic::parse("median of per-patient ALC nadir", None),
            Statistic::MedianPerPatientNadir
        );
        assert_eq!(
            Statistic::parse("fraction of patients with CD4 >= LLN at month 12", d),
            Statistic::FractionAtLeastLln
        );
        // A mean time to recovery needs the follow-up it averaged over; a median or geometric mean does not.
        assert_eq!(
            Statistic::parse("mean months to recovery >= LLN (LLN 100)", d),
            Statistic::MeanMonthsToLln(Observed::Continuously)
        );
        assert_eq!(
            Statistic::parse("mean months to recovery >= LLN at quarterly visits (LLN 100)", d),
            Statistic::MeanMonthsToLln(Observed::AtQuarterlyVisits)
        );
        assert!(matches!(
            Statistic::parse("mean months to recovery >= LLN (LLN 100)", None),
            Statistic::NotModelled(w) if w.contains("time_day")
        ));
        assert_eq!(
            Statistic::parse("geometric mean months to recovery >= LLN (LLN 1000)", d),
            Statistic::GeometricMeanMonthsToLln
        );
        assert!(matches!(
            Statistic::parse("geometric mean months to recovery >= LLN", None),
            Statistic::NotModelled(_)
        ));
        assert_eq!(
            Statistic::parse("median months to recovery >= LLN (survival median)", None),
            Statistic::MonthsToLln
        );
        for st in [
            Statistic::BetweenPatientSd,
            Statistic::MedianPerPatientNadir,
            Statistic::FractionAtLeastLln,
            Statistic::MeanMonthsToLln(Observed::Continuously),
            Statistic::MeanMonthsToLln(Observed::AtQuarterlyVisits),
            Statistic::GeometricMeanMonthsToLln,
        ] {
            assert!(st.is_cohort());
        }
        for words in [
            "per-patient SD of the slope",
            "sd of something",
            "fraction of patients with relapses",
        ] {
            assert!(
                matches!(Statistic::parse(words, d), Statistic::NotModelled(_)),
                "{words}"
            );
        }
        assert_eq!(
            Setting::parse("cladribine 10 mg single oral dose"),
            Setting::SingleOralDose(10.0)
        );
        assert_eq!(Setting::parse("alemtuzumab 12mg x5"), Setting::Alemtuzumab);
        assert_eq!(
            Setting::parse("cladribine 3.5 mg/kg first course only"),
            Setting::CladribineFirstCourse
        );
        assert_eq!(Setting::parse("something else"), Setting::NotModelled);
    }

    use super::*;

    #[test]
    fn the_shared_table_parses() {
        let t = parse(super::super::EMBEDDED_TARGETS).unwrap();
        assert!(t.len() >= 40);
        let c5 = t.iter().find(|x| x.id == "C5").unwrap();
        assert_eq!(c5.value, TargetValue::Number(385.0));
        assert_eq!(c5.tolerance, Tolerance::Relative(0.15));
        let c15 = t.iter().find(|x| x.id == "C15").unwrap();
        assert_eq!(c15.value, TargetValue::Range(9.0, 13.0));
        assert_eq!(
            t.iter().find(|x| x.id == "C19").unwrap().tolerance,
            Tolerance::Interval(0.0, 0.02)
        );
        assert_eq!(
            t.iter().find(|x| x.id == "C21").unwrap().tolerance,
            Tolerance::Interval(0.3, 1.5)
        );
        assert!(
            matches!(t.iter().find(|x| x.id == "C20").unwrap().value, TargetValue::Distribution(ref v) if v.len() == 5)
        );
    }

    #[test]
    fn malformed_rows_name_line_and_column() {
        let h = "id,regimen,population,subset,statistic,time_day,value,unit,suggested_tolerance,source\n";
        let cases = [
            ("X1,r,p,CD4,mean,abc,50,cells/uL,+-50%,s\n", "time_day"),
            ("X1,r,p,CD4,mean,30,fifty,cells/uL,+-50%,s\n", "value"),
            ("X1,r,p,CD4,mean,30,50,cells/uL,about right,s\n", "suggested_tolerance"),
            ("X1,r,p,CD4,mean,30,50,cells/uL,within range,s\n", "value"),
            (",r,p,CD4,mean,30,50,cells/uL,+-50%,s\n", "id"),
            ("X1,r,p,CD4,mean,-3,50,cells/uL,+-50%,s\n", "time_day"),
            ("X1,r,p,CD4\n", "row"),
        ];
        for (row, col) in cases {
            let e = parse(&format!("{h}{row}")).unwrap_err();
            assert_eq!(e.line, 2);
            assert_eq!(e.column, col, "{row}: {e}");
        }
        let e = parse("id,regimen\nX,y\n").unwrap_err();
        assert_eq!(e.line, 1);
    }
}
