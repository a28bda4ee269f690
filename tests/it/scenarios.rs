//! Scenario files: every malformed input gets an error naming its field; arbitrary TOML never panics.

use lymphosim::scenario::{parse, PRESETS};
use rand::{RngExt, SeedableRng};

const BASE: &str = r#"
name = "t"
patients = 10
[[arms]]
name = "a"
preset = "sequence"
"#;

fn with(extra_top: &str, arm_extra: &str) -> String {
    format!("name = \"t\"\npatients = 10\n{extra_top}\n[[arms]]\nname = \"a\"\npreset = \"sequence\"\n{arm_extra}\n")
}

#[test]
fn a_model_parameter_can_be_swept() {
    // After alemtuzumab the naive CD4 pool is nearly empty, so the memory CD4 kill is what moves the CD4 nadir
    // after the switch.
    let s = parse(&with(
        "[sweep]\nparameter = \"clad_kill_m4\"\nvalues = [0.06, 0.24]",
        "",
    ))
    .unwrap();
    assert_eq!(s.spec.arms.len(), 2);
    let typical = s.spec.population.typical().clad_kill_m4;
    assert_eq!(
        s.spec.arms[1].param_factors,
        vec![(
            lymphosim::model::ModelParams::id("clad_kill_m4").unwrap(),
            0.24 / typical
        )]
    );
    assert!(s.spec.arms[1].name.contains("clad_kill_m4=0.24"));
    let e = parse(&with("[sweep]\nparameter = \"no_such\"\nvalues = [1]", "")).unwrap_err();
    assert_eq!(e.path, "sweep.parameter");
    // More memory CD4 kill gives a lower CD4 nadir: the sweep reaches the patients.
    let mut s = s;
    s.spec.patients = 30;
    s.spec.horizon_days = 1500.0;
    let r = lymphosim::cohort::run_cohort(&s.spec, lymphosim::cohort::Shard::ALL, false, &|_| {});
    let names: Vec<String> = s.spec.outcomes.recoveries.iter().map(|r| r.label()).collect();
    let med = |k: usize| {
        lymphosim::cohort::summary::ArmSummary::from_accumulator(&r.arms[k], &names).nadir[1]
            .1
            .p50
            .unwrap()
    };
    assert!(
        med(1) < med(0),
        "CD4 nadir {} with 4x memory kill vs {}",
        med(1),
        med(0)
    );
}

