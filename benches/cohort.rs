//! Patients per second for a 10 000-patient `sequence` cohort over ten years with every outcome (label rules,
//! monthly visits, nadirs, grades, recoveries, weekly bands), on 1 and 2 threads.
//!
//! Run: `cargo bench --bench cohort`. Criterion reports time per cohort and, as throughput, patients per second.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use lymphosim::cohort::{run_cohort, Shard};
use lymphosim::scenario;

const PATIENTS: u64 = 10_000;

fn scenario_text() -> String {
    format!(
        r#"
name = "bench-sequence"
patients = {PATIENTS}
seed = 20261124
horizon_years = 10
band_step_days = 7

[rules]
label = true

[[arms]]
name = "sequence"
preset = "sequence"
interval_months = 12
"#
    )
}

fn cohort(c: &mut Criterion) {
    let sc = scenario::parse(&scenario_text()).expect("the bench scenario is valid");
    let mut group = c.benchmark_group("cohort/sequence-10y");
    group.sample_size(10);
    group.throughput(Throughput::Elements(PATIENTS));
    for threads in [1usize, 2] {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        group.bench_function(format!("{PATIENTS}-patients/threads-{threads}"), |b| {
            b.iter(|| pool.install(|| run_cohort(&sc.spec, Shard::ALL, false, &|_| {})))
        });
    }
    group.finish();
}

criterion_group!(benches, cohort);
criterion_main!(benches);
