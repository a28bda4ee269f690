//! Model v3's mechanisms, each against what it is for: the set point decides where T cells end after a
//! depletion (above baseline for s > 1, below for s < 1, back at baseline for s = 1 with a shared niche); the
//! set point does not move without a lymphopenia; NK output tied to the marrow keeps NK low after cladribine.

use lymphosim::model::state::{cell, drug};
use lymphosim::prelude::*;

use super::support::preset;

/// v1's first guesses with the v3 quantities set.
fn v3(psi: f64, shift: f64, nk_coupling: f64) -> Model {
    let mut p = lymphosim::model::ModelParams::reference_v1();
    p.memory_niche_share = psi;
    p.setpoint_shift = shift;
    p.nk_marrow_coupling = nk_coupling;
    Model::new(p).unwrap()
}

fn cd4_at(model: &Model, regimen: &Regimen, day: f64) -> (f64, f64) {
    let p = Problem::new(model.clone(), regimen, day).unwrap();
    let t = simulate(&p, &SimOptions::default()).unwrap();
    let y = t.states.last().unwrap();
    (model.observe(y).cd4, y[drug::COUNT + cell::S])
}

/// Ten years after one alemtuzumab course, CD4 ends above its baseline when the set point moved up (s = 1.25)
/// and below when it moved down (s = 0.8); with s = 1 it ends within 2 % of baseline (the shared niche lets
/// memory fill the naive pool's room) — and the set point moved fully (S near 1) whenever s ≠ 1.
#[test]
fn the_set_point_decides_where_t_cells_end() {
    let alem = Regimen::default().with(
        Start::AtDay(0.0),
        Course::infusion_daily("alem", Drug::Alemtuzumab, 5, 12.0, 1.0 / 6.0),
    );
    let baseline = 851.0;
    let (up, s_up) = cd4_at(&v3(1.0, 1.25, 0.0), &alem, 3652.5);
    let (down, s_down) = cd4_at(&v3(1.0, 0.8, 0.0), &alem, 3652.5);
    let (same, s_same) = cd4_at(&v3(1.0, 1.0, 0.0), &alem, 3652.5);
    assert!(up > baseline, "s = 1.25: CD4 {up}");
    assert!(down < 0.9 * baseline, "s = 0.8: CD4 {down}");
    assert!((same / baseline - 1.0).abs() < 0.02, "s = 1: CD4 {same}");
    assert!(up > same && same > down);
    assert!(s_up > 0.95 && s_down > 0.95, "S {s_up} {s_down}");
    assert_eq!(s_same, 0.0, "with s = 1 the set point state never moves");
}

/// Untreated, a v3 patient stays exactly at baseline: the set point only moves with a lymphopenia signal.
#[test]
fn without_a_lymphopenia_the_set_point_stays() {
    let m = v3(0.7, 0.85, 0.4);
    let (cd4, s) = cd4_at(&m, &Regimen::untreated(), 3652.5);
    assert!((cd4 - 851.0).abs() < 1e-6, "{cd4}");
    assert_eq!(s, 0.0);
}

/// Half a year after the label's first cladribine course, NK cells are lower when part of their output comes
/// from the marrow precursors cladribine depletes.
#[test]
fn nk_output_from_the_marrow_keeps_nk_low_after_cladribine() {
    let r = preset("cladribine-label");
    let nk_at = |m: &Model| {
        let p = Problem::new(m.clone(), &r, 183.0).unwrap();
        let t = simulate(&p, &SimOptions::default()).unwrap();
        m.observe(t.states.last().unwrap()).nk
    };
    let (free, tied) = (nk_at(&v3(0.0, 1.0, 0.0)), nk_at(&v3(0.0, 1.0, 0.6)));
    assert!(tied < free - 5.0, "NK {tied} with cNK 0.6 vs {free} without");
}
