//! An untreated patient stays at baseline.

use lymphosim::model::state::{drug, FULL};
use lymphosim::prelude::*;

use super::support::{opts, run, TEN_YEARS};

#[test]
fn untreated_patient_stays_at_baseline_for_ten_years() {
    let m = Model::reference_v1();
    let y0 = m.initial_state();
    for method in Method::ALL {
        for pk in [PkForm::Exact, PkForm::Ode] {
            let t = run(&Regimen::untreated(), TEN_YEARS, &opts(method, 1e-6, pk));
            assert_eq!(t.days.len(), 3653);
            for y in &t.states {
                for i in 0..FULL {
                    if i < drug::COUNT {
                        assert_eq!(y[i], 0.0, "{method} {pk}: drug state {i} moved");
                    } else {
                        let drift = (y[i] - y0[i]).abs() / y0[i].abs().max(1.0);
                        assert!(drift < 1e-9, "{method} {pk}: state {i} drifted by {drift:e}");
                    }
                }
            }
        }
    }
}
