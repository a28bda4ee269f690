//! The personal forecast's estimation core: lab histories are parsed with units and clear errors; the MAP estimate
//! of a patient's random effects predicts that patient's future counts better as their labs accumulate.

use lymphosim::forecast::{
    log_likelihood, map_estimate, parse_history, LabObservation, PatientData, Plan, ResidualModel,
};
use lymphosim::population::PatientCovariates;
use lymphosim::prelude::*;
use rand_distr::{Distribution, StandardNormal};

#[test]
fn a_history_states_its_units_and_bad_rows_name_line_and_column() {
    let h = parse_history("day,count,value,unit\n30,CD4,0.12,10^9/L\n10,alc,850,cells/uL\n\n").unwrap();
    assert_eq!(h.len(), 2);
    assert_eq!((h[0].day, h[0].count, h[0].cells_per_ul), (10.0, Count::Alc, 850.0));
    assert_eq!((h[1].count, h[1].cells_per_ul), (Count::Cd4, 120.0));
    for (text, line, column) in [
        ("", 0, "header"),
        ("day,count,value\n1,CD4,100\n", 1, "header"),
        ("day,count,value,unit\n1,IgG,100,cells/uL\n", 2, "count"),
        ("day,count,value,unit\n1,CD4,-5,cells/uL\n", 2, "value"),
        ("day,count,value,unit\n1,CD4,850000000,cells/uL\n", 2, "value"),
        ("day,count,value,unit\n1,CD4,100,cells/L\n", 2, "unit"),
        ("day,count,value,unit\n-40000,CD4,100,cells/uL\n", 2, "day"),
        ("day,count,value,unit\n1,CD4,<,cells/uL\n", 2, "value"),
        ("day,count,value,unit\nsoon,CD4,100,cells/uL\n", 2, "day"),
        ("day,count,value,unit\n1,CD4,100\n", 2, "row"),
    ] {
        let e = parse_history(text).expect_err(text);
        assert_eq!((e.line, e.column), (line, column), "{e} for {text:?}");
    }
}

/// Synthetic labs of a virtual patient: CD4 and ALC at `days`, with the residual model's log-normal noise from the
/// patient's own stream of `seed` (the coverage study's generator).
fn labs_of(
    patient: &Patient,
    regimen: &Regimen,
    days: &[f64],
    residual: &ResidualModel,
    seed: u64,
) -> Vec<LabObservation> {
    lymphosim::forecast::coverage::noisy_labs(patient, regimen, days, residual, &mut patient_rng(seed, patient.id))
        .unwrap()
}

/// CD4 of `patient` on `day` under `regimen`.
fn cd4_on(patient: &Patient, regimen: &Regimen, day: f64) -> f64 {
    let model = Model::new(patient.params.clone()).unwrap();
    let p = Problem::new(model.clone(), regimen, day).unwrap();
    let t = simulate(&p, &SimOptions::default()).unwrap();
    model.observe(t.states.last().unwrap()).cd4
}

