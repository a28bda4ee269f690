//! Time per simulated patient: every method × drug representation on the typical `sequence` patient,
//! 10 years, daily observations, default tolerances (rtol = atol = 1e-6).
//!
//! Run: `cargo bench --bench solvers`. Groups are named `solver/<method>`.

use criterion::{criterion_group, criterion_main, Criterion};
use lymphosim::prelude::*;

fn solvers(c: &mut Criterion) {
    let regimen = presets::build("sequence", &PresetOptions::default()).unwrap();
    let problem = Problem::new(Model::reference_v1(), &regimen, 3652.5).unwrap();
    for method in Method::ALL {
        let mut group = c.benchmark_group(format!("solver/{}", method.name()));
        group.sample_size(10);
        for pk in [PkForm::Exact, PkForm::Ode] {
            let opts = SimOptions {
                method,
                pk,
                ..SimOptions::default()
            };
            group.bench_function(format!("sequence-10y/pk-{pk}"), |b| {
                b.iter(|| simulate(&problem, &opts).unwrap())
            });
        }
        group.finish();
    }
}

criterion_group!(benches, solvers);
criterion_main!(benches);
