//! Invariants: states stay non-negative; more cladribine never gives a higher ALC nadir.

use lymphosim::model::state::{drug, full_names};
use lymphosim::prelude::*;
use lymphosim::regimen::presets::trial_cycles;

use super::support::{opts, preset, run, TEN_YEARS};

/// With exact drug propagation no state is ever negative, for every method. With the full 16-state ODE the
/// cell states stay non-negative too, but explicit methods integrating drug amounts that decay at up to
/// 72 /day undershoot zero by an amount proportional to the absolute tolerance (measured: 1.6 atol for
/// Dopri5, up to 12 atol for Dop853, none for RK4 at its small fixed step); the check is that it stays within
/// 20 atol at two tolerances three decades apart, i.e. that it is tolerance-controlled noise, not instability.
#[test]
fn no_state_is_ever_negative() {
    for name in presets::NAMES {
        for method in Method::ALL {
            for (pk, atol) in [(PkForm::Exact, 1e-6), (PkForm::Ode, 1e-6), (PkForm::Ode, 1e-9)] {
                let t = run(&preset(name), TEN_YEARS, &opts(method, atol, pk));
                for (d, y) in t.days.iter().zip(&t.states) {
                    for (i, (v, n)) in y.iter().zip(full_names()).enumerate() {
                        let bound = if pk == PkForm::Ode && i < drug::COUNT {
                            -20.0 * atol
                        } else {
                            0.0
                        };
                        assert!(*v >= bound, "{name} {method} {pk} atol {atol:e}: {n} = {v} on day {d}");
                    }
                }
            }
        }
    }
}

fn alc_nadir(r: &Regimen) -> f64 {
    let t = run(r, 2.0 * 365.25, &SimOptions::default());
    let m = Model::reference_v1();
    t.observables(&m).iter().map(|o| o.alc).fold(f64::INFINITY, f64::min)
}

#[test]
fn more_cladribine_never_gives_a_higher_alc_nadir() {
    let doses = [0.25, 0.5, 0.875, 1.25, 1.75, 2.5];
    let nadirs: Vec<f64> = doses
        .iter()
        .map(|&mg_kg| alc_nadir(&trial_cycles("t", &[0.0, 28.0, 329.0, 357.0], mg_kg, 5, 70.0).unwrap()))
        .collect();
    for (w, d) in nadirs.windows(2).zip(doses.windows(2)) {
        assert!(
            w[1] < w[0],
            "nadir rose from {} to {} when the cycle dose rose from {} to {} mg/kg",
            w[0],
            w[1],
            d[0],
            d[1]
        );
    }
    // Across the label's weight bands the mg/kg dose is roughly constant, but heavier bands still get more mg.
    let by_weight: Vec<f64> = [45.0, 75.0, 130.0]
        .iter()
        .map(|&w| presets::cladribine_label(w).unwrap().total_mg(Drug::Cladribine))
        .collect();
    assert!(by_weight.windows(2).all(|w| w[1] > w[0]));
}
