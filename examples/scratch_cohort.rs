use lymphosim::cohort::{outcome::*, summary::*, *};
use lymphosim::population::PopulationModel;
use lymphosim::prelude::*;
use lymphosim::regimen::LabelRules;
fn main() {
    let arms = vec![
        Arm {
            name: "clarity".into(),
            regimen: ArmRegimen::Preset {
                name: "clarity-3.5".into(),
                interval_months: 12.0,
            },
            label_rules: Some(LabelRules::default()),
        },
        Arm {
            name: "seq6".into(),
            regimen: ArmRegimen::Preset {
                name: "sequence".into(),
                interval_months: 6.0,
            },
            label_rules: Some(LabelRules::default()),
        },
        Arm {
            name: "alem".into(),
            regimen: ArmRegimen::Preset {
                name: "alemtuzumab-label".into(),
                interval_months: 12.0,
            },
            label_rules: None,
        },
    ];
    let spec = CohortSpec {
        arms,
        population: PopulationModel::reference_v1(),
        patients: 2000,
        seed: 1,
        horizon_days: 3653.0,
        band_step_days: 7.0,
        outcomes: OutcomeConfig {
            reference: Reference::Start,
            ..Default::default()
        },
        sim: SimOptions::default(),
        noise_cv: 0.0,
    };
    let t = std::time::Instant::now();
    let r = run_cohort(&spec, Shard::ALL, false, &|_| {});
    println!("elapsed {:?}", t.elapsed());
    let names: Vec<String> = spec.outcomes.recoveries.iter().map(|r| r.label()).collect();
    for a in &r.arms {
        let s = ArmSummary::from_accumulator(a, &names);
        println!(
            "{}: n {} failed {} excl {} worst {:?} pG3 {:.3} pG4 {:.3} delayed {:.3} stopped {:.3} nadirALC {:?}",
            s.name,
            s.patients,
            s.failed,
            s.excluded,
            s.worst_grade_fractions,
            s.p_grade_ge3.value,
            s.p_grade4.value,
            s.p_delayed.value,
            s.p_stopped.value,
            s.nadir[0].1.p50
        );
        // A15/A16 style: fraction below LLN at day 183 / 365 (band index)
        for day in [45.0, 63.0, 182.0, 364.0] {
            let k = a.band_days.iter().position(|d| *d == day);
            if let Some(k) = k {
                let g = a.grades[k];
                let n: u64 = g.iter().sum();
                println!(
                    "   day {day}: grades {:?}",
                    g.map(|x| (x as f64 / n as f64 * 1000.0).round() / 1000.0)
                );
            }
        }
    }
    for f in r.failures.iter().take(3) {
        println!("FAIL {} {} {}", f.arm, f.id, f.error);
    }
}
