//! Dose events as a NONMEM-style CSV, for checking the dosing in mrgsolve, rxode2 or NONMEM.
//!
//! Columns: `ID,TIME,EVID,AMT,CMT,RATE`
//!
//! | column | meaning |
//! |---|---|
//! | `ID` | patient id (1 for a single patient) |
//! | `TIME` | dose time in **days** from the start of the simulation |
//! | `EVID` | 1 = dose (rows with `EVID` 0, observations, are skipped on reading) |
//! | `AMT` | nominal amount in mg (bioavailability is a model parameter, not applied here) |
//! | `CMT` | 1 = alemtuzumab central compartment (`AA`), 2 = cladribine gut (`G`) |
//! | `RATE` | infusion rate in mg/day (so `AMT/RATE` is the duration in days); 0 for an oral bolus |
//!
//! Reading gives back a [`Regimen`] with one single-dose course per row, placed at its absolute time.

use super::{Administration, Course, Dose, Drug, Regimen, RegimenError, Route, Start};

/// The header line.
pub const HEADER: &str = "ID,TIME,EVID,AMT,CMT,RATE";
/// Compartment number of the alemtuzumab central compartment.
pub const CMT_ALEMTUZUMAB: u32 = 1;
/// Compartment number of the cladribine gut compartment.
pub const CMT_CLADRIBINE_GUT: u32 = 2;

/// Writes administrations as an event table (with header and trailing newline).
pub fn write(admins: &[Administration]) -> String {
    let mut s = String::from(HEADER);
    s.push('\n');
    for a in admins {
        let (cmt, rate) = match (a.drug, a.route) {
            (Drug::Alemtuzumab, Route::Infusion { duration_days }) => (CMT_ALEMTUZUMAB, a.amount_mg / duration_days),
            (_, Route::Oral) => (CMT_CLADRIBINE_GUT, 0.0),
            (Drug::Cladribine, Route::Infusion { duration_days }) => (CMT_CLADRIBINE_GUT, a.amount_mg / duration_days),
        };
        s.push_str(&format!("1,{},1,{},{},{}\n", a.day, a.amount_mg, cmt, rate));
    }
    s
}

fn field(line: usize, name: &str, raw: &str) -> Result<f64, RegimenError> {
    let v: f64 = raw.trim().parse().map_err(|_| RegimenError::EventTable {
        line,
        message: format!("{name}: not a number: {raw:?}"),
    })?;
    if !v.is_finite() {
        return Err(RegimenError::EventTable {
            line,
            message: format!("{name}: must be finite, got {v}"),
        });
    }
    Ok(v)
}

