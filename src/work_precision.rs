//! Work-precision study: how much accuracy each integrator buys for how much time, on a fixed virtual cohort.
//!
//! The study draws a fixed-seed cohort from the shipped population model and simulates every patient for ten
//! years on three regimens (`cladribine`: the label 3.5 mg/kg; `alemtuzumab`: the two label courses;
//! `sequence`: two alemtuzumab courses, then cladribine 12 months later), observed daily.
//!
//! * **Reference.** Two different methods at a tight tolerance, both with exact drug propagation: own Dopri5
//!   (explicit, rtol = atol = 1e-14) and own Rodas4 (implicit, 1e-12). The study reports how far they disagree;
//!   above 1e-10 it says the reference is not trustworthy. (ode_solvers' Dop853 is not used: its observations
//!   come from Hermite interpolation between long steps, which alone is off by ~1e-9 on quiet stretches.)
//! * **Error** of a run: the largest relative deviation from the reference over all patients, days and the
//!   five observed counts (ALC, CD4, CD8, CD19, NK), with a floor of 1 cell/µL in the denominator.
//! * **Work**: wall time per patient (single thread, observations stored but not post-processed), right-hand
//!   side evaluations, accepted and rejected steps and LU decompositions, per patient.
//!
//! Each candidate (method × drug representation) runs a ladder of tolerances (rtol = atol); the fixed-step RK4
//! runs a ladder of step sizes instead.

use std::time::Instant;

use crate::error::{Error, Result};
use crate::model::Model;
use crate::population::paramset::ParamSet;
use crate::population::rng::patient_rng;
use crate::population::PopulationModel;
use crate::regimen::{presets, Regimen};
use crate::simulate::{solve, ObserveFn, PkForm, Problem, SimOptions};
use crate::solver::{Method, SolverOptions, SolverStats, METHODS};

/// Ten years, in days.
pub const HORIZON_DAYS: f64 = 3652.5;
/// Observed counts compared: ALC, CD4, CD8, CD19, NK.
const OBSERVED: usize = 5;
/// Tolerances of the two reference runs: own Dopri5, own Rodas4.
pub const REFERENCE_TOL: [f64; 2] = [1e-14, 1e-12];
/// Largest acceptable disagreement between the two reference runs.
pub const REFERENCE_AGREEMENT: f64 = 1e-10;
/// The accuracy at which methods are compared for speed.
pub const TARGET_ERROR: f64 = 1e-5;

/// What to run.
#[derive(Debug, Clone)]
pub struct StudyConfig {
    /// Patients in the cohort (per regimen).
    pub patients: u64,
    /// Seed of the cohort.
    pub seed: u64,
    /// Shorter ladders and fewer candidates.
    pub quick: bool,
}

impl Default for StudyConfig {
    fn default() -> Self {
        StudyConfig {
            patients: 100,
            seed: 20261124,
            quick: false,
        }
    }
}

/// One method × drug representation with its ladder.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// Integration method.
    pub method: Method,
    /// Drug representation.
    pub pk: PkForm,
    /// Tolerances (rtol = atol) for adaptive methods, step sizes (days) for fixed-step ones.
    pub ladder: Vec<f64>,
}

impl Candidate {
    /// `method/pk`, e.g. `rodas4/exact`.
    pub fn label(&self) -> String {
        format!("{}/{}", self.method.name(), self.pk.name())
    }

    fn options(&self, rung: f64) -> SimOptions {
        let solver = if self.method.is_adaptive() {
            SolverOptions {
                rtol: rung,
                atol: rung,
                ..SolverOptions::default()
            }
        } else {
            SolverOptions {
                fixed_step_days: rung,
                ..SolverOptions::default()
            }
        };
        SimOptions {
            method: self.method,
            solver,
            pk: self.pk,
        }
    }
}