#[test]
fn the_base_and_the_presets_are_valid() {
    parse(BASE).unwrap();
    for (name, _, text) in PRESETS {
        parse(text).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

#[test]
fn malformed_scenarios_name_their_field() {
    let cases: Vec<(String, &str)> = vec![
        (with("colour = \"red\"", ""), "colour"),
        (with("", "flavour = 1"), "arms[0]"),
        (with("patients_x = 3", ""), "patients_x"),
        (with("", "interval_months = -3"), "arms[0].interval_months"),
        (with("", "interval_months = nan"), "arms[0].interval_months"),
        (with("horizon_years = -1", ""), "horizon_years"),
        (with("horizon_years = 5\nhorizon_days = 100", ""), "horizon_days"),
        (with("band_step_days = 2.5", ""), "band_step_days"),
        ("name = \"t\"\npatients = 0\n[[arms]]\nname = \"a\"\npreset = \"sequence\"\n".into(), "patients"),
        ("name = \"t\"\narms = []\n".into(), "arms"),
        ("name = \"t\"\n".into(), "arms"),
        ("patients = 3\n[[arms]]\nname = \"a\"\npreset = \"sequence\"\n".into(), "name"),
        (with("[method]\nname = \"euler\"", ""), "method.name"),
        (with("[method]\nrtol = -1", ""), "method"),
        (with("[method]\npk = \"fast\"", ""), "method.pk"),
        (with("[outcomes]\nlln = 500", ""), "outcomes.lln"),
        (with("[outcomes]\nreference = \"yesterday\"", ""), "outcomes.reference"),
        (with("[outcomes]\nrecoveries = [\"ALC above 5\"]", ""), "outcomes.recoveries[0]"),
        (with("[rules]\nnoise_cv = -0.1", ""), "rules.noise_cv"),
        (with("[rules]\nyear2_max_delay_months = -6", ""), "rules.year2_max_delay_months"),
        (with("[population.parameters]\nno_such = 1", ""), "population.parameters.no_such"),
        (with("[population.parameters]\ndeath_nk = -1", ""), "death_nk"),
        (with("[population.variability]\nbaseline_correlation = -0.9", ""), "population"),
        (with("[population.covariates]\nshoe_size = 42", ""), "population.covariates.shoe_size"),
        (with("[sweep]\nparameter = \"interval_months\"\nvalues = []", ""), "sweep.values"),
        (with("[sweep]\nparameter = \"interval_months\"\nvalues = [6, -1]", ""), "sweep.values"),
        (with("[sweep]\nparameter = \"death_nk\"\nvalues = [-0.1]", ""), "sweep.values"),
        (with("[bound]\nendpoint = \"p_happiness\"\nmax = 0.1", ""), "bound.endpoint"),
        (with("[bound]\nendpoint = \"p_grade4\"\nmax = 1.5", ""), "bound.max"),
        ("name = \"t\"\n[[arms]]\nname = \"a\"\npreset = \"no-such\"\n".into(), "arms[0].preset"),
        ("name = \"t\"\n[[arms]]\nname = \"a\"\n".into(), "arms[0]"),
        ("name = \"t\"\n[[arms]]\nname = \"a\"\n[[arms.courses]]\ndrug = \"aspirin\"\ndoses_mg = [10]\n".into(), "arms[0].courses[0].drug"),
        ("name = \"t\"\n[[arms]]\nname = \"a\"\n[[arms.courses]]\ndrug = \"cladribine\"\ndoses_mg = [10, -20]\n".into(), "arms[0].courses[0].doses_mg[1]"),
        ("name = \"t\"\n[[arms]]\nname = \"a\"\n[[arms.courses]]\ndrug = \"alemtuzumab\"\ndaily_mg = 12\ndays = 5\ninfusion_hours = 0\n".into(), "arms[0].courses[0].infusion_hours"),
        ("name = \"t\"\n[[arms]]\nname = \"a\"\n[[arms.courses]]\ndrug = \"cladribine\"\ndoses_mg = [10]\ngate = { observable = \"ALC\", min = 800, max_delay_months = -1 }\n".into(), "arms[0].courses[0].gate.max_delay_months"),
        ("name = \"t\"\n[[arms]]\nname = \"a\"\n[[arms.courses]]\ndrug = \"cladribine\"\ndoses_mg = [10]\ngate = { observable = \"IgG\", min = 8, max_delay_months = 1 }\n".into(), "arms[0].courses[0].gate.observable"),
        ("name = \"t\"\n[[arms]]\nname = \"a\"\nweight = 70\n".into(), "arms[0]"),
        ("name = 5\n".into(), "name"),
        (with("[bound]\nendpoint = \"p_grade4\"\nmax = 0.1", ""), "bound"),
        (with("[population.covariates]\nweight_cv = 100", ""), "covariates.weight_cv"),
        (with("[population.covariates]\nage_mean = 300", ""), "covariates.age_mean"),
        (with("[population.covariates]\nage_mean = 70", ""), "covariates.age_mean"),
        (with("[population.variability]\nthymic_cv = 50", ""), "variability.thymic_cv"),
        (with("[population.parameters]\ncd4_0 = 851e6", ""), "cd4_0"),
        (with("[outcomes]\nlln = 1e9", ""), "outcomes.lln"),
        (with("[rules]\nvisit_every_months = 1e-300", ""), "rules.visit_every_months"),
        (with("[rules]\nyear1_max_wait_months = 1e12", ""), "rules.year1_max_wait_months"),
        (with("", "interval_months = 1e9"), "arms[0].interval_months"),
        ("name = \"t\"\n[[arms]]\nname = \"a\"\n[[arms.courses]]\ndrug = \"alemtuzumab\"\ndaily_mg = 12\ndays = 100000000\n".into(), "arms[0].courses[0].days"),
        ("name = \"t\"\n[[arms]]\nname = \"a\"\n[[arms.courses]]\ndrug = \"cladribine\"\nat_day = 1e300\ndoses_mg = [10]\n".into(), "arms[0].courses[0].at_day"),
        ("name = \"t\"\n[[arms]]\nname = \"a\"\n[[arms.courses]]\ndrug = \"cladribine\"\ndoses_mg = [10]\ngate = { observable = \"ALC\", min = 800, max_delay_months = 6, recheck_months = 1e-300 }\n".into(), "arms[0].courses[0].gate.recheck_months"),
        (with("[sweep]\nparameter = \"interval_months\"\nvalues = [12, 6]", ""), "sweep.values[1]"),
        (with("[sweep]\nparameter = \"interval_months\"\nvalues = [6, 12]\nreference = \"none\"\n[bound]\nendpoint = \"p_grade4\"\nmax_above_reference = 0.01", ""), "bound.max_above_reference"),
        (with("[sweep]\nparameter = \"interval_months\"\nvalues = [6, 12]\n[bound]\nendpoint = \"p_grade4\"", ""), "bound"),
        (with("[rules]\nnoise_cv = 1.5", ""), "rules.noise_cv"),
        (format!("{}\n[[arms]]\nname = \"a\"\npreset = \"untreated\"\n", with("", "")), "arms[1].name"),
        ("name = \"t\"\n[sweep]\nparameter = \"interval_months\"\nvalues = [6]\n[[arms]]\nname = \"a\"\npreset = \"cladribine-label\"\n".into(), "arms[0]"),
        ("name = \"t\"\n[[arms]\n".into(), "<file>"),
        (with("[rules]\nprotocol = \"care-ms\"", ""), "rules.protocol"),
        (with("[rules]\nprotocol = \"clarity\"\nyear2_min_alc = 800", ""), "rules.year2_min_alc"),
        ("name = \"t\"\n[[arms]]\nname = \"a\"\n[[arms.courses]]\ndrug = \"cladribine\"\ndoses_mg = [10]\ngate = { observable = \"ALC\", min = 800, resume = 500, max_delay_months = 6 }\n".into(), "arms[0].courses[0].gate.resume"),
    ];
    assert!(cases.len() >= 20);
    for (text, field) in &cases {
        let e = parse(text).expect_err(&format!("accepted:\n{text}"));
        assert!(
            e.path.contains(field) || e.to_string().contains(field),
            "expected {field:?} in {e} for\n{text}"
        );
    }
}

/// Random mutations of valid scenarios (deleted, duplicated and garbled characters, random values) never make
/// the loader panic: they parse or give an error.
#[test]
fn arbitrary_toml_never_panics_the_loader() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2026);
    let seeds: Vec<&str> = PRESETS.iter().map(|p| p.2).chain([BASE]).collect();
    let alphabet: Vec<char> = "abcdefgnrstuxyz_=[]{}\"'.,-+0123456789 \n#e".chars().collect();
    for i in 0..3000 {
        let mut t: Vec<char> = seeds[i % seeds.len()].chars().collect();
        for _ in 0..rng.random_range(1..8) {
            if t.is_empty() {
                break;
            }
            let k = rng.random_range(0..t.len());
            match rng.random_range(0..4) {
                0 => {
                    t.remove(k);
                }
                1 => t.insert(k, alphabet[rng.random_range(0..alphabet.len())]),
                2 => t[k] = alphabet[rng.random_range(0..alphabet.len())],
                _ => {
                    let j = rng.random_range(0..t.len());
                    let c = t[j];
                    t.insert(k, c);
                }
            }
        }
        let text: String = t.into_iter().collect();
        let _ = std::panic::catch_unwind(|| parse(&text)).unwrap_or_else(|_| panic!("the loader panicked on:\n{text}"));
    }
}

