//! Cladribine tablets: the label's weight bands and daily split.
//!
//! Tablets are 10 mg. The number of tablets per treatment week depends on body weight (identical in both
//! treatment years); a week's tablets are taken once daily over 4 or 5 days, at most two a day, two-tablet
//! days first. Below 40 kg the drug was not studied and no dose is given here.

use super::RegimenError;

/// Cladribine tablet strength (mg).
pub const TABLET_MG: f64 = 10.0;

/// One row of the label's dosing table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TabletBand {
    /// Lower weight bound (kg, inclusive).
    pub min_kg: u32,
    /// Upper weight bound (kg, exclusive); `None` for the open top band.
    pub max_kg: Option<u32>,
    /// Tablets in treatment week 1.
    pub week1: u8,
    /// Tablets in treatment week 2.
    pub week2: u8,
}

/// The label's weight bands (MAVENCLAD SmPC).
pub const BANDS: [TabletBand; 8] = [
    TabletBand {
        min_kg: 40,
        max_kg: Some(50),
        week1: 4,
        week2: 4,
    },
    TabletBand {
        min_kg: 50,
        max_kg: Some(60),
        week1: 5,
        week2: 5,
    },
    TabletBand {
        min_kg: 60,
        max_kg: Some(70),
        week1: 6,
        week2: 6,
    },
    TabletBand {
        min_kg: 70,
        max_kg: Some(80),
        week1: 7,
        week2: 7,
    },
    TabletBand {
        min_kg: 80,
        max_kg: Some(90),
        week1: 8,
        week2: 7,
    },
    TabletBand {
        min_kg: 90,
        max_kg: Some(100),
        week1: 9,
        week2: 8,
    },
    TabletBand {
        min_kg: 100,
        max_kg: Some(110),
        week1: 10,
        week2: 9,
    },
    TabletBand {
        min_kg: 110,
        max_kg: None,
        week1: 10,
        week2: 10,
    },
];

/// Checks a body weight: finite and > 0 (kg).
pub fn check_weight(weight_kg: f64) -> Result<(), RegimenError> {
    if weight_kg.is_finite() && weight_kg > 0.0 {
        Ok(())
    } else {
        Err(RegimenError::InvalidValue {
            path: "weight_kg".into(),
            value: weight_kg,
            requirement: "a finite body weight > 0 kg",
        })
    }
}

/// The band for a body weight; weights below 40 kg are refused.
pub fn band_for(weight_kg: f64) -> Result<TabletBand, RegimenError> {
    check_weight(weight_kg)?;
    BANDS
        .iter()
        .copied()
        .find(|b| weight_kg >= b.min_kg as f64 && b.max_kg.is_none_or(|m| weight_kg < m as f64))
        .ok_or(RegimenError::WeightBelowLabel { weight_kg })
}

/// Tablets per day for a treatment week of `tablets` tablets (4 to 10): two-tablet days first, at most two a
/// day, over 4 days for 4 tablets and 5 days otherwise.
pub fn daily_split(tablets: u8) -> Vec<u8> {
    let days: u8 = if tablets <= 4 { tablets } else { 5 };
    let doubles = tablets.saturating_sub(days);
    (0..days).map(|d| if d < doubles { 2 } else { 1 }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_matches_the_label() {
        let expected: [(u8, &[u8]); 7] = [
            (4, &[1, 1, 1, 1]),
            (5, &[1, 1, 1, 1, 1]),
            (6, &[2, 1, 1, 1, 1]),
            (7, &[2, 2, 1, 1, 1]),
            (8, &[2, 2, 2, 1, 1]),
            (9, &[2, 2, 2, 2, 1]),
            (10, &[2, 2, 2, 2, 2]),
        ];
        for (n, split) in expected {
            assert_eq!(daily_split(n), split, "{n} tablets");
            assert_eq!(daily_split(n).iter().map(|&x| x as u32).sum::<u32>(), n as u32);
        }
    }

    #[test]
    fn band_edges() {
        assert_eq!(band_for(40.0).unwrap().week1, 4);
        assert_eq!(band_for(49.99).unwrap().week1, 4);
        assert_eq!(band_for(50.0).unwrap().week1, 5);
        assert_eq!(band_for(85.0).unwrap().week2, 7);
        assert_eq!(band_for(250.0).unwrap().week1, 10);
        assert!(matches!(band_for(39.9), Err(RegimenError::WeightBelowLabel { .. })));
        assert!(band_for(f64::NAN).unwrap_err().to_string().contains("weight_kg"));
        assert!(band_for(-70.0).is_err());
    }
}