/// The candidates and ladders of a study. The ODE-PK runs of ode_solvers are slow (tens of thousands of steps
/// per patient), so they get short ladders.
pub fn candidates(quick: bool) -> Vec<Candidate> {
    let ladder: Vec<f64> = if quick {
        vec![1e-4, 1e-6, 1e-8]
    } else {
        vec![1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9]
    };
    let c = |method, pk, ladder: &[f64]| Candidate {
        method,
        pk,
        ladder: ladder.to_vec(),
    };
    // Every method of the table: the exact drug form over the tolerance ladder (a step ladder for fixed-step
    // methods); the stiff full ODE over the whole ladder for implicit methods and at two tolerances for explicit
    // ones (they need tiny steps there). The quick study keeps the methods the table marks for it.
    let short: &[f64] = if quick { &[1e-6] } else { &[1e-5, 1e-7] };
    let mut v = Vec::new();
    for m in METHODS.iter().filter(|m| !quick || m.in_quick_study) {
        if m.adaptive {
            v.push(c(m.method, PkForm::Exact, &ladder));
        } else {
            v.push(c(m.method, PkForm::Exact, &[0.5, 0.2, 0.1, 0.05]));
        }
        if !m.explicit {
            v.push(c(m.method, PkForm::Ode, &ladder));
        } else if m.adaptive && m.in_quick_study {
            v.push(c(m.method, PkForm::Ode, short));
        }
    }
    v
}

/// One rung of one candidate on one regimen.
#[derive(Debug, Clone)]
pub struct Row {
    /// Regimen name.
    pub regimen: String,
    /// `method/pk`.
    pub candidate: String,
    /// Integration method.
    pub method: Method,
    /// Drug representation.
    pub pk: PkForm,
    /// Tolerance (adaptive) or step size in days (fixed step).
    pub rung: f64,
    /// Largest relative error vs the reference (1 cell/µL floor); infinite if a patient failed.
    pub error: f64,
    /// Wall time per patient (µs).
    pub us_per_patient: f64,
    /// Work per patient, averaged.
    pub rhs_evals: f64,
    /// Accepted steps per patient.
    pub accepted: f64,
    /// Rejected steps per patient.
    pub rejected: f64,
    /// LU decompositions per patient.
    pub lu: f64,
    /// Patients whose integration failed.
    pub failed: u64,
}

/// The reference check of one regimen.
#[derive(Debug, Clone)]
pub struct ReferenceCheck {
    /// Regimen name.
    pub regimen: String,
    /// Largest relative disagreement between the two reference methods.
    pub disagreement: f64,
}

impl ReferenceCheck {
    /// Whether the two references agree to [`REFERENCE_AGREEMENT`].
    pub fn agrees(&self) -> bool {
        self.disagreement <= REFERENCE_AGREEMENT
    }
}

/// Everything a study produced.
#[derive(Debug, Clone)]
pub struct Study {
    /// Reference agreement per regimen.
    pub references: Vec<ReferenceCheck>,
    /// All rungs.
    pub rows: Vec<Row>,
    /// Patients per regimen.
    pub patients: u64,
}

impl Study {
    /// The cheapest rung of `candidate` on `regimen` that reaches `error ≤ target`.
    pub fn cheapest_within(&self, regimen: &str, candidate: &str, target: f64) -> Option<&Row> {
        self.rows
            .iter()
            .filter(|r| r.regimen == regimen && r.candidate == candidate && r.error <= target)
            .min_by(|a, b| a.us_per_patient.total_cmp(&b.us_per_patient))
    }

    /// Reads back what [`Study::to_csv`] wrote (the reference agreement is not in the file and reads as NaN).
    pub fn from_csv(text: &str) -> Result<Study> {
        let mut rows = Vec::new();
        let mut references: Vec<ReferenceCheck> = Vec::new();
        let mut lines = text.lines();
        let header = lines.next().unwrap_or_default();
        if !header.starts_with("regimen,method,pk,rung,error,") {
            return Err(Error::invalid("work-precision.csv", header, "has an unknown header"));
        }
        for (i, line) in lines.enumerate() {
            let f: Vec<&str> = line.split(',').collect();
            let bad = |what: &str| Error::invalid(format!("work-precision.csv line {}", i + 2), line, what.to_string());
            if f.len() != 11 {
                return Err(bad("must have 11 fields"));
            }
            let num = |k: usize| {
                f[k].parse::<f64>()
                    .map_err(|_| bad(&format!("field {} is not a number", k + 1)))
            };
            let method: Method = f[1].parse().map_err(|_| bad("unknown method"))?;
            let pk: PkForm = f[2].parse().map_err(|_| bad("unknown pk form"))?;
            if !references.iter().any(|r| r.regimen == f[0]) {
                references.push(ReferenceCheck {
                    regimen: f[0].to_string(),
                    disagreement: f64::NAN,
                });
            }
            rows.push(Row {
                regimen: f[0].to_string(),
                candidate: format!("{}/{}", method.name(), pk.name()),
                method,
                pk,
                rung: num(3)?,
                error: num(4)?,
                us_per_patient: num(5)?,
                rhs_evals: num(6)?,
                accepted: num(7)?,
                rejected: num(8)?,
                lu: num(9)?,
                failed: f[10].parse().map_err(|_| bad("field 11 is not a count"))?,
            });
        }
        Ok(Study {
            references,
            rows,
            patients: 0,
        })
    }