/// A swept arm keeps its base arm's name as a field, whatever the name holds ("late switch" stays "late switch"),
/// and the report carries the reference arm and evaluates the bound from every longer value on.
/// `protocol = "clarity"` puts the trial's hold-and-resume gate on every cladribine cycle; the default is the label.
#[test]
fn a_trial_protocol_is_a_choice_of_rules() {
    use lymphosim::regimen::{Rules, TrialProtocol};
    let s = parse(&with("[rules]\nprotocol = \"clarity\"", "")).unwrap();
    assert_eq!(s.spec.arms[0].rules, Some(Rules::Trial(TrialProtocol::clarity())));
    let s = parse(BASE).unwrap();
    assert!(matches!(s.spec.arms[0].rules, Some(Rules::Label(_))));
    let s = parse(&with("[rules]\nprotocol = \"clarity\"\nlabel = false", "")).unwrap();
    assert_eq!(s.spec.arms[0].rules, None);
}

#[test]
fn a_sweep_knows_its_base_arm_and_reference() {
    let text = "name = \"t\"\npatients = 24\nhorizon_years = 4\n[[arms]]\nname = \"late switch\"\npreset = \"sequence\"\n\
                [sweep]\nparameter = \"interval_months\"\nvalues = [6, 12]\n[bound]\nendpoint = \"p_grade_ge3\"\nmax = 1.0\n";
    let s = parse(text).unwrap();
    assert_eq!(s.base_names, vec!["late switch".to_string()]);
    assert_eq!(s.spec.arms.len(), 3);
    assert_eq!(s.spec.arms[1].sweep.unwrap().base, 0);
    assert_eq!(s.spec.arms[1].sweep.unwrap().value, 12.0);
    assert_eq!(s.reference_arm, Some(2));
    let r = lymphosim::cohort::run_cohort(&s.spec, lymphosim::cohort::Shard::ALL, false, &|_| {});
    let summary = lymphosim::cohort::report::summarise(&s, &r.arms);
    assert_eq!(summary.sweep[0].arm, "late switch");
    assert_eq!(summary.reference_arm.as_deref(), Some("reference: cladribine-label"));
    assert_eq!(summary.sweep[0].shortest_meeting_bound, Some(6.0));
}

