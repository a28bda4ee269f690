//! Unit conversions, written once.
//!
//! Inside the library every quantity is stored in a canonical unit:
//!
//! | quantity | canonical unit |
//! |---|---|
//! | time | day |
//! | drug amount | mg |
//! | alemtuzumab concentration | µg/mL (= mg/L) |
//! | cladribine plasma concentration | ng/mL (= µg/L) |
//! | cell counts | cells/µL |
//! | clearance | L/day |
//! | creatinine clearance | mL/min |
//!
//! Published figures often come per hour, per month or in 10⁹ cells/L; the helpers below convert them at
//! the boundary so that no other module multiplies by 24 or by 1000.

/// Days in one month, the mean Gregorian month (365.25 / 12).
pub const DAYS_PER_MONTH: f64 = 30.4375;
/// Days in one year (Julian year).
pub const DAYS_PER_YEAR: f64 = 365.25;
/// Days in one week.
pub const DAYS_PER_WEEK: f64 = 7.0;
/// Hours in one day.
pub const HOURS_PER_DAY: f64 = 24.0;

/// Months → days.
pub fn months(m: f64) -> f64 {
    m * DAYS_PER_MONTH
}

/// Years → days.
pub fn years(y: f64) -> f64 {
    y * DAYS_PER_YEAR
}

/// Weeks → days.
pub fn weeks(w: f64) -> f64 {
    w * DAYS_PER_WEEK
}

/// Hours → days.
pub fn hours(h: f64) -> f64 {
    h / HOURS_PER_DAY
}

/// Days → weeks.
pub fn days_to_weeks(d: f64) -> f64 {
    d / DAYS_PER_WEEK
}

/// A rate given per hour (e.g. an absorption constant in /h, or a clearance in L/h) → per day.
pub fn per_hour_to_per_day(rate_per_hour: f64) -> f64 {
    rate_per_hour * HOURS_PER_DAY
}

/// Half-life in hours → first-order rate constant in /day.
pub fn half_life_hours_to_rate_per_day(t_half_h: f64) -> f64 {
    std::f64::consts::LN_2 / hours(t_half_h)
}

/// Cell count in 10⁹ cells/L (as many laboratories report it) → cells/µL.
pub fn giga_per_litre_to_cells_per_ul(x: f64) -> f64 {
    x * 1000.0
}

/// Cell count in cells/µL → 10⁹ cells/L.
pub fn cells_per_ul_to_giga_per_litre(x: f64) -> f64 {
    x / 1000.0
}

/// Amount (mg) in a volume (L) → concentration in mg/L = µg/mL.
pub fn mg_per_l(amount_mg: f64, volume_l: f64) -> f64 {
    amount_mg / volume_l
}

/// Amount (mg) in a volume (L) → concentration in ng/mL (= µg/L).
pub fn ng_per_ml(amount_mg: f64, volume_l: f64) -> f64 {
    1000.0 * amount_mg / volume_l
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_round_trip() {
        assert_eq!(months(12.0), DAYS_PER_YEAR);
        assert_eq!(hours(24.0), 1.0);
        assert_eq!(per_hour_to_per_day(3.0), 72.0);
        assert!((half_life_hours_to_rate_per_day(10.0) - 1.663_553_233_343_869_8).abs() < 1e-12);
        assert_eq!(giga_per_litre_to_cells_per_ul(1.0), 1000.0);
        assert_eq!(cells_per_ul_to_giga_per_litre(800.0), 0.8);
        assert_eq!(ng_per_ml(1.0, 100.0), 10.0);
    }
}
