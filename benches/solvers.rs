//! Time per simulated patient: every method on each of the three study regimens (the typical patient of the
//! shipped parameter set, 10 years, daily observations stored as counts, default tolerances rtol = atol = 1e-6),
//! with exact drug propagation; on `sequence` also with the drugs in the ODE (`pk-ode`). The observer stores the
//! daily counts only (as the work-precision study does), so no method pays for outcome tracking.
//!
//! Run: `cargo bench --bench solvers`. Groups are named `solver/<regimen>`, functions `<method>/pk-<form>`.
//! Accuracy is not measured here; `lymphosim bench work-precision` puts time and error side by side.

use criterion::{criterion_group, criterion_main, Criterion};
use lymphosim::population::paramset::ParamSet;
use lymphosim::prelude::*;
use lymphosim::simulate::ObserveFn;

fn solvers(c: &mut Criterion) {
    let model = Model::new(ParamSet::shipped().typical).unwrap();
    for regimen in ["cladribine-label", "alemtuzumab-label", "sequence"] {
        let r = presets::build(regimen, &PresetOptions::default()).unwrap();
        let problem = Problem::new(model.clone(), &r, 3652.5).unwrap();
        let mut group = c.benchmark_group(format!("solver/{regimen}"));
        group.sample_size(10);
        for method in Method::ALL {
            let forms: &[PkForm] = if regimen == "sequence" {
                &[PkForm::Exact, PkForm::Ode]
            } else {
                &[PkForm::Exact]
            };
            for &pk in forms {
                let opts = SimOptions {
                    method,
                    pk,
                    ..SimOptions::default()
                };
                group.bench_function(format!("{}/pk-{pk}", method.name()), |b| {
                    b.iter(|| {
                        let mut counts: Vec<[f64; 5]> = Vec::with_capacity(3654);
                        let mut store = ObserveFn(|_, y: &_| {
                            let o = model.observe(y);
                            counts.push([o.alc, o.cd4, o.cd8, o.cd19, o.nk]);
                        });
                        solve(&problem, &opts, &mut patient_rng(0, 0), &mut store).unwrap();
                        counts
                    })
                });
            }
        }
        group.finish();
    }
}

criterion_group!(benches, solvers);
criterion_main!(benches);
