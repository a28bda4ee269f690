//! A patient's history: lab observations, and (in the NONMEM-style form) the doses given.
//!
//! Two forms are read, told apart by their header:
//!
//! - **Plain** — header `day,count,value,unit`: `day` in days from the first dose (negative for labs taken before
//!   it), `count` one of ALC, CD4, CD8, CD19, NK, `value` a number > 0 or `<L` for a result below the detection
//!   limit `L`, `unit` `cells/uL` (or `cells/µL`) or `10^9/L`. The doses come from elsewhere (a preset). With the
//!   header `date,count,value,unit` the first column is a calendar date `YYYY-MM-DD` instead, and the first dose's
//!   date must be given ([`read_history`]'s `first_dose_date`); days are counted from it.
//! - **NONMEM-style** — the columns `lymphosim events` writes (`ID,TIME,EVID,AMT,CMT,RATE`, `TIME` in days) plus
//!   `DV`, `COUNT` and `UNIT`, and optionally `BLQ`: `EVID = 1` rows are the doses, `EVID = 0` rows the labs
//!   (`DV` the value, or with `BLQ = 1` the detection limit). Dose rows may leave `DV`, `COUNT`, `UNIT` as `.`.
//!
//! Every row states its unit, so units are never mixed silently; values are converted once, here, to cells/µL.
//! A lab before the first dose is a baseline count: the model is at its pre-treatment steady state until the
//! first dose, so such a lab is compared with the patient's baseline. A bad row is an error naming its line
//! and column.

use crate::model::Count;
use crate::regimen::{event_table, Regimen};

/// A lab history that cannot be used, naming the line (1-based, the header is line 1) and the column.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("lab history line {line}, column {column}: {message}")]
pub struct HistoryError {
    /// Line in the file (1-based; 0 for the file as a whole).
    pub line: usize,
    /// Column name.
    pub column: &'static str,
    /// What is wrong, with the value.
    pub message: String,
}

/// One measured count.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LabObservation {
    /// Days from the start of the history (the first dose in the plain form); negative before it.
    pub day: f64,
    /// What was counted.
    pub count: Count,
    /// The measured value (cells/µL), or the detection limit when `below_detection`.
    pub cells_per_ul: f64,
    /// The count was below the assay's detection limit `cells_per_ul` (a censored value: the likelihood is the
    /// probability of a measurement below the limit).
    pub below_detection: bool,
}

/// Largest |day| a history may hold (days): 100 years.
pub const MAX_DAY: f64 = 36525.0;

/// A patient's history as read from a file.
#[derive(Debug, Clone)]
pub struct History {
    /// The labs, sorted by day.
    pub labs: Vec<LabObservation>,
    /// The doses given, when the file holds them (NONMEM-style form with `EVID = 1` rows).
    pub regimen: Option<Regimen>,
}

fn err(line: usize, column: &'static str, message: String) -> HistoryError {
    HistoryError { line, column, message }
}