/// Virtual patients drawn from the population get noisy CD4 and ALC labs after alemtuzumab; their CD4 two years
/// on is predicted from the MAP with no labs (the typical patient of their covariates), with the first two
/// visits, and with all five. The error of the prediction (log scale, averaged over patients) falls as the labs
/// accumulate. With no labs the MAP is exactly the typical patient.
#[test]
fn the_map_predicts_a_patient_better_as_labs_accumulate() {
    let pop = PopulationModel::shipped();
    let regimen = presets::alemtuzumab_label();
    let residual = ResidualModel::default();
    let visits = [30.0, 91.0, 183.0, 274.0, 365.0];
    let mut err = [0.0; 3];
    let n = 6;
    for i in 0..n {
        let truth = pop.sample(i, &mut patient_rng(77, i));
        let cov = truth.covariates();
        let labs = labs_of(&truth, &regimen, &visits, &residual, 78);
        let future = cd4_on(&truth, &regimen, 730.0).ln();
        for (k, used) in [0usize, 4, 10].into_iter().enumerate() {
            let data = PatientData {
                population: &pop,
                covariates: &cov,
                regimen: &regimen,
                labs: &labs[..used],
                residual: &residual,
            };
            let m = map_estimate(&data, 3000).unwrap();
            if used == 0 {
                assert!(m.z.iter().all(|z| *z == 0.0) && m.evaluations == 0);
            } else {
                // The estimate fits the labs at least as well as the typical patient does.
                let typical = pop.patient(0, &cov, &[0.0; PopulationModel::RANDOM_EFFECTS]);
                let ll0 = log_likelihood(&typical, &regimen, &labs[..used], &residual, &SimOptions::default()).unwrap();
                assert!(
                    m.objective <= -ll0 + 1e-9,
                    "MAP objective {} vs typical {}",
                    m.objective,
                    -ll0
                );
            }
            err[k] += (cd4_on(&m.patient, &regimen, 730.0).ln() - future).abs() / n as f64;
        }
    }
    eprintln!("mean |log error| of CD4 at day 730 with 0, 2 and 5 visits: {err:?}");
    assert!(
        err[2] < err[0],
        "mean |log error| of CD4 at day 730: {err:?} (no labs, 2 visits, 5 visits)"
    );
    assert!(err[1] < err[0], "{err:?}");
}

/// The posterior by sampling importance resampling from the Laplace proposal: after five visits the CD4
/// two years on is far less uncertain than under the prior, the effective sample size is reported and sane, and
/// the truth falls inside the posterior's 90 % predictive interval for most patients (a small-sample check; the
/// coverage study belongs to the full forecast).
#[test]
fn the_posterior_narrows_the_prediction_and_covers_the_truth() {
    use lymphosim::forecast::{posterior_draws, prior_draws};
    let pop = PopulationModel::shipped();
    let regimen = presets::alemtuzumab_label();
    let residual = ResidualModel::default();
    let visits = [30.0, 91.0, 183.0, 274.0, 365.0];
    let quantiles = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        let q = |p: f64| v[((p * (v.len() - 1) as f64).round()) as usize];
        (q(0.05), q(0.95))
    };
    let (mut covered, mut narrower) = (0u64, 0u64);
    let n = 6u64;
    for i in 0..n {
        let truth = pop.sample(i, &mut patient_rng(91, i));
        let cov = truth.covariates();
        let labs = labs_of(&truth, &regimen, &visits, &residual, 92);
        let data = PatientData {
            population: &pop,
            covariates: &cov,
            regimen: &regimen,
            labs: &labs,
            residual: &residual,
        };
        let map = map_estimate(&data, 3000).unwrap();
        let post = posterior_draws(&data, &map, 400, 100, &mut patient_rng(93, i)).unwrap();
        assert_eq!(post.z.len(), 100);
        assert!(post.ess >= 1.0 && post.ess <= 400.0, "ESS {}", post.ess);
        let cd4 = |z: &[f64]| cd4_on(&pop.patient(0, &cov, z), &regimen, 730.0);
        let (lo, hi) = quantiles(post.z.iter().map(|z| cd4(z)).collect());
        let prior: Vec<f64> = prior_draws(100, &mut patient_rng(94, i))
            .iter()
            .map(|z| cd4(z))
            .collect();
        let (plo, phi) = quantiles(prior);
        let t = cd4_on(&truth, &regimen, 730.0);
        eprintln!(
            "patient {i}: ESS {:.0}, CD4 day 730 truth {t:.0}, posterior 90 % {lo:.0}-{hi:.0}, prior {plo:.0}-{phi:.0}",
            post.ess
        );
        covered += u64::from(lo <= t && t <= hi);
        narrower += u64::from((hi / lo).ln() < 0.5 * (phi / plo).ln());
    }
    assert!(covered >= n - 2, "truth inside the 90 % interval for {covered} of {n}");
    assert_eq!(
        narrower, n,
        "the posterior interval was not narrower than half the prior's for every patient"
    );
}

