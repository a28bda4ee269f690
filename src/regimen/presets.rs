//! Label and trial regimens by stable name.
//!
//! | name | regimen |
//! |---|---|
//! | `untreated` | no treatment (baseline check) |
//! | `alemtuzumab-label` | 12 mg/day IV (4-h infusions) × 5 days; 12 months later 12 mg/day × 3 days |
//! | `cladribine-label` | 3.5 mg/kg over 2 years by weight band: two treatment weeks a year, week 2 one month after week 1, year 2 twelve months after year 1 |
//! | `clarity-3.5` | CLARITY 3.5 mg/kg arm: 0.875 mg/kg cycles starting days 0, 28, 329, 357, each split evenly over 5 days |
//! | `sequence` | `alemtuzumab-label`, then `cladribine-label` starting a chosen interval (default 12 months) after the end of the last alemtuzumab infusion |
//!
//! Label timings use the library's month (30.4375 days). Any other trial schedule is one call to
//! [`trial_cycles`].

use super::weight_band::{band_for, check_weight, daily_split, TABLET_MG};
use super::{Course, Drug, Regimen, RegimenError, Start};
use crate::units::{hours, months};

/// Alemtuzumab daily dose (mg).
pub const ALEMTUZUMAB_DAILY_MG: f64 = 12.0;
/// Alemtuzumab infusion duration (hours).
pub const ALEMTUZUMAB_INFUSION_HOURS: f64 = 4.0;

/// The stable preset names.
pub const NAMES: [&str; 5] = [
    "untreated",
    "alemtuzumab-label",
    "cladribine-label",
    "clarity-3.5",
    "sequence",
];

/// One-line descriptions, in the order of [`NAMES`].
pub const DESCRIPTIONS: [&str; 5] = [
    "no treatment (an untreated patient stays at baseline)",
    "alemtuzumab 12 mg/day IV x 5 days, then 12 mg/day x 3 days 12 months later (4-h infusions)",
    "cladribine tablets 3.5 mg/kg over 2 years by label weight band (weeks at months 0, 1, 12, 13)",
    "CLARITY 3.5 mg/kg arm: 0.875 mg/kg cycles of 5 days starting days 0, 28, 329, 357",
    "alemtuzumab-label, then cladribine-label starting a chosen interval (default 12 months) after the last infusion",
];

/// Patient facts and choices that presets depend on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PresetOptions {
    /// Body weight (kg); drives the cladribine dose.
    pub weight_kg: f64,
    /// For `sequence`: months from the end of the last alemtuzumab infusion to the first cladribine dose.
    pub interval_months: f64,
}

impl Default for PresetOptions {
    fn default() -> Self {
        PresetOptions {
            weight_kg: 70.0,
            interval_months: 12.0,
        }
    }
}

/// Builds the preset called `name`.
pub fn build(name: &str, opts: &PresetOptions) -> Result<Regimen, RegimenError> {
    match name {
        "untreated" => Ok(Regimen::untreated()),
        "alemtuzumab-label" => Ok(alemtuzumab_label()),
        "cladribine-label" => cladribine_label(opts.weight_kg),
        "clarity-3.5" => clarity_3_5(opts.weight_kg),
        "sequence" => sequence(opts.weight_kg, opts.interval_months),
        _ => Err(RegimenError::UnknownPreset {
            name: name.to_string(),
            known: NAMES.join(", "),
        }),
    }
}

fn alemtuzumab_course(name: &str, days: usize) -> Course {
    Course::infusion_daily(
        name,
        Drug::Alemtuzumab,
        days,
        ALEMTUZUMAB_DAILY_MG,
        hours(ALEMTUZUMAB_INFUSION_HOURS),
    )
}

/// Alemtuzumab label: course 1 (5 × 12 mg), course 2 (3 × 12 mg) 12 months after course 1 starts.
pub fn alemtuzumab_label() -> Regimen {
    Regimen {
        name: "alemtuzumab-label".into(),
        courses: Vec::new(),
    }
    .with(Start::AtDay(0.0), alemtuzumab_course("alemtuzumab course 1", 5))
    .with(
        Start::AfterPreviousStart(months(12.0)),
        alemtuzumab_course("alemtuzumab course 2", 3),
    )
}

fn tablet_week(name: &str, tablets: u8) -> Course {
    let mg: Vec<f64> = daily_split(tablets).into_iter().map(|t| t as f64 * TABLET_MG).collect();
    Course::oral_daily(name, Drug::Cladribine, &mg)
}

/// Cladribine tablets label regimen for a body weight (kg): refused below 40 kg.
pub fn cladribine_label(weight_kg: f64) -> Result<Regimen, RegimenError> {
    let band = band_for(weight_kg)?;
    Ok(Regimen {
        name: "cladribine-label".into(),
        courses: Vec::new(),
    }
    .with(Start::AtDay(0.0), tablet_week("cladribine year 1, week 1", band.week1))
    .with(
        Start::AfterPreviousStart(months(1.0)),
        tablet_week("cladribine year 1, week 2", band.week2),
    )
    .with(
        Start::AfterPreviousStart(months(11.0)),
        tablet_week("cladribine year 2, week 1", band.week1),
    )
    .with(
        Start::AfterPreviousStart(months(1.0)),
        tablet_week("cladribine year 2, week 2", band.week2),
    ))
}