/// Reads a history in either form (see the module documentation). `first_dose_date` (`YYYY-MM-DD`) is needed
/// only by a plain history with dates.
pub fn read_history(text: &str, first_dose_date: Option<&str>) -> Result<History, HistoryError> {
    let header = text
        .lines()
        .find(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .unwrap_or("");
    let cols: Vec<String> = header.split(',').map(|h| h.trim().to_ascii_uppercase()).collect();
    if cols.iter().any(|c| c == "EVID") {
        return parse_nonmem(text);
    }
    let origin = match first_dose_date {
        Some(d) => Some(
            parse_date(d).ok_or_else(|| err(0, "first dose date", format!("must be a date YYYY-MM-DD, got {d:?}")))?,
        ),
        None => None,
    };
    Ok(History {
        labs: parse_plain(text, origin)?,
        regimen: None,
    })
}

/// Days since 1970-01-01 of a proleptic Gregorian date `YYYY-MM-DD` (years 1900 to 2200); `None` if it is not
/// one. (The civil-from-days arithmetic of H. Hinnant's "chrono-compatible low-level date algorithms".)
pub fn parse_date(s: &str) -> Option<i64> {
    let mut parts = s.trim().split('-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let (y, m, d): (i64, i64, i64) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let month_days = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    if !(1900..=2200).contains(&y) || !(1..=12).contains(&m) || d < 1 || d > month_days[(m - 1) as usize] {
        return None;
    }
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

/// The unit factor to cells/µL.
fn per_unit(line: usize, raw: &str) -> Result<f64, HistoryError> {
    match raw {
        "cells/uL" | "cells/µL" => Ok(1.0),
        "10^9/L" | "x10^9/L" => Ok(1000.0),
        other => Err(err(
            line,
            "unit",
            format!("must be cells/uL or 10^9/L (stated on every row), got {other:?}"),
        )),
    }
}

/// Checks and converts one lab.
fn observation(
    line: usize,
    day: f64,
    count: &str,
    value: f64,
    unit: &str,
    below_detection: bool,
) -> Result<LabObservation, HistoryError> {
    if !(day.is_finite() && (-MAX_DAY..=MAX_DAY).contains(&day)) {
        return Err(err(
            line,
            "day",
            format!("must be between -{MAX_DAY} and {MAX_DAY} days, got {day}"),
        ));
    }
    let count = Count::parse(count).ok_or_else(|| {
        err(
            line,
            "count",
            format!("must be ALC, CD4, CD8, CD19 or NK, got {count:?}"),
        )
    })?;
    let cells_per_ul = value * per_unit(line, unit)?;
    if !(cells_per_ul.is_finite() && cells_per_ul > 0.0 && cells_per_ul <= crate::model::MAX_CELLS_PER_UL) {
        return Err(err(
            line,
            "value",
            format!("must be a count > 0 and at most 20000 cells/uL, got {value} {unit}"),
        ));
    }
    Ok(LabObservation {
        day,
        count,
        cells_per_ul,
        below_detection,
    })
}

/// Parses a plain lab history with days (`day,count,value,unit`); observations come back sorted by day. A header
/// alone is a history with no labs. (A history with dates goes through [`read_history`].)
pub fn parse_history(text: &str) -> Result<Vec<LabObservation>, HistoryError> {
    parse_plain(text, None)
}

/// A plain history; `origin` (days since 1970-01-01 of the first dose) allows the `date` form.
fn parse_plain(text: &str, origin: Option<i64>) -> Result<Vec<LabObservation>, HistoryError> {
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'));
    let (h, header) = lines.next().ok_or_else(|| {
        err(
            0,
            "header",
            "the file is empty; expected a header day,count,value,unit".into(),
        )
    })?;
    let names: Vec<String> = header.split(',').map(|h| h.trim().to_ascii_lowercase()).collect();
    let dated = names == ["date", "count", "value", "unit"];
    if !dated && names != ["day", "count", "value", "unit"] {
        return Err(err(
            h + 1,
            "header",
            format!("must be day,count,value,unit or date,count,value,unit (or a NONMEM-style header with EVID), got {header:?}"),
        ));
    }
    if dated && origin.is_none() {
        return Err(err(
            h + 1,
            "date",
            "a history with dates needs the first dose's date (YYYY-MM-DD) to count days from".into(),
        ));
    }
    let mut out = Vec::new();
    for (i, line) in lines {
        let n = i + 1;
        let cells: Vec<&str> = line.split(',').map(str::trim).collect();
        if cells.len() != 4 {
            return Err(err(n, "row", format!("must have 4 fields, got {}", cells.len())));
        }
        let day: f64 = match origin.filter(|_| dated) {
            Some(o) => parse_date(cells[0])
                .map(|d| (d - o) as f64)
                .ok_or_else(|| err(n, "date", format!("must be a date YYYY-MM-DD, got {:?}", cells[0])))?,
            None => cells[0]
                .parse()
                .map_err(|_| err(n, "day", format!("must be a number of days, got {:?}", cells[0])))?,
        };
        let (raw, below) = match cells[2].strip_prefix('<') {
            Some(limit) => (limit.trim(), true),
            None => (cells[2], false),
        };
        let value: f64 = raw
            .parse()
            .map_err(|_| err(n, "value", format!("must be a number or <limit, got {:?}", cells[2])))?;
        out.push(observation(n, day, cells[1], value, cells[3], below)?);
    }
    out.sort_by(|a, b| a.day.total_cmp(&b.day));
    Ok(out)
}

/// Parses a NONMEM-style history: doses from the `EVID = 1` rows (as [`event_table::read`] reads them), labs
/// from the `EVID = 0` rows.
pub fn parse_nonmem(text: &str) -> Result<History, HistoryError> {
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'));
    let (h, header) = lines
        .next()
        .ok_or_else(|| err(0, "header", "the file is empty".into()))?;
    let cols: Vec<String> = header.split(',').map(|c| c.trim().to_ascii_uppercase()).collect();
    let find = |name: &'static str| {
        cols.iter().position(|c| c == name).ok_or_else(|| {
            err(
                h + 1,
                "header",
                format!("a NONMEM-style history needs a {name} column; got {header:?}"),
            )
        })
    };
    let (i_time, i_evid, i_dv, i_count, i_unit) =
        (find("TIME")?, find("EVID")?, find("DV")?, find("COUNT")?, find("UNIT")?);
    let i_blq = cols.iter().position(|c| c == "BLQ");
    let mut labs = Vec::new();
    let mut doses = false;
    for (i, line) in lines {
        let n = i + 1;
        let cells: Vec<&str> = line.split(',').map(str::trim).collect();
        if cells.len() != cols.len() {
            return Err(err(
                n,
                "row",
                format!("must have {} fields, got {}", cols.len(), cells.len()),
            ));
        }
        match cells[i_evid] {
            "1" => {
                doses = true;
                continue;
            }
            "0" => {}
            other => return Err(err(n, "EVID", format!("must be 1 (dose) or 0 (lab), got {other:?}"))),
        }
        let day: f64 = cells[i_time]
            .parse()
            .map_err(|_| err(n, "TIME", format!("must be a number of days, got {:?}", cells[i_time])))?;
        let value: f64 = cells[i_dv]
            .parse()
            .map_err(|_| err(n, "DV", format!("must be a number, got {:?}", cells[i_dv])))?;
        let below = match i_blq.map(|k| cells[k]) {
            None | Some("0") | Some(".") | Some("") => false,
            Some("1") => true,
            Some(other) => return Err(err(n, "BLQ", format!("must be 0 or 1, got {other:?}"))),
        };
        labs.push(observation(n, day, cells[i_count], value, cells[i_unit], below)?);
    }
    let regimen = if doses {
        Some(event_table::read(text).map_err(|e| err(0, "dose rows", e.to_string()))?)
    } else {
        None
    };
    labs.sort_by(|a, b| a.day.total_cmp(&b.day));
    Ok(History { labs, regimen })
}
