//! Patients per second for a 10 000-patient `sequence` cohort over ten years with every outcome (label rules,
//! monthly visits, nadirs, grades, recoveries, weekly bands), on 1 and 2 threads; built in code with the
//! library's cohort builder.
//!
//! Run: `cargo bench --bench cohort`. Criterion reports time per cohort and, as throughput, patients per second.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use lymphosim::cohort::ArmRegimen;
use lymphosim::prelude::*;

const PATIENTS: u64 = 10_000;

fn study(threads: usize) -> Cohort {
    Cohort::new(PopulationModel::shipped())
        .arm(
            "sequence",
            ArmRegimen::Preset {
                name: "sequence".into(),
                interval_months: 12.0,
            },
        )
        .label_rules(LabelRules::default())
        .patients(PATIENTS)
        .seed(20261124)
        .horizon_years(10.0)
        .band_step_days(7.0)
        .threads(threads)
}

fn cohort(c: &mut Criterion) {
    let mut group = c.benchmark_group("cohort/sequence-10y");
    group.sample_size(10);
    group.throughput(Throughput::Elements(PATIENTS));
    for threads in [1usize, 2] {
        let s = study(threads);
        group.bench_function(format!("{PATIENTS}-patients/threads-{threads}"), |b| {
            b.iter(|| s.run().expect("the bench study is valid"))
        });
    }
    group.finish();
}

criterion_group!(benches, cohort);
criterion_main!(benches);