/// An ensemble of copies of one parameter set reproduces the plain run of the study exactly (the same patients,
/// seed and model), set after set; its answers and intervals are then degenerate.
#[test]
fn an_ensemble_of_one_set_repeats_the_plain_run() {
    use lymphosim::population::paramset::ParamSet;
    use lymphosim::scenario::ensemble::{self, endpoints};
    let text = "name = \"t\"\npatients = 40\nseed = 7\nhorizon_years = 4\n[[arms]]\nname = \"switch\"\npreset = \"sequence\"\n[sweep]\nparameter = \"interval_months\"\nvalues = [6, 12]\n[bound]\nendpoint = \"p_grade_ge3\"\nmax_above_reference = 0.02\n";
    let set = ParamSet::shipped();
    let plain = lymphosim::scenario::parse_with(text, &set).unwrap();
    let plain = lymphosim::cohort::Cohort::from_spec(plain.spec)
        .run()
        .unwrap()
        .summary();
    let run = ensemble::run(text, &set, &[set.clone(), set.clone()], 40, 7, Some(1), &|_| {}).unwrap();
    assert_eq!(run.summaries.len(), 2);
    assert_eq!(run.answers.len(), 2);
    assert_eq!(run.answers[0], run.answers[1]);
    for sums in &run.summaries {
        for (a, b) in sums.iter().zip(&plain) {
            assert_eq!(a.name, b.name);
            assert_eq!(endpoints(a).map(f64::to_bits), endpoints(b).map(f64::to_bits));
        }
    }
    let [lo, hi] = run.interval90(0, 0);
    assert_eq!(lo, hi);
    assert_eq!(run.grade3_band().len(), 2);
    assert_eq!(run.csv().lines().count(), 1 + 2 * plain.len());
}

#[test]
fn lab_visits_are_whole_days_in_order_within_the_horizon() {
    let s = parse(&with("horizon_years = 2\n[outcomes]\nvisit_days = [0, 61, 183]", "")).unwrap();
    assert_eq!(s.spec.outcomes.visit_days, vec![0.0, 61.0, 183.0]);
    for (visits, path, words) in [
        ("[0, 61.5]", "outcomes.visit_days[1]", "whole day"),
        ("[0, 800]", "outcomes.visit_days[1]", "got 800"),
        ("[-1]", "outcomes.visit_days[0]", "got -1"),
        (
            "[61, 61]",
            "outcomes.visit_days[1]",
            "after the previous visit (day 61)",
        ),
        (
            "[183, 61]",
            "outcomes.visit_days[1]",
            "after the previous visit (day 183)",
        ),
    ] {
        let e = parse(&with(
            &format!("horizon_years = 2\n[outcomes]\nvisit_days = {visits}"),
            "",
        ))
        .unwrap_err();
        assert_eq!(e.path, path, "{visits}");
        assert!(e.message.contains(words), "{visits}: {}", e.message);
    }
    let many: Vec<String> = (0..=lymphosim::scenario::MAX_VISITS).map(|d| d.to_string()).collect();
    let e = parse(&with(
        &format!("horizon_years = 100\n[outcomes]\nvisit_days = [{}]", many.join(",")),
        "",
    ))
    .unwrap_err();
    assert_eq!(e.path, "outcomes.visit_days");
}

