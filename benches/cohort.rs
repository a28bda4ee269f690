//! Patients per second for a 10 000-patient `sequence` cohort over ten years with every outcome (label rules,
//! monthly visits, nadirs, grades, recoveries, weekly bands), on 1 and 2 threads; built in code with the
//! library's cohort builder.
//!
//! The `lanes` group isolates the integration: 64 patients of the same population and regimen, each with its
//! outcome tracker, solved one by one with `solve` and four at a time in SIMD lanes with `solve_batch` (the
//! same bits either way).
//!
//! Run: `cargo bench --bench cohort`. Criterion reports time per cohort and, as throughput, patients per second.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use lymphosim::cohort::ArmRegimen;
use lymphosim::population::rng::PatientRng;
use lymphosim::prelude::*;
use lymphosim::simulate::solve_batch;

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

const LANE_PATIENTS: u64 = 64;

/// Patients 0..64 of the bench study on the `sequence` preset under the label's rules (ten years, the cohort's
/// weekly observation days), with their streams.
fn lane_problems() -> (Vec<Problem>, Vec<PatientRng>) {
    let pop = PopulationModel::shipped();
    let days: Vec<f64> = (0..=521).map(|w| w as f64 * 7.0).collect();
    (0..LANE_PATIENTS)
        .map(|id| {
            let mut rng = patient_rng(20261124, id);
            let patient = pop.sample(id, &mut rng);
            let plan = presets::build(
                "sequence",
                &PresetOptions {
                    weight_kg: patient.weight_kg.max(40.0),
                    ..PresetOptions::default()
                },
            )
            .expect("a valid preset");
            let regimen = LabelRules::default().apply(plan).expect("label rules apply");
            let model = Model::new(patient.params).expect("a valid patient");
            let problem = Problem::new(model, &regimen, 3652.5)
                .and_then(|p| p.with_observation_days(days.clone()))
                .expect("a valid problem");
            (problem, rng)
        })
        .unzip()
}

fn lanes(c: &mut Criterion) {
    let (problems, rngs) = lane_problems();
    let cfg = OutcomeConfig::default();
    let trackers = || -> Vec<OutcomeTracker> {
        problems
            .iter()
            .map(|p| OutcomeTracker::new(p.model(), &cfg, p.regimen()))
            .collect()
    };
    let opts = SimOptions::default();
    let mut group = c.benchmark_group("lanes/sequence-10y");
    group.sample_size(20);
    group.throughput(Throughput::Elements(LANE_PATIENTS));
    group.bench_function("solve-one-by-one", |b| {
        b.iter(|| {
            let mut rngs = rngs.clone();
            let mut trackers = trackers();
            for ((p, r), t) in problems.iter().zip(&mut rngs).zip(&mut trackers) {
                solve(p, &opts, r, t).expect("the bench patients solve");
            }
            trackers
        })
    });
    group.bench_function("solve-batch-4-lanes", |b| {
        b.iter(|| {
            let mut rngs = rngs.clone();
            let mut trackers = trackers();
            solve_batch(&problems, &mut rngs, &mut trackers, &opts).expect("one stream and tracker per problem");
            trackers
        })
    });
    group.finish();
}

criterion_group!(benches, cohort, lanes);
criterion_main!(benches);
