//! SIMD lanes: a patient's result does not depend on its lane, its batch or the path. `solve_batch` runs four
//! patients per Dormand–Prince stage; every bit of every observation, step, course decision and work count must
//! be what `solve` gives the same patient alone.

use lymphosim::model::state::FullState;
use lymphosim::population::rng::PatientRng;
use lymphosim::prelude::*;
use lymphosim::simulate::{solve_batch, CellStep, CourseFate};

/// Everything a run hands its observer, as bit patterns.
#[derive(Debug, Default, PartialEq)]
struct Record {
    observations: Vec<(u64, Vec<u64>)>,
    steps: Vec<Vec<u64>>,
    decisions: Vec<(usize, u64, u8)>,
    finished: Option<RunRecord>,
}

impl Observer for Record {
    fn on_observation(&mut self, day: f64, state: &FullState) {
        self.observations
            .push((day.to_bits(), state.iter().map(|v| v.to_bits()).collect()));
    }
    fn observes_steps(&self) -> bool {
        true
    }
    fn on_step(&mut self, s: &CellStep) {
        let mut bits = vec![s.t0.to_bits(), s.t1.to_bits()];
        for part in [&s.cells0, &s.rates0, &s.cells1, &s.rates1] {
            bits.extend(part.iter().map(|v| v.to_bits()));
        }
        self.steps.push(bits);
    }
    fn on_course_started(&mut self, course: usize, _drug: Drug, day: f64) {
        self.decisions.push((course, day.to_bits(), 0));
    }
    fn on_course_delayed(&mut self, course: usize, _drug: Drug, day: f64, measured: f64) {
        self.decisions.push((course, day.to_bits() ^ measured.to_bits(), 1));
    }
    fn on_course_stopped(&mut self, course: usize, _drug: Drug, day: f64) {
        self.decisions.push((course, day.to_bits(), 2));
    }
    fn on_finish(&mut self, run: &RunRecord) {
        self.finished = Some(run.clone());
    }
}

const SEED: u64 = 20261202;

/// Patient `id` of the shipped population on the label's cladribine plan after alemtuzumab, gated by the label's
/// lymphocyte rules with lab noise (so gates delay and the patient's stream is read), over `days`.
fn problem(id: u64, days: f64) -> (Problem, PatientRng) {
    let mut rng = patient_rng(SEED, id);
    let patient = PopulationModel::shipped().sample(id, &mut rng);
    let plan = presets::build(
        "sequence",
        &PresetOptions {
            weight_kg: patient.weight_kg.max(40.0),
            ..PresetOptions::default()
        },
    )
    .unwrap();
    let regimen = LabelRules::default().apply(plan).unwrap();
    let p = Problem::new(Model::new(patient.params).unwrap(), &regimen, days)
        .unwrap()
        .with_lab_noise_cv(0.3)
        .unwrap();
    (p, rng)
}

fn alone(id: u64, days: f64) -> (Record, Result<RunRecord, String>) {
    let (p, mut rng) = problem(id, days);
    let mut rec = Record::default();
    let run = solve(&p, &SimOptions::default(), &mut rng, &mut rec).map_err(|e| e.to_string());
    (rec, run)
}

fn batch(ids: &[u64], days: f64, opts: &SimOptions) -> Vec<(Record, Result<RunRecord, String>)> {
    let (problems, mut rngs): (Vec<_>, Vec<_>) = ids.iter().map(|&id| problem(id, days)).unzip();
    let mut recs: Vec<Record> = ids.iter().map(|_| Record::default()).collect();
    let runs = solve_batch(&problems, &mut rngs, &mut recs, opts).unwrap();
    recs.into_iter()
        .zip(runs)
        .map(|(r, run)| (r, run.map_err(|e| e.to_string())))
        .collect()
}

#[test]
fn a_patient_gets_the_same_bits_alone_and_in_a_batch_of_4_or_8() {
    let days = 1500.0;
    let (ref_rec, ref_run) = alone(3, days);
    assert!(ref_rec.steps.len() > 100, "the run took steps");
    // Patient 3 first, third and last, among 1, 3 and 7 others.
    for ids in [vec![3], vec![3, 10, 11, 12], vec![10, 11, 3, 12, 13, 14, 15, 16]] {
        let out = batch(&ids, days, &SimOptions::default());
        let pos = ids.iter().position(|&i| i == 3).unwrap();
        let (rec, run) = &out[pos];
        assert_eq!(run, &ref_run, "batch {ids:?}");
        assert!(rec == &ref_rec, "batch {ids:?}: patient 3's observer saw other bits");
    }
    let out = batch(&[10, 11, 12, 13, 14, 3, 15, 16, 17], days, &SimOptions::default());
    assert!(out[5] == (ref_rec, ref_run), "patient 3 in the second batch of four");
}

#[test]
fn every_patient_of_a_batch_is_what_solve_gives_it() {
    let ids: Vec<u64> = (0..13).collect();
    let days = 3652.5;
    let out = batch(&ids, days, &SimOptions::default());
    let mut delayed = 0;
    for (&id, got) in ids.iter().zip(&out) {
        let want = alone(id, days);
        assert!(got == &want, "patient {id}");
        let run = got.1.as_ref().unwrap();
        delayed += run.courses.iter().filter(|c| c.fate == CourseFate::Delayed).count();
    }
    assert!(delayed > 0, "some gate delayed a course, so the lanes were out of step");
}

#[test]
fn a_failing_patient_fails_alone_and_the_others_run_on() {
    // A step limit so tight that the alemtuzumab course cannot be crossed: every patient fails the same way,
    // alone or in a batch, at the same day.
    let opts = SimOptions {
        solver: SolverOptions {
            max_steps_per_segment: 40,
            ..SolverOptions::default()
        },
        ..SimOptions::default()
    };
    let ids = [0, 1, 2, 4, 5];
    let out = batch(&ids, 1500.0, &opts);
    for (&id, (_, run)) in ids.iter().zip(&out) {
        let (p, mut rng) = problem(id, 1500.0);
        let want = solve(&p, &opts, &mut rng, &mut Record::default()).map_err(|e| e.to_string());
        assert_eq!(run, &want, "patient {id}");
    }
    assert!(out.iter().any(|(_, r)| r.is_err()), "the limit makes some patient fail");
}

#[test]
fn other_methods_fall_back_to_one_patient_at_a_time() {
    let opts = SimOptions {
        method: Method::Tsit5,
        ..SimOptions::default()
    };
    let ids = [0, 1, 2, 3, 4];
    let out = batch(&ids, 800.0, &opts);
    for (&id, got) in ids.iter().zip(&out) {
        let (p, mut rng) = problem(id, 800.0);
        let mut rec = Record::default();
        let run = solve(&p, &opts, &mut rng, &mut rec).map_err(|e| e.to_string());
        assert!(got == &(rec, run), "patient {id}");
    }
}

#[test]
fn lists_of_different_lengths_are_refused() {
    let (p, rng) = problem(0, 100.0);
    let err = solve_batch(
        &[p.clone(), p],
        &mut [rng],
        &mut [Record::default()],
        &SimOptions::default(),
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("one stream and one observer per problem"),
        "{err}"
    );
}