/// The start-date table: a patient's risks after cladribine planned on each candidate day, under their posterior
/// and under the prior, each a proportion of the draws; starting soon after alemtuzumab puts CD4 below 200 at
/// least as often as starting two years later. `earliest_meeting` reads the table from the last failing day.
#[test]
fn the_start_date_table_gives_a_patients_risks_by_start_day() {
    use lymphosim::forecast::{earliest_meeting, posterior_draws, prior_draws, start_date_table, Risk, StartDateRow};
    let pop = PopulationModel::shipped();
    let regimen = presets::alemtuzumab_label();
    let residual = ResidualModel::default();
    let truth = pop.sample(3, &mut patient_rng(95, 3));
    let cov = PatientCovariates {
        weight_kg: truth.weight_kg.max(45.0),
        ..truth.covariates()
    };
    let labs = labs_of(&truth, &regimen, &[30.0, 183.0, 365.0, 400.0, 500.0], &residual, 96);
    let data = PatientData {
        population: &pop,
        covariates: &cov,
        regimen: &regimen,
        labs: &labs,
        residual: &residual,
    };
    let map = map_estimate(&data, 3000).unwrap();
    let post = posterior_draws(&data, &map, 300, 40, &mut patient_rng(97, 3)).unwrap();
    let prior = prior_draws(40, &mut patient_rng(98, 3));
    let days = [560.0, 730.0, 1095.0, 1460.0];
    let table = start_date_table(&data, &post.z, &prior, &days, 730.0).unwrap();
    assert_eq!(table.len(), days.len());
    for r in &table {
        eprintln!(
            "start day {}: P(G>=3) {:?} (prior {:?}), P(CD4<200) {:?} (prior {:?})",
            r.start_day, r.p_grade_ge3, r.prior_p_grade_ge3, r.p_cd4_below_200, r.prior_p_cd4_below_200
        );
    }
    for r in &table {
        for p in [
            r.p_grade_ge3,
            r.p_cd4_below_200,
            r.prior_p_grade_ge3,
            r.prior_p_cd4_below_200,
        ] {
            let p = p.expect("every draw reaches the start");
            assert!((0.0..=1.0).contains(&p) && (p * 40.0).fract() == 0.0, "{r:?}");
        }
    }
    assert!(table[0].p_cd4_below_200 >= table[3].p_cd4_below_200, "{table:?}");
    assert!(start_date_table(&data, &post.z, &prior, &[-1.0], 730.0).is_err());
    // Bands that would hold more than MAX_BAND_VALUES per count are refused before anything is allocated.
    let many_days: Vec<f64> = (0..300_000).map(f64::from).collect();
    let e = lymphosim::forecast::predictive_bands(&data, &post.z, lymphosim::forecast::Plan::NoCladribine, &many_days)
        .unwrap_err();
    assert!(e.to_string().contains("days"), "{e}");
    let row = |d: f64, p: f64| StartDateRow {
        start_day: d,
        p_grade_ge3: Some(p),
        p_cd4_below_200: None,
        prior_p_grade_ge3: Some(0.5),
        prior_p_cd4_below_200: None,
    };
    let t = [
        row(1.0, 0.2),
        row(2.0, 0.05),
        row(3.0, 0.2),
        row(4.0, 0.05),
        row(5.0, 0.01),
    ];
    assert_eq!(earliest_meeting(&t, Risk::GradeGe3, 0.1, false), Some(4.0));
    assert_eq!(earliest_meeting(&t, Risk::GradeGe3, 0.1, true), None);
    assert_eq!(earliest_meeting(&t, Risk::GradeGe3, 0.9, true), Some(1.0));
    // No CD4 risk could be computed in these rows: missing never meets a bound.
    assert_eq!(earliest_meeting(&t, Risk::Cd4Below200, 1.0, false), None);
}