    /// The rows as CSV.
    pub fn to_csv(&self) -> String {
        let mut s = String::from(
            "regimen,method,pk,rung,error,us_per_patient,rhs_evals,accepted_steps,rejected_steps,lu_decompositions,failed\n",
        );
        for r in &self.rows {
            s.push_str(&format!(
                "{},{},{},{:e},{:e},{:.3},{:.1},{:.1},{:.1},{:.1},{}\n",
                r.regimen,
                r.method.name(),
                r.pk.name(),
                r.rung,
                r.error,
                r.us_per_patient,
                r.rhs_evals,
                r.accepted,
                r.rejected,
                r.lu,
                r.failed
            ));
        }
        s
    }
}

/// The study's regimens for a patient of `weight_kg`.
fn regimens(weight_kg: f64) -> Result<[(&'static str, Regimen); 3]> {
    Ok([
        ("cladribine", presets::cladribine_label(weight_kg)?),
        ("alemtuzumab", presets::alemtuzumab_label()),
        ("sequence", presets::sequence(weight_kg, 12.0)?),
    ])
}

/// The cohort: `patients` problems per regimen, drawn from the shipped population with `seed`. Patients below
/// the 40 kg cladribine band are skipped (and the next id drawn), so every regimen has the same patients.
pub fn cohort(patients: u64, seed: u64) -> Result<Vec<(&'static str, Vec<Problem>)>> {
    let set = ParamSet::shipped();
    let pop = PopulationModel::new(set.typical.clone(), Default::default(), set.variability.clone())?;
    let mut out: Vec<(&'static str, Vec<Problem>)> = Vec::new();
    let mut id = 0u64;
    let mut taken = 0u64;
    while taken < patients {
        let p = pop.sample(id, &mut patient_rng(seed, id));
        id += 1;
        let Ok(regs) = regimens(p.weight_kg) else { continue };
        let model = Model::new(p.params)?;
        for (k, (name, reg)) in regs.into_iter().enumerate() {
            if out.len() <= k {
                out.push((name, Vec::new()));
            }
            out[k].1.push(Problem::new(model.clone(), &reg, HORIZON_DAYS)?);
        }
        taken += 1;
    }
    Ok(out)
}

/// Observed counts of each patient at each observation day, flattened.
type Observed = Vec<[f64; OBSERVED]>;

/// Runs every problem with `opts`; returns the observations, the summed work, the failures and the wall time.
fn run_all(problems: &[Problem], opts: &SimOptions) -> (Vec<Option<Observed>>, SolverStats, u64, f64) {
    let mut out = Vec::with_capacity(problems.len());
    let mut stats = SolverStats::default();
    let mut failed = 0;
    let mut seconds = 0.0;
    for (i, p) in problems.iter().enumerate() {
        let model = p.model();
        let mut obs: Observed = Vec::with_capacity(p.observation_days().len());
        let start = Instant::now();
        let mut rng = patient_rng(0, i as u64);
        let r = solve(
            p,
            opts,
            &mut rng,
            &mut ObserveFn(|_, y: &_| {
                let o = model.observe(y);
                obs.push([o.alc, o.cd4, o.cd8, o.cd19, o.nk]);
            }),
        )
        .map(|run| run.stats);
        seconds += start.elapsed().as_secs_f64();
        match r {
            Ok(s) => {
                stats += s;
                out.push(Some(obs));
            }
            Err(_) => {
                failed += 1;
                out.push(None);
            }
        }
    }
    (out, stats, failed, seconds)
}

/// Largest relative deviation of `run` from `reference` (1 cell/µL floor); infinite for a failed patient.
fn max_rel_error(run: &[Option<Observed>], reference: &[Observed]) -> f64 {
    let mut worst = 0.0f64;
    for (r, f) in run.iter().zip(reference) {
        let Some(r) = r else { return f64::INFINITY };
        for (a, b) in r.iter().zip(f) {
            for k in 0..OBSERVED {
                let e = (a[k] - b[k]).abs() / b[k].abs().max(1.0);
                worst = worst.max(if e.is_nan() { f64::INFINITY } else { e });
            }
        }
    }
    worst
}

/// Runs the study. `progress` receives one line per finished rung.
pub fn run(cfg: &StudyConfig, progress: &mut dyn FnMut(&str)) -> Result<Study> {
    if cfg.patients == 0 {
        return Err(Error::invalid("patients", 0, "must be at least 1"));
    }
    let cohort = cohort(cfg.patients, cfg.seed)?;
    let mut references = Vec::new();
    let mut rows = Vec::new();
    let reference_opts = |method, tol| SimOptions {
        method,
        pk: PkForm::Exact,
        solver: SolverOptions {
            rtol: tol,
            atol: tol,
            ..SolverOptions::default()
        },
    };
    for (regimen, problems) in &cohort {
        let (a, _, fa, _) = run_all(problems, &reference_opts(Method::Dopri5, REFERENCE_TOL[0]));
        let (b, _, fb, _) = run_all(problems, &reference_opts(Method::Rodas4, REFERENCE_TOL[1]));
        if fa + fb > 0 {
            return Err(Error::invalid(
                "reference",
                regimen,
                format!("{} reference integrations failed", fa + fb),
            ));
        }
        let reference: Vec<Observed> = a.into_iter().flatten().collect();
        let check = ReferenceCheck {
            regimen: regimen.to_string(),
            disagreement: max_rel_error(&b, &reference),
        };
        progress(&format!(
            "{regimen}: references dopri5 (tol {:e}) and rodas4 (tol {:e}) disagree by {:.1e}{}",
            REFERENCE_TOL[0],
            REFERENCE_TOL[1],
            check.disagreement,
            if check.agrees() {
                ""
            } else {
                " -- MORE than 1e-10: errors below this level are not resolved"
            }
        ));
        references.push(check);
        for cand in candidates(cfg.quick) {
            for &rung in &cand.ladder {
                let (run, stats, failed, seconds) = run_all(problems, &cand.options(rung));
                let n = problems.len() as f64;
                let row = Row {
                    regimen: regimen.to_string(),
                    candidate: cand.label(),
                    method: cand.method,
                    pk: cand.pk,
                    rung,
                    error: max_rel_error(&run, &reference),
                    us_per_patient: seconds * 1e6 / n,
                    rhs_evals: stats.rhs_evals as f64 / n,
                    accepted: stats.accepted_steps as f64 / n,
                    rejected: stats.rejected_steps as f64 / n,
                    lu: stats.lu_decompositions as f64 / n,
                    failed,
                };
                progress(&format!(
                    "{regimen}: {} at {rung:e}: error {:.1e}, {:.0} µs per patient",
                    row.candidate, row.error, row.us_per_patient
                ));
                rows.push(row);
            }
        }
    }
    Ok(Study {
        references,
        rows,
        patients: cfg.patients,
    })
}

/// The decision metrics compared in [`decision_study`]: P(worst grade ≥ 3) and P(CD4 < 200) after the switch
/// (fractions), and the median CD4 nadir after it (cells/µL).
pub const DECISION_METRICS: [&str; 3] = ["p_grade_ge3", "p_cd4_below_200", "cd4_nadir_median"];

/// One method and tolerance in the decision study.
#[derive(Debug, Clone, PartialEq)]
pub struct DecisionRow {
    /// `method/pk`.
    pub candidate: String,
    /// Tolerance (rtol = atol) or fixed step (days).
    pub rung: f64,
    /// The metrics ([`DECISION_METRICS`]).
    pub metrics: [f64; 3],
    /// Absolute difference from the reference run's metrics.
    pub error: [f64; 3],
    /// Wall time per patient (µs, one thread, with every outcome).
    pub us_per_patient: f64,
}

/// The switch question's answer at every method and tolerance, next to its Monte Carlo error.
#[derive(Debug, Clone)]
pub struct DecisionStudy {
    /// Patients in the cohort.
    pub patients: u64,
    /// The reference metrics (own Dopri5 at rtol = atol = 1e-10).
    pub reference: [f64; 3],
    /// Monte Carlo standard error of the two proportions at this cohort size, `√(p(1 − p)/n)`; the median nadir's
    /// resolution is its histogram bin (4.7 %), not a standard error.
    pub mc_se: [f64; 2],
    /// One row per candidate and rung.
    pub rows: Vec<DecisionRow>,
}

/// The decision metrics of the `sequence` regimen switched at 12 months under the label's rules, 5 years from
/// the switch's first dose, for `patients` patients of the shipped population at `seed`, with `opts`.
fn decision_metrics(patients: u64, seed: u64, opts: SimOptions) -> Result<([f64; 3], u64)> {
    use crate::cohort::{ArmRegimen, Cohort};
    use crate::model::Count;
    let run = Cohort::new(PopulationModel::shipped())
        .arm(
            "sequence",
            ArmRegimen::Preset {
                name: "sequence".into(),
                interval_months: 12.0,
            },
        )
        .label_rules(crate::regimen::LabelRules::default())
        .patients(patients)
        .seed(seed)
        .horizon_years(5.0)
        .sim(opts)
        .threads(1)
        .run()?;
    let s = &run.summary()[0];
    let nadir = s.nadir_of(Count::Cd4).and_then(|q| q.p50).unwrap_or(f64::NAN);
    Ok(([s.p_grade_ge3.value, s.p_cd4_below_200.value, nadir], s.analysed))
}

/// Work-precision for the decision: the switch question's metrics at every exact-PK candidate and rung of the
/// study (quick or full ladders), against a tight reference, with the Monte Carlo standard error of the same
/// metrics at this cohort size — which tolerance is enough for the question, not only for the counts. `progress`
/// gets a line per candidate.
pub fn decision_study(patients: u64, seed: u64, quick: bool, progress: &mut dyn FnMut(&str)) -> Result<DecisionStudy> {
    let reference_opts = SimOptions {
        method: Method::Dopri5,
        solver: SolverOptions {
            rtol: 1e-10,
            atol: 1e-10,
            ..SolverOptions::default()
        },
        pk: PkForm::Exact,
    };
    let (reference, analysed) = decision_metrics(patients, seed, reference_opts)?;
    let n = analysed.max(1) as f64;
    let se = |p: f64| (p * (1.0 - p) / n).sqrt();
    let mut rows = Vec::new();
    for c in candidates(quick).into_iter().filter(|c| c.pk == PkForm::Exact) {
        progress(&format!("{} ...", c.label()));
        for &rung in &c.ladder {
            let t0 = Instant::now();
            let (metrics, _) = decision_metrics(patients, seed, c.options(rung))?;
            let us = t0.elapsed().as_secs_f64() * 1e6 / patients as f64;
            let error = [0, 1, 2].map(|i| (metrics[i] - reference[i]).abs());
            rows.push(DecisionRow {
                candidate: c.label(),
                rung,
                metrics,
                error,
                us_per_patient: us,
            });
        }
    }
    Ok(DecisionStudy {
        patients,
        reference,
        mc_se: [se(reference[0]), se(reference[1])],
        rows,
    })
}

impl DecisionStudy {
    /// `decision.csv`: one row per candidate and rung, with the reference and the Monte Carlo errors repeated.
    pub fn to_csv(&self) -> String {
        let mut s = String::from(
            "candidate,rung,p_grade_ge3,p_cd4_below_200,cd4_nadir_median,error_p_grade_ge3,error_p_cd4_below_200,error_cd4_nadir_median,us_per_patient,mc_se_p_grade_ge3,mc_se_p_cd4_below_200\n",
        );
        for r in &self.rows {
            s.push_str(&format!(
                "{},{:e},{},{},{},{},{},{},{},{},{}\n",
                r.candidate,
                r.rung,
                r.metrics[0],
                r.metrics[1],
                r.metrics[2],
                r.error[0],
                r.error[1],
                r.error[2],
                r.us_per_patient,
                self.mc_se[0],
                self.mc_se[1]
            ));
        }
        s
    }

    /// The loosest rung of `candidate` from which every tighter rung keeps both proportions within a tenth of
    /// their Monte Carlo standard error of the reference (`None`: no rung does).
    pub fn loosest_sufficient(&self, candidate: &str) -> Option<f64> {
        let rows: Vec<&DecisionRow> = self.rows.iter().filter(|r| r.candidate == candidate).collect();
        let ok = |r: &DecisionRow| r.error[0] <= 0.1 * self.mc_se[0] && r.error[1] <= 0.1 * self.mc_se[1];
        // Ladders run from loose to tight: the answer is the first rung after the last failing one.
        let last_bad = rows.iter().rposition(|r| !ok(r));
        match last_bad {
            None => rows.first().map(|r| r.rung),
            Some(i) => rows.get(i + 1).map(|r| r.rung),
        }
    }
}
