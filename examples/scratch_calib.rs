use lymphosim::cohort::{outcome::*, summary::*, *};
use lymphosim::population::*;
use lymphosim::prelude::*;
use lymphosim::regimen::LabelRules;
fn main() {
    for (cv, cvb) in [(0.4, 0.4), (0.8, 0.4), (1.0, 0.4), (1.2, 0.4), (1.0, 0.8), (1.4, 0.4)] {
        let v = Variability {
            clad_sensitivity_cv: cv,
            clad_b_sensitivity_cv: cvb,
            ..Default::default()
        };
        let pop = PopulationModel::new(ModelParams::reference_v1(), Covariates::default(), v).unwrap();
        let arms = vec![Arm {
            name: "clarity".into(),
            regimen: ArmRegimen::Preset {
                name: "clarity-3.5".into(),
                interval_months: 12.0,
            },
            label_rules: Some(LabelRules::default()),
        }];
        let spec = CohortSpec {
            arms,
            population: pop,
            patients: 2000,
            seed: 1,
            horizon_days: 730.0,
            band_step_days: 1.0,
            outcomes: OutcomeConfig {
                reference: Reference::Start,
                ..Default::default()
            },
            sim: SimOptions::default(),
            noise_cv: 0.0,
        };
        let r = run_cohort(&spec, Shard::ALL, false, &|_| {});
        let a = &r.arms[0];
        let s = ArmSummary::from_accumulator(a, &["a".into(), "b".into(), "c".into()]);
        let g = a.grades[45];
        let n: u64 = g.iter().sum();
        println!(
            "cv {cv} cvb {cvb}: pG3 {:.3} pG4 {:.3} day45 {:?} medianALCnadir {:?}",
            s.p_grade_ge3.value,
            s.p_grade4.value,
            g.map(|x| (x as f64 / n as f64 * 1000.0).round() / 1000.0),
            s.nadir[0].1.p50
        );
    }
}