/// The NONMEM-style history: doses from the `EVID = 1` rows (as `lymphosim events` writes them), labs from the
/// `EVID = 0` rows with `DV`, `COUNT`, `UNIT` and `BLQ`; bad rows name their line and column.
#[test]
fn a_nonmem_style_history_brings_its_doses_and_labs() {
    use lymphosim::forecast::read_history;
    use lymphosim::regimen::event_table;
    let doses = event_table::write(&presets::alemtuzumab_label().administrations().unwrap());
    let mut text = String::from("ID,TIME,EVID,AMT,CMT,RATE,DV,COUNT,UNIT,BLQ\n");
    for l in doses.lines().skip(1) {
        text.push_str(&format!("{l},.,.,.,.\n"));
    }
    text.push_str("1,400,0,.,.,.,0.9,ALC,10^9/L,0\n1,30,0,.,.,.,20,CD4,cells/uL,1\n1,-10,0,.,.,.,700,CD4,cells/uL,.\n");
    let h = read_history(&text, None).unwrap();
    let given = presets::alemtuzumab_label().administrations().unwrap();
    assert_eq!(h.regimen.unwrap().administrations().unwrap().len(), given.len());
    assert_eq!(h.labs.len(), 3);
    assert_eq!((h.labs[0].day, h.labs[0].cells_per_ul), (-10.0, 700.0));
    assert!(h.labs[1].below_detection && h.labs[1].cells_per_ul == 20.0);
    assert_eq!((h.labs[2].count, h.labs[2].cells_per_ul), (Count::Alc, 900.0));
    // Without dose rows the regimen is left to the caller.
    let labs_only = "ID,TIME,EVID,AMT,CMT,RATE,DV,COUNT,UNIT\n1,30,0,.,.,.,100,CD4,cells/uL\n";
    assert!(read_history(labs_only, None).unwrap().regimen.is_none());
    let head = "ID,TIME,EVID,AMT,CMT,RATE,DV,COUNT,UNIT,BLQ\n";
    for (rows, line, column) in [
        ("1,30,0,.,.,.,100,IgM,cells/uL,0\n", 2, "count"),
        ("1,30,0,.,.,.,100,CD4,g/L,0\n", 2, "unit"),
        ("1,30,0,.,.,.,x,CD4,cells/uL,0\n", 2, "DV"),
        ("1,30,2,.,.,.,100,CD4,cells/uL,0\n", 2, "EVID"),
        ("1,30,0,.,.,.,100,CD4,cells/uL,2\n", 2, "BLQ"),
        ("1,30,0,.,.,.,100,CD4\n", 2, "row"),
    ] {
        let e = read_history(&format!("{head}{rows}"), None).expect_err(rows);
        assert_eq!((e.line, e.column), (line, column), "{e}");
    }
    let e = read_history("ID,TIME,EVID,AMT,CMT,RATE\n1,0,1,12,1,72\n", None).expect_err("no DV");
    assert_eq!(e.column, "header");
}

