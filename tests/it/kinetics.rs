//! The typical patient under the CLARITY schedule against published cohort medians.
//!
//! v1's first-guess parameters miss some targets; those are listed in `KNOWN_MISSES` with the reason, and the
//! same table is in `docs/targets.md`. The test fails if a listed miss starts passing (update the list and the
//! docs) or if any other target stops passing.

use lymphosim::calibration::{targets, typical, EMBEDDED_TARGETS};
use lymphosim::prelude::*;

const CHECKED: [&str; 11] = ["C2", "C3", "C5", "C6", "C8", "C9", "C13", "C14", "C15", "C16", "C17"];

/// Targets the v1 first guesses miss, with the reason (left to calibration).
const KNOWN_MISSES: [(&str, &str); 4] = [
    (
        "C5",
        "CD4 year-1 nadir too shallow (cladribine T-cell kill rates are first guesses)",
    ),
    ("C6", "CD4 year-2 nadir too shallow, for the same reason"),
    (
        "C15",
        "CD19 nadir about a week early (damage delay kD is a first guess)",
    ),
    ("C17", "CD8 nadir at week 13, before the published week 16-24 window"),
];

#[test]
fn clarity_kinetics_against_published_medians() {
    let ts = targets::parse(EMBEDDED_TARGETS).unwrap();
    let rows = typical::compare(&ts, &ModelParams::reference_v1(), &SimOptions::default()).unwrap();
    for id in CHECKED {
        let r = rows
            .iter()
            .find(|r| r.target.id == id)
            .unwrap_or_else(|| panic!("target {id} missing"));
        let within = r.within.unwrap_or_else(|| panic!("{id} was not evaluated: {}", r.note));
        let known = KNOWN_MISSES.iter().find(|(k, _)| *k == id);
        match (within, known) {
            (true, None) | (false, Some(_)) => {}
            (false, None) => panic!(
                "{id} ({}) now misses: model {:?} vs {} {}",
                r.target.statistic, r.model, r.target.value, r.target.tolerance
            ),
            (true, Some((_, why))) => {
                panic!("{id} now passes (was a known miss: {why}); update KNOWN_MISSES and docs/targets.md")
            }
        }
    }
}