/// A trial-style cladribine regimen: cycles of `mg_per_kg` each, starting on `start_days` (ascending), each split
/// evenly over `days_per_cycle` daily doses. Weights below 40 kg are refused as for the label.
///
/// Later cycles are placed relative to the cycle before them ([`Start::AfterPreviousStart`] with the planned
/// gap), so a gate that delays one cycle moves the later ones by the same amount.
pub fn trial_cycles(
    name: &str,
    start_days: &[f64],
    mg_per_kg: f64,
    days_per_cycle: usize,
    weight_kg: f64,
) -> Result<Regimen, RegimenError> {
    band_for(weight_kg)?;
    if !(mg_per_kg.is_finite() && mg_per_kg > 0.0) {
        return Err(RegimenError::InvalidValue {
            path: "mg_per_kg".into(),
            value: mg_per_kg,
            requirement: "a finite dose > 0 mg/kg",
        });
    }
    if days_per_cycle == 0 {
        return Err(RegimenError::InvalidValue {
            path: "days_per_cycle".into(),
            value: 0.0,
            requirement: "at least 1 day",
        });
    }
    let daily = mg_per_kg * weight_kg / days_per_cycle as f64;
    let mut r = Regimen {
        name: name.into(),
        courses: Vec::new(),
    };
    // The first cycle sits at its day; each later one is placed relative to the start of the cycle before it,
    // so that a lab gate delaying one cycle moves the cycles after it with it (no dose is lost to a delay).
    for (i, &d) in start_days.iter().enumerate() {
        let path = || format!("start_days[{i}]");
        let start = match i {
            0 => Start::AtDay(d),
            _ => Start::AfterPreviousStart(d - start_days[i - 1]),
        };
        let ok = d.is_finite() && d >= 0.0 && (i == 0 || d >= start_days[i - 1] + days_per_cycle as f64 - 1.0);
        if !ok {
            return Err(RegimenError::InvalidValue {
                path: path(),
                value: d,
                requirement: "a finite day >= 0, after the previous cycle has ended",
            });
        }
        let course = Course::oral_daily(
            format!("{name} cycle {}", i + 1),
            Drug::Cladribine,
            &vec![daily; days_per_cycle],
        );
        r.push(start, course);
    }
    Ok(r)
}

/// CLARITY 3.5 mg/kg arm: 0.875 mg/kg cycles starting days 0, 28, 329, 357 (5 days each).
pub fn clarity_3_5(weight_kg: f64) -> Result<Regimen, RegimenError> {
    trial_cycles("clarity-3.5", &[0.0, 28.0, 329.0, 357.0], 0.875, 5, weight_kg)
}

/// Alemtuzumab label, then cladribine label starting `interval_months` after the end of the last infusion.
pub fn sequence(weight_kg: f64, interval_months: f64) -> Result<Regimen, RegimenError> {
    check_weight(weight_kg)?;
    if !(interval_months.is_finite() && interval_months >= 0.0) {
        return Err(RegimenError::InvalidValue {
            path: "interval_months".into(),
            value: interval_months,
            requirement: "a finite number of months >= 0",
        });
    }
    let mut r = alemtuzumab_label().then(
        Start::AfterPreviousEnd(months(interval_months)),
        cladribine_label(weight_kg)?,
    );
    r.name = "sequence".into();
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::regimen::weight_band::BANDS;

    #[test]
    fn every_preset_builds() {
        for n in NAMES {
            build(n, &PresetOptions::default()).unwrap();
        }
        assert!(build("nope", &PresetOptions::default())
            .unwrap_err()
            .to_string()
            .contains("sequence"));
    }

    #[test]
    fn label_totals_match_the_table_for_every_band() {
        let mg_per_year = [80.0, 100.0, 120.0, 140.0, 150.0, 170.0, 190.0, 200.0];
        for (band, mg) in BANDS.iter().zip(mg_per_year) {
            for w in [band.min_kg as f64, band.min_kg as f64 + 9.99] {
                let r = cladribine_label(w).unwrap();
                assert_eq!(r.total_mg(Drug::Cladribine), 2.0 * mg, "weight {w}");
            }
        }
    }

    #[test]
    fn sequence_starts_cladribine_after_the_interval() {
        let r = sequence(70.0, 6.0).unwrap();
        let a = r.administrations().unwrap();
        let last_alem = a
            .iter()
            .filter(|x| x.drug == Drug::Alemtuzumab)
            .map(|x| x.end_day())
            .fold(0.0, f64::max);
        let first_clad = a.iter().find(|x| x.drug == Drug::Cladribine).unwrap().day;
        assert!((first_clad - last_alem - months(6.0)).abs() < 1e-9);
    }
}