/// Degenerate histories, each handled: no labs (the forecast is the prior's), one lab, a lab before the first
/// dose (compared with the patient's baseline), and a count below detection (a censored likelihood).
#[test]
fn degenerate_histories_are_handled() {
    use lymphosim::forecast::{forecast, ForecastOptions};
    let pop = PopulationModel::shipped();
    let regimen = presets::alemtuzumab_label();
    let residual = ResidualModel::default();
    let cov = PatientCovariates {
        age_years: 38.0,
        weight_kg: 70.0,
        crcl_ml_min: 100.0,
        neutralising_antibodies: false,
    };
    let opts = ForecastOptions {
        draws: 20,
        start_days: vec![400.0],
        band_starts: vec![400.0],
        band_step_days: 30.0,
        ..ForecastOptions::default()
    };
    let data = |labs| PatientData {
        population: &pop,
        covariates: &cov,
        regimen: &regimen,
        labs,
        residual: &residual,
    };
    // No labs: no posterior; the draws are the prior's, and the table's two columns agree.
    let none = forecast(&data(&[]), &opts).unwrap();
    assert!(none.posterior.is_none());
    assert_eq!(none.draws(), &none.prior[..]);
    let r = &none.table[0];
    assert_eq!(
        (r.p_grade_ge3, r.p_cd4_below_200),
        (r.prior_p_grade_ge3, r.prior_p_cd4_below_200)
    );
    assert!(none.bands.iter().any(|b| b.plan == Plan::CladribineAt(400.0)));
    for bad in [f64::NAN, -1.0, 1e9] {
        let e = forecast(
            &data(&[]),
            &ForecastOptions {
                band_starts: vec![bad],
                ..opts.clone()
            },
        )
        .unwrap_err();
        assert!(e.to_string().contains("band_starts"), "{e}");
    }

    // One lab: a posterior exists and is pulled towards it.
    let one = [LabObservation {
        day: 180.0,
        count: Count::Cd4,
        cells_per_ul: 60.0,
        below_detection: false,
    }];
    let f = forecast(&data(&one), &opts).unwrap();
    assert!(f.posterior.as_ref().unwrap().ess >= 1.0);
    let cd4_at = |f: &lymphosim::forecast::Forecast, plan: Plan, day: f64| {
        f.bands
            .iter()
            .find(|b| b.plan == plan && b.count == Count::Cd4 && b.day == day)
            .unwrap()
            .quantiles[2]
            .unwrap()
    };
    assert!(
        cd4_at(&f, Plan::NoCladribine, 180.0) < cd4_at(&none, Plan::NoCladribine, 180.0),
        "a low CD4 lab lowers the forecast"
    );

    // A lab before the first dose is a baseline lab: the same likelihood as at day 0.
    let typical = pop.patient(0, &cov, &[0.0; PopulationModel::RANDOM_EFFECTS]);
    let lab = |day: f64, value: f64, below: bool| LabObservation {
        day,
        count: Count::Cd4,
        cells_per_ul: value,
        below_detection: below,
    };
    let ll =
        |labs: &[LabObservation]| log_likelihood(&typical, &regimen, labs, &residual, &SimOptions::default()).unwrap();
    assert_eq!(ll(&[lab(-30.0, 700.0, false)]), ll(&[lab(0.0, 700.0, false)]));

    // Below detection: a limit far above the model's count is near certain (log-likelihood near 0), one far
    // below it nearly impossible; the likelihood rises with the limit.
    let model_cd4_30 = {
        let m = Model::new(typical.params.clone()).unwrap();
        let t = simulate(
            &Problem::new(m.clone(), &regimen, 30.0).unwrap(),
            &SimOptions::default(),
        )
        .unwrap();
        m.observe(t.states.last().unwrap()).cd4
    };
    let high = ll(&[lab(30.0, model_cd4_30 * 3.0, true)]);
    let mid = ll(&[lab(30.0, model_cd4_30, true)]);
    let low = ll(&[lab(30.0, model_cd4_30 / 3.0, true)]);
    assert!(
        high > -1e-3 && (mid - 0.5f64.ln()).abs() < 1e-9 && low < -10.0,
        "{high} {mid} {low}"
    );
    let h = parse_history("day,count,value,unit\n30,CD4,<50,cells/uL\n").unwrap();
    assert!(h[0].below_detection && h[0].cells_per_ul == 50.0);
}

/// Simulation-based calibration at CI size: 80 virtual patients, labs at months 1–12, CD4 and ALC held back at
/// day 730. The 50 % and 90 % intervals must cover the truth within 2.5 binomial standard errors of 50 % and 90 %
/// (±14 and ±8.4 points at this size); the full study (`lymphosim forecast-coverage --patients 300`) is in
/// docs/forecast.md.
#[test]
fn the_forecast_intervals_cover_the_truth_as_often_as_they_say() {
    use lymphosim::forecast::coverage::{coverage_study, CoverageSpec, CHECKED};
    let spec = CoverageSpec {
        patients: 80,
        draws: 60,
        ..CoverageSpec::default()
    };
    let study = coverage_study(&PopulationModel::shipped(), &presets::alemtuzumab_label(), &spec, 2).unwrap();
    assert!(study.failures.is_empty(), "{:?}", study.failures);
    let n = study.rows.len() as f64;
    for (c, count) in CHECKED.iter().enumerate() {
        let (c50, c90) = study.coverage(c).unwrap();
        eprintln!("{}: 50 % interval covers {c50:.3}, 90 % covers {c90:.3}", count.name());
        let tol = |p: f64| 2.5 * (p * (1.0 - p) / n).sqrt();
        assert!(
            (c50 - 0.5).abs() <= tol(0.5),
            "{}: 50 % interval covers {c50}",
            count.name()
        );
        assert!(
            (c90 - 0.9).abs() <= tol(0.9),
            "{}: 90 % interval covers {c90}",
            count.name()
        );
    }
    // The same study on one thread gives the same rows.
    let again = coverage_study(
        &PopulationModel::shipped(),
        &presets::alemtuzumab_label(),
        &CoverageSpec { patients: 3, ..spec },
        1,
    )
    .unwrap();
    assert_eq!(again.rows[..], study.rows[..3]);
}