/// Reads an event table (one patient) back into a regimen.
pub fn read(text: &str) -> Result<Regimen, RegimenError> {
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'));
    let (hline, header) = lines.next().ok_or(RegimenError::EventTable {
        line: 1,
        message: "empty file".into(),
    })?;
    let cols: Vec<String> = header.split(',').map(|c| c.trim().to_ascii_uppercase()).collect();
    let find = |name: &str| {
        cols.iter().position(|c| c == name).ok_or(RegimenError::EventTable {
            line: hline + 1,
            message: format!("missing column {name} (expected header {HEADER})"),
        })
    };
    let (i_id, i_time, i_evid, i_amt, i_cmt, i_rate) = (
        find("ID")?,
        find("TIME")?,
        find("EVID")?,
        find("AMT")?,
        find("CMT")?,
        find("RATE")?,
    );

    let mut regimen = Regimen {
        name: "event table".into(),
        courses: Vec::new(),
    };
    let mut first_id: Option<String> = None;
    for (i, l) in lines {
        let line = i + 1;
        let cells: Vec<&str> = l.split(',').collect();
        if cells.len() != cols.len() {
            return Err(RegimenError::EventTable {
                line,
                message: format!("expected {} columns, found {}", cols.len(), cells.len()),
            });
        }
        let id = cells[i_id].trim().to_string();
        match &first_id {
            None => first_id = Some(id),
            Some(f) if *f != id => {
                return Err(RegimenError::EventTable {
                    line,
                    message: format!("ID {id} differs from {f}: pass one patient's rows"),
                })
            }
            _ => {}
        }
        let evid = field(line, "EVID", cells[i_evid])?;
        if evid == 0.0 {
            continue;
        }
        if evid != 1.0 {
            return Err(RegimenError::EventTable {
                line,
                message: format!("EVID: only 1 (dose) and 0 (observation) are supported, got {evid}"),
            });
        }
        let time = field(line, "TIME", cells[i_time])?;
        let amt = field(line, "AMT", cells[i_amt])?;
        let rate = field(line, "RATE", cells[i_rate])?;
        let cmt = field(line, "CMT", cells[i_cmt])?;
        if time < 0.0 {
            return Err(RegimenError::EventTable {
                line,
                message: format!("TIME: must be >= 0 days, got {time}"),
            });
        }
        if amt <= 0.0 {
            return Err(RegimenError::EventTable {
                line,
                message: format!("AMT: must be > 0 mg, got {amt}"),
            });
        }
        let (drug, route) = match (cmt as u32, cmt.fract() == 0.0) {
            (CMT_ALEMTUZUMAB, true) if rate > 0.0 => (
                Drug::Alemtuzumab,
                Route::Infusion {
                    duration_days: amt / rate,
                },
            ),
            (CMT_ALEMTUZUMAB, true) => {
                return Err(RegimenError::EventTable {
                    line,
                    message: format!("RATE: alemtuzumab (CMT 1) is infused, RATE must be > 0 mg/day, got {rate}"),
                })
            }
            (CMT_CLADRIBINE_GUT, true) if rate == 0.0 => (Drug::Cladribine, Route::Oral),
            (CMT_CLADRIBINE_GUT, true) => {
                return Err(RegimenError::EventTable {
                    line,
                    message: format!("RATE: cladribine tablets (CMT 2) are a bolus, RATE must be 0, got {rate}"),
                })
            }
            _ => {
                return Err(RegimenError::EventTable {
                    line,
                    message: format!("CMT: must be 1 (alemtuzumab) or 2 (cladribine gut), got {cmt}"),
                })
            }
        };
        regimen.push(
            Start::AtDay(time),
            Course {
                name: format!("event table line {line}"),
                drug,
                doses: vec![Dose {
                    offset_days: 0.0,
                    amount_mg: amt,
                    route,
                }],
            },
        );
    }
    Ok(regimen)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::regimen::presets::{build, PresetOptions, NAMES};

    #[test]
    fn presets_round_trip() {
        for name in NAMES {
            let r = build(name, &PresetOptions::default()).unwrap();
            let a = r.administrations().unwrap();
            let back = read(&write(&a)).unwrap().administrations().unwrap();
            assert_eq!(a.len(), back.len(), "{name}");
            for (x, y) in a.iter().zip(&back) {
                assert_eq!((x.day, x.drug, x.amount_mg), (y.day, y.drug, y.amount_mg), "{name}");
                if let (Route::Infusion { duration_days: d1 }, Route::Infusion { duration_days: d2 }) =
                    (x.route, y.route)
                {
                    assert!((d1 - d2).abs() < 1e-12);
                }
            }
        }
    }

    #[test]
    fn malformed_rows_name_line_and_column() {
        let cases = [
            ("ID,TIME,EVID,AMT,CMT\n1,0,1,10,2\n", "RATE"),
            ("ID,TIME,EVID,AMT,CMT,RATE\n1,x,1,10,2,0\n", "line 2: TIME"),
            ("ID,TIME,EVID,AMT,CMT,RATE\n1,0,1,-5,2,0\n", "AMT"),
            ("ID,TIME,EVID,AMT,CMT,RATE\n1,0,1,12,1,0\n", "RATE"),
            ("ID,TIME,EVID,AMT,CMT,RATE\n1,0,1,10,3,0\n", "CMT"),
            ("ID,TIME,EVID,AMT,CMT,RATE\n1,0,1,10,2,0\n2,1,1,10,2,0\n", "line 3: ID"),
            ("ID,TIME,EVID,AMT,CMT,RATE\n1,0,1,10,2\n", "columns"),
            ("ID,TIME,EVID,AMT,CMT,RATE\n1,NaN,1,10,2,0\n", "TIME"),
        ];
        for (text, expect) in cases {
            let e = read(text).unwrap_err().to_string();
            assert!(e.contains(expect), "{text:?} -> {e}");
        }
    }
}