/// A cohort with lab visits reports the worst grade seen at them next to the continuous one, which it can never
/// exceed; without visits the proportion is missing, not zero.
#[test]
fn the_grade_at_visits_is_reported_apart_and_is_never_worse() {
    let mut s = parse(&with(
        "horizon_years = 3\n[outcomes]\nreference = \"start\"\nvisit_days = [0, 61, 183, 365, 426, 548]",
        "",
    ))
    .unwrap();
    s.spec.patients = 60;
    let r = lymphosim::cohort::run_cohort(&s.spec, lymphosim::cohort::Shard::ALL, false, &|_| {});
    let a = &r.arms[0];
    let names: Vec<String> = s.spec.outcomes.recoveries.iter().map(|r| r.label()).collect();
    let sum = lymphosim::cohort::summary::ArmSummary::from_accumulator(a, &names);
    assert_eq!(a.worst_grade_at_visits.iter().sum::<u64>(), a.analysed());
    assert!(sum.p_grade_ge3_at_visits.count <= sum.p_grade_ge3.count);
    // Alemtuzumab's nadir lies between the day-0 and month-2 visits: the visits see less grade 4 than there was.
    assert!(
        a.worst_grade_at_visits[4] < a.worst_grade[4],
        "{:?} vs {:?}",
        a.worst_grade_at_visits,
        a.worst_grade
    );
    // Each recovery is also read at the visits: every analysed patient is seen back or not, and no patient is
    // seen back who did not come back (`tests/it/outcomes.rs` checks each patient's day).
    for rec in &sum.recovery {
        let (seen, not_seen) = (rec.recovered_at_visits.unwrap(), rec.not_seen_back_at_visits.unwrap());
        assert_eq!(seen + not_seen, a.analysed(), "{}", rec.name);
        assert!(seen <= rec.recovered, "{}", rec.name);
        assert_eq!(
            rec.days_at_visits.as_ref().unwrap().p50.is_some(),
            seen > 0,
            "{}",
            rec.name
        );
    }
    assert!(sum.recovery.iter().any(|r| r.recovered_at_visits.unwrap() > 0));
    // patients.csv carries what the visits saw, in columns of their own.
    let rows = lymphosim::cohort::run_cohort(&s.spec, lymphosim::cohort::Shard::ALL, true, &|_| {});
    let csv = lymphosim::cohort::report::patients_csv(&s, &rows);
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    assert!(header.contains(&"worst_grade_at_visits"), "{header:?}");
    assert_eq!(
        header.iter().filter(|h| h.ends_with("_at_visits")).count(),
        1 + names.len()
    );
    for l in csv.lines().skip(1) {
        assert_eq!(l.split(',').count(), header.len(), "{l}");
    }
    s.spec.outcomes.visit_days.clear();
    let r = lymphosim::cohort::run_cohort(&s.spec, lymphosim::cohort::Shard::ALL, false, &|_| {});
    let sum = lymphosim::cohort::summary::ArmSummary::from_accumulator(&r.arms[0], &names);
    assert!(sum.p_grade_ge3_at_visits.value.is_nan());
    assert!(sum
        .recovery
        .iter()
        .all(|r| r.days_at_visits.is_none() && r.recovered_at_visits.is_none()));
    let rows = lymphosim::cohort::run_cohort(&s.spec, lymphosim::cohort::Shard::ALL, true, &|_| {});
    let csv = lymphosim::cohort::report::patients_csv(&s, &rows);
    let header = csv.lines().next().unwrap();
    assert!(!header.contains("_at_visits"));
    // Every row has every column, an excluded patient's too (it was one short once).
    for l in csv.lines().skip(1) {
        assert_eq!(l.split(',').count(), header.split(',').count(), "{l}");
    }
    assert!(
        csv.lines().any(|l| l.split(',').nth(6) == Some("true")),
        "no excluded patient: the check above is empty"
    );
}