/// The MAP recovers the patient's own random effects: the squared distance between the estimated and the true
/// standard-normal effects, summed over all 19 and averaged over virtual patients, falls below the prior mean's
/// (`z = 0`) as visits accumulate.
#[test]
fn the_map_recovers_the_true_effects_better_than_the_prior_mean() {
    let pop = PopulationModel::shipped();
    let regimen = presets::alemtuzumab_label();
    let residual = ResidualModel::default();
    let visits = [30.0, 91.0, 183.0, 274.0, 365.0];
    let n = 6;
    let mut err = [0.0; 3];
    for i in 0..n {
        let mut rng = patient_rng(81, i);
        let z_true: Vec<f64> = (0..PopulationModel::RANDOM_EFFECTS)
            .map(|_| StandardNormal.sample(&mut rng))
            .collect();
        let cov = pop.sample(i, &mut patient_rng(82, i)).covariates();
        let truth = pop.patient(i, &cov, &z_true);
        let labs = labs_of(&truth, &regimen, &visits, &residual, 83);
        for (k, used) in [0usize, 4, 10].into_iter().enumerate() {
            let data = PatientData {
                population: &pop,
                covariates: &cov,
                regimen: &regimen,
                labs: &labs[..used],
                residual: &residual,
            };
            let m = map_estimate(&data, 3000).unwrap();
            err[k] += m.z.iter().zip(&z_true).map(|(a, b)| (a - b).powi(2)).sum::<f64>() / n as f64;
        }
    }
    eprintln!("mean squared distance to the true effects with 0, 2 and 5 visits: {err:?}");
    assert!(err[1] < err[0] && err[2] < err[1], "{err:?}");
}

/// A plain history may carry calendar dates instead of days: days are counted from the first dose's date (leap
/// years included); without that date, or with a malformed one, the error names the column.
#[test]
fn a_history_with_dates_counts_days_from_the_first_dose() {
    use lymphosim::forecast::{parse_date, read_history};
    assert_eq!(parse_date("1970-01-01"), Some(0));
    assert_eq!(parse_date("2000-03-01").unwrap() - parse_date("2000-02-28").unwrap(), 2);
    assert_eq!(parse_date("2023-03-01").unwrap() - parse_date("2023-02-28").unwrap(), 1);
    for bad in [
        "2023-02-29",
        "2023-13-01",
        "23-01-01",
        "2023-1-01",
        "2023-01-01-01",
        "tomorrow",
    ] {
        assert_eq!(parse_date(bad), None, "{bad}");
    }
    let text = "date,count,value,unit\n2025-02-10,CD4,150,cells/uL\n2024-12-01,ALC,1.9,10^9/L\n";
    let h = read_history(text, Some("2024-12-31")).unwrap();
    assert_eq!((h.labs[0].day, h.labs[0].count), (-30.0, Count::Alc));
    assert_eq!((h.labs[1].day, h.labs[1].cells_per_ul), (41.0, 150.0));
    let e = read_history(text, None).unwrap_err();
    assert_eq!((e.line, e.column), (1, "date"));
    let e = read_history(
        "date,count,value,unit\n2025-02-30,CD4,150,cells/uL\n",
        Some("2024-12-31"),
    )
    .unwrap_err();
    assert_eq!((e.line, e.column), (2, "date"));
    let e = read_history(text, Some("31/12/2024")).unwrap_err();
    assert_eq!(e.column, "first dose date");
}
