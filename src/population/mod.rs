//! The virtual population: covariates and inter-individual variability.
//!
//! A [`PopulationModel`] turns a patient's random stream ([`rng::patient_rng`]) into a [`Patient`]: covariates
//! (age, body weight, creatinine clearance, neutralising anti-alemtuzumab antibodies) and a full
//! [`ModelParams`] whose values vary around the typical patient.
//!
//! **Variability.** Each varying parameter is `typical · exp(η)` (log-normal, so the typical value is the
//! median), with `η ~ N(0, ω²)` and `ω² = ln(1 + CV²)`. The baseline counts (ALC, CD4, CD8, CD19, NK) are
//! correlated through an omega block; the whole omega matrix is factorised once with nalgebra's Cholesky, and a
//! matrix that is not positive definite is an error. Naive fractions vary on the logit scale. Cladribine
//! sensitivity has one factor shared by all cladribine kill rates and one extra factor for B cells (naive,
//! memory and marrow precursors), so B-versus-T selectivity varies between patients.
//!
//! **Covariates** ([`Covariates`]) are assumptions typical of relapsing-MS trial populations, documented on
//! each field.

pub mod paramset;
pub mod rng;

use nalgebra::{DMatrix, DVector};
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

use crate::model::{ModelParams, ParamError};

/// A population-model setting out of range.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum PopulationError {
    /// One setting is invalid.
    #[error("population.{field}: must be {requirement}, got {value}")]
    Invalid {
        /// Setting name.
        field: String,
        /// Value.
        value: f64,
        /// What was expected.
        requirement: &'static str,
    },
    /// The omega matrix cannot be factorised.
    #[error("population.variability: the omega matrix is not positive definite (check baseline_correlation = {correlation})")]
    NotPositiveDefinite {
        /// The correlation given.
        correlation: f64,
    },
    /// A setting outside its plausible range (often a unit slip).
    #[error("{field}: must be between {lo} and {hi} ({unit}), got {value}")]
    Implausible {
        /// The setting.
        field: String,
        /// The value given.
        value: f64,
        /// Lowest plausible value.
        lo: f64,
        /// Highest plausible value.
        hi: f64,
        /// The unit expected.
        unit: &'static str,
    },
    /// A sampled patient has invalid parameters.
    #[error(transparent)]
    Param(#[from] ParamError),
}

/// Largest coefficient of variation (or SD on the logit scale) a variability setting accepts.
pub const MAX_CV: f64 = 5.0;

/// Covariate distributions. Defaults are assumptions typical of relapsing-MS trial populations (CLARITY and
/// CARE-MS report mean ages of 33–39 years); they are not fitted to a specific trial.
#[derive(Debug, Clone, PartialEq)]
pub struct Covariates {
    /// Mean age (years) of a normal distribution truncated to [`Covariates::age_range`].
    pub age_mean: f64,
    /// Standard deviation of age (years).
    pub age_sd: f64,
    /// Allowed age range (years), inclusive.
    pub age_range: (f64, f64),
    /// Median body weight (kg) of a log-normal distribution.
    pub weight_median_kg: f64,
    /// Coefficient of variation of body weight.
    pub weight_cv: f64,
    /// Mean creatinine clearance (mL/min) of a normal distribution truncated to [`Covariates::crcl_range`].
    pub crcl_mean: f64,
    /// Standard deviation of creatinine clearance (mL/min).
    pub crcl_sd: f64,
    /// Allowed creatinine clearance range (mL/min).
    pub crcl_range: (f64, f64),
    /// Probability of neutralising anti-alemtuzumab antibodies after course 2 (about 31 % \[lit\]).
    pub nab_probability: f64,
}

impl Default for Covariates {
    fn default() -> Self {
        Covariates {
            age_mean: 37.0,
            age_sd: 9.0,
            age_range: (18.0, 65.0),
            weight_median_kg: 70.0,
            weight_cv: 0.22,
            crcl_mean: 110.0,
            crcl_sd: 25.0,
            crcl_range: (30.0, 200.0),
            nab_probability: 0.31,
        }
    }
}

/// Coefficients of variation (log-normal unless stated). Defaults follow `docs/model.md`; the cladribine
/// sensitivity terms are calibration targets (see `docs/cohort.md`).
#[derive(Debug, Clone, PartialEq)]
pub struct Variability {
    /// CV of baseline ALC, CD4, CD8, CD19, NK (in that order) [lit: MS cohort SDs].
    pub baseline_cv: [f64; 5],
    /// Correlation between any two baseline counts (one common value) \[assumption\].
    pub baseline_correlation: f64,
    /// SD of the naive fractions on the logit scale \[fit\].
    pub naive_fraction_logit_sd: f64,
    /// CV of cladribine clearance (renal and non-renal together).
    pub clad_clearance_cv: f64,
    /// SD of cladribine bioavailability on the logit scale (0.25 ≈ CV 15 % at F = 0.4).
    pub clad_bioavailability_logit_sd: f64,
    /// CV of alemtuzumab clearance \[lit\].
    pub alem_clearance_cv: f64,
    /// CV of alemtuzumab central volume \[lit\].
    pub alem_volume_cv: f64,
    /// CV of the protected floor, shared by the T subsets \[fit\].
    pub t_floor_cv: f64,
    /// CV of memory proliferation capacity κM \[fit\].
    pub kappa_memory_cv: f64,
    /// CV of thymic output \[fit\].
    pub thymic_cv: f64,
    /// CV of marrow B output recovery kP \[fit\].
    pub marrow_recovery_cv: f64,
    /// CV of the cladribine sensitivity factor shared by every kill rate \[calibrated\].
    pub clad_sensitivity_cv: f64,
    /// CV of the extra cladribine sensitivity factor of B cells \[calibrated\].
    pub clad_b_sensitivity_cv: f64,
    /// Model v3: CV of the post-depletion memory T-cell set point `setpoint_shift` between patients (0 in v1/v2)
    /// \[v3, calibrated\].
    pub setpoint_cv: f64,
    /// Model v3: CV of the CD8 set point relative to the CD4 one, `setpoint_ratio_cd8`, between patients (0: the
    /// two pools' set points move together; 0 in v1/v2) \[v3, calibrated against A26–A29\].
    pub setpoint_cd8_cv: f64,
}

impl Default for Variability {
    fn default() -> Self {
        Variability {
            baseline_cv: [0.35, 0.40, 0.45, 0.65, 0.60],
            baseline_correlation: 0.6,
            naive_fraction_logit_sd: 0.5,
            clad_clearance_cv: 0.25,
            clad_bioavailability_logit_sd: 0.25,
            alem_clearance_cv: 0.40,
            alem_volume_cv: 0.25,
            t_floor_cv: 0.70,
            kappa_memory_cv: 0.45,
            thymic_cv: 0.50,
            marrow_recovery_cv: 0.40,
            clad_sensitivity_cv: 0.40,
            clad_b_sensitivity_cv: 0.40,
            setpoint_cv: 0.0,
            setpoint_cd8_cv: 0.0,
        }
    }
}

impl Variability {
    /// Names of the scalar settings, as used in scenario files and parameter sets.
    pub const NAMES: [&'static str; 14] = [
        "baseline_correlation",
        "naive_fraction_logit_sd",
        "clad_clearance_cv",
        "clad_bioavailability_logit_sd",
        "alem_clearance_cv",
        "alem_volume_cv",
        "t_floor_cv",
        "kappa_memory_cv",
        "thymic_cv",
        "marrow_recovery_cv",
        "clad_sensitivity_cv",
        "clad_b_sensitivity_cv",
        "setpoint_cv",
        "setpoint_cd8_cv",
    ];

    fn slot(&mut self, name: &str) -> Option<&mut f64> {
        Some(match name {
            "baseline_correlation" => &mut self.baseline_correlation,
            "naive_fraction_logit_sd" => &mut self.naive_fraction_logit_sd,
            "clad_clearance_cv" => &mut self.clad_clearance_cv,
            "clad_bioavailability_logit_sd" => &mut self.clad_bioavailability_logit_sd,
            "alem_clearance_cv" => &mut self.alem_clearance_cv,
            "alem_volume_cv" => &mut self.alem_volume_cv,
            "t_floor_cv" => &mut self.t_floor_cv,
            "kappa_memory_cv" => &mut self.kappa_memory_cv,
            "thymic_cv" => &mut self.thymic_cv,
            "marrow_recovery_cv" => &mut self.marrow_recovery_cv,
            "clad_sensitivity_cv" => &mut self.clad_sensitivity_cv,
            "clad_b_sensitivity_cv" => &mut self.clad_b_sensitivity_cv,
            "setpoint_cv" => &mut self.setpoint_cv,
            "setpoint_cd8_cv" => &mut self.setpoint_cd8_cv,
            _ => return None,
        })
    }

    /// Value of a named scalar setting.
    pub fn get(&self, name: &str) -> Option<f64> {
        self.clone().slot(name).map(|v| *v)
    }

    /// Sets a named scalar setting; `false` if there is no such name.
    pub fn set(&mut self, name: &str, value: f64) -> bool {
        match self.slot(name) {
            Some(v) => {
                *v = value;
                true
            }
            None => false,
        }
    }
}

/// Number of random effects.
const N_ETA: usize = 20;
// Positions of the random effects.
const E_BASE: usize = 0; // 5 baselines
const E_NAIVE: usize = 5; // 3 naive fractions
const E_CLAD_CL: usize = 8;
const E_CLAD_F: usize = 9;
const E_ALEM_CL: usize = 10;
const E_ALEM_V: usize = 11;
const E_FLOOR: usize = 12;
const E_KAPPA_M: usize = 13;
const E_THYMIC: usize = 14;
const E_MARROW: usize = 15;
const E_CLAD_SENS: usize = 16;
const E_CLAD_B: usize = 17;
// The last effect was reserved when the vector was laid out, so that adding it did not shift existing streams.
const E_SETPOINT: usize = 18;
// Drawn after every other (the patient's last draw), so adding it left the earlier effects' values as they were.
const E_SETPOINT_CD8: usize = 19;

/// A population: typical parameters, covariates and variability.
#[derive(Debug, Clone)]
pub struct PopulationModel {
    typical: ModelParams,
    covariates: Covariates,
    variability: Variability,
    chol: DMatrix<f64>,
}

/// A patient's covariates: what is known about them before any random effect.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PatientCovariates {
    /// Age (years).
    pub age_years: f64,
    /// Body weight (kg).
    pub weight_kg: f64,
    /// Creatinine clearance (mL/min).
    pub crcl_ml_min: f64,
    /// Neutralising anti-alemtuzumab antibodies after course 2.
    pub neutralising_antibodies: bool,
}

impl Patient {
    /// The patient's covariates (what [`PopulationModel::patient`] maps with the random effects).
    pub fn covariates(&self) -> PatientCovariates {
        PatientCovariates {
            age_years: self.age_years,
            weight_kg: self.weight_kg,
            crcl_ml_min: self.crcl_ml_min,
            neutralising_antibodies: self.neutralising_antibodies,
        }
    }
}

/// One virtual patient.
#[derive(Debug, Clone, PartialEq)]
pub struct Patient {
    /// Index of the patient in the run (its random stream).
    pub id: u64,
    /// Age (years).
    pub age_years: f64,
    /// Body weight (kg).
    pub weight_kg: f64,
    /// Creatinine clearance (mL/min).
    pub crcl_ml_min: f64,
    /// Neutralising anti-alemtuzumab antibodies after course 2.
    pub neutralising_antibodies: bool,
    /// Model parameters of this patient.
    pub params: ModelParams,
}

fn log_sd(cv: f64) -> f64 {
    (1.0 + cv * cv).ln().sqrt()
}

fn logit(p: f64) -> f64 {
    (p / (1.0 - p)).ln()
}

fn expit(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

fn truncated_normal<R: Rng + ?Sized>(rng: &mut R, mean: f64, sd: f64, (lo, hi): (f64, f64)) -> f64 {
    // Rejection sampling; the ranges used here hold most of the mass, so this ends quickly. A range far in
    // the tail falls back to clamping after 1000 tries rather than looping for long.
    for _ in 0..1000 {
        let z: f64 = StandardNormal.sample(rng);
        let x = mean + sd * z;
        if (lo..=hi).contains(&x) {
            return x;
        }
    }
    mean.clamp(lo, hi)
}

impl PopulationModel {
    /// Validates the settings and factorises omega.
    pub fn new(
        typical: ModelParams,
        covariates: Covariates,
        variability: Variability,
    ) -> Result<Self, PopulationError> {
        typical.validate()?;
        let bad = |field: &str, value: f64, requirement| PopulationError::Invalid {
            field: field.into(),
            value,
            requirement,
        };
        let nonneg = |field: &str, v: f64| {
            if v.is_finite() && v >= 0.0 {
                Ok(())
            } else {
                Err(bad(field, v, "a finite number >= 0"))
            }
        };
        let c = &covariates;
        nonneg("covariates.age_sd", c.age_sd)?;
        nonneg("covariates.weight_cv", c.weight_cv)?;
        nonneg("covariates.crcl_sd", c.crcl_sd)?;
        for (f, v) in [
            ("covariates.age_mean", c.age_mean),
            ("covariates.weight_median_kg", c.weight_median_kg),
            ("covariates.crcl_mean", c.crcl_mean),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return Err(bad(f, v, "a finite number > 0"));
            }
        }
        for (f, (lo, hi)) in [
            ("covariates.age_range", c.age_range),
            ("covariates.crcl_range", c.crcl_range),
        ] {
            if !(lo.is_finite() && hi.is_finite() && lo <= hi && lo >= 0.0) {
                return Err(bad(f, lo, "a range [lo, hi] with 0 <= lo <= hi"));
            }
        }
        // Plausible ranges, so that a unit slip or a typo is an error rather than a strange cohort.
        for (f, v, lo, hi, unit) in [
            ("covariates.age_mean", c.age_mean, 1.0, 110.0, "years"),
            ("covariates.age_sd", c.age_sd, 0.0, 50.0, "years"),
            ("covariates.weight_median_kg", c.weight_median_kg, 20.0, 250.0, "kg"),
            (
                "covariates.weight_cv",
                c.weight_cv,
                0.0,
                1.0,
                "a coefficient of variation (0.22 = 22 %)",
            ),
            ("covariates.crcl_mean", c.crcl_mean, 5.0, 300.0, "mL/min"),
            ("covariates.crcl_sd", c.crcl_sd, 0.0, 150.0, "mL/min"),
        ] {
            if !(lo..=hi).contains(&v) {
                return Err(PopulationError::Implausible {
                    field: f.into(),
                    value: v,
                    lo,
                    hi,
                    unit,
                });
            }
        }
        for (f, mean, (lo, hi)) in [
            ("covariates.age_mean", c.age_mean, c.age_range),
            ("covariates.crcl_mean", c.crcl_mean, c.crcl_range),
        ] {
            if !(lo..=hi).contains(&mean) {
                return Err(bad(
                    f,
                    mean,
                    "within its range (a mean outside the allowed range would be clamped silently)",
                ));
            }
        }
        if !(0.0..=1.0).contains(&c.nab_probability) {
            return Err(bad(
                "covariates.nab_probability",
                c.nab_probability,
                "a probability in [0, 1]",
            ));
        }
        let v = &variability;
        let cv_ok = |f: &str, x: f64| {
            nonneg(f, x)?;
            if x > MAX_CV {
                return Err(bad(f, x, "a coefficient of variation or SD of at most 5 (0.3 = 30 %)"));
            }
            Ok(())
        };
        for (i, cv) in v.baseline_cv.iter().enumerate() {
            cv_ok(&format!("variability.baseline_cv[{i}]"), *cv)?;
        }
        for (f, x) in [
            ("variability.naive_fraction_logit_sd", v.naive_fraction_logit_sd),
            ("variability.clad_clearance_cv", v.clad_clearance_cv),
            (
                "variability.clad_bioavailability_logit_sd",
                v.clad_bioavailability_logit_sd,
            ),
            ("variability.alem_clearance_cv", v.alem_clearance_cv),
            ("variability.alem_volume_cv", v.alem_volume_cv),
            ("variability.t_floor_cv", v.t_floor_cv),
            ("variability.kappa_memory_cv", v.kappa_memory_cv),
            ("variability.thymic_cv", v.thymic_cv),
            ("variability.marrow_recovery_cv", v.marrow_recovery_cv),
            ("variability.clad_sensitivity_cv", v.clad_sensitivity_cv),
            ("variability.clad_b_sensitivity_cv", v.clad_b_sensitivity_cv),
            ("variability.setpoint_cv", v.setpoint_cv),
            ("variability.setpoint_cd8_cv", v.setpoint_cd8_cv),
        ] {
            cv_ok(f, x)?;
        }
        if !v.baseline_correlation.is_finite() {
            return Err(bad(
                "variability.baseline_correlation",
                v.baseline_correlation,
                "a finite correlation",
            ));
        }

        // Omega: the baseline block with a common correlation, everything else independent. Effects with zero
        // variance get a unit diagonal entry and a zero scale, so the matrix stays factorisable.
        let mut omega = DMatrix::<f64>::identity(N_ETA, N_ETA);
        let sd: Vec<f64> = v.baseline_cv.iter().map(|&cv| log_sd(cv)).collect();
        for i in 0..5 {
            for j in 0..5 {
                omega[(E_BASE + i, E_BASE + j)] = if i == j { 1.0 } else { v.baseline_correlation };
            }
        }
        let l = omega
            .cholesky()
            .ok_or(PopulationError::NotPositiveDefinite {
                correlation: v.baseline_correlation,
            })?
            .l();
        // Scale rows of L by each effect's SD, so that eta = diag(sd) * L * z.
        let mut scale = vec![0.0; N_ETA];
        scale[E_BASE..E_BASE + 5].copy_from_slice(&sd);
        for k in E_NAIVE..E_NAIVE + 3 {
            scale[k] = v.naive_fraction_logit_sd;
        }
        scale[E_CLAD_CL] = log_sd(v.clad_clearance_cv);
        scale[E_CLAD_F] = v.clad_bioavailability_logit_sd;
        scale[E_ALEM_CL] = log_sd(v.alem_clearance_cv);
        scale[E_ALEM_V] = log_sd(v.alem_volume_cv);
        scale[E_FLOOR] = log_sd(v.t_floor_cv);
        scale[E_KAPPA_M] = log_sd(v.kappa_memory_cv);
        scale[E_THYMIC] = log_sd(v.thymic_cv);
        scale[E_MARROW] = log_sd(v.marrow_recovery_cv);
        scale[E_CLAD_SENS] = log_sd(v.clad_sensitivity_cv);
        scale[E_CLAD_B] = log_sd(v.clad_b_sensitivity_cv);
        scale[E_SETPOINT] = log_sd(v.setpoint_cv);
        scale[E_SETPOINT_CD8] = log_sd(v.setpoint_cd8_cv);
        let chol = DMatrix::from_diagonal(&DVector::from_vec(scale)) * l;
        Ok(PopulationModel {
            typical,
            covariates,
            variability,
            chol,
        })
    }

    /// The reference population: typical parameters of model v1 with the default covariates and variability.
    pub fn reference_v1() -> Self {
        Self::new(
            ModelParams::reference_v1(),
            Covariates::default(),
            Variability::default(),
        )
        .expect("defaults are valid")
    }

    /// The typical parameters.
    pub fn typical(&self) -> &ModelParams {
        &self.typical
    }

    /// The covariate settings.
    pub fn covariates(&self) -> &Covariates {
        &self.covariates
    }

    /// The variability settings.
    pub fn variability(&self) -> &Variability {
        &self.variability
    }

    /// Number of standard-normal draws behind a patient's random effects ([`PopulationModel::patient`]).
    pub const RANDOM_EFFECTS: usize = N_ETA;

    /// What each standard-normal effect moves, in order. The five baselines are correlated: effect `k` of them
    /// moves baseline `k` and, through the correlation's Cholesky factor, the baselines after it.
    pub const RANDOM_EFFECT_NAMES: [&'static str; N_ETA] = [
        "baseline_alc",
        "baseline_cd4",
        "baseline_cd8",
        "baseline_cd19",
        "baseline_nk",
        "naive_fraction_cd4",
        "naive_fraction_cd8",
        "naive_fraction_b",
        "cladribine_clearance",
        "cladribine_bioavailability",
        "alemtuzumab_clearance",
        "alemtuzumab_volume",
        "t_cell_floor",
        "memory_turnover",
        "thymic_output",
        "marrow_recovery",
        "cladribine_sensitivity",
        "cladribine_b_sensitivity",
        "post_depletion_setpoint",
        "post_depletion_setpoint_cd8",
    ];

    /// Draws patient `id` from `rng` (which should be that patient's own stream): covariates, then
    /// [`PopulationModel::RANDOM_EFFECTS`] standard-normal draws mapped by [`PopulationModel::patient`].
    pub fn sample<R: Rng + ?Sized>(&self, id: u64, rng: &mut R) -> Patient {
        let c = &self.covariates;
        let age = truncated_normal(rng, c.age_mean, c.age_sd, c.age_range);
        let zw: f64 = StandardNormal.sample(rng);
        let weight = c.weight_median_kg * (log_sd(c.weight_cv) * zw).exp();
        let crcl = truncated_normal(rng, c.crcl_mean, c.crcl_sd, c.crcl_range);
        let u: f64 = rand::RngExt::random(rng);
        let nab = u < c.nab_probability;
        let z: Vec<f64> = (0..N_ETA).map(|_| StandardNormal.sample(rng)).collect();
        let covariates = PatientCovariates {
            age_years: age,
            weight_kg: weight,
            crcl_ml_min: crcl,
            neutralising_antibodies: nab,
        };
        self.patient(id, &covariates, &z)
    }

    /// The patient with these covariates whose random effects come from the standard-normal vector `z`
    /// (`z = 0` is the typical patient of these covariates; `η = Ω^{1/2} z` as in sampling). A deterministic map:
    /// the prior of `z` is N(0, I), which is what an estimate of one patient's effects works with.
    ///
    /// # Panics
    /// If `z` does not hold [`PopulationModel::RANDOM_EFFECTS`] numbers.
    pub fn patient(&self, id: u64, covariates: &PatientCovariates, z: &[f64]) -> Patient {
        assert_eq!(z.len(), N_ETA, "a patient needs {N_ETA} standard-normal draws");
        let eta = &self.chol * DVector::from_column_slice(z);
        let PatientCovariates {
            age_years: age,
            weight_kg: weight,
            crcl_ml_min: crcl,
            neutralising_antibodies: nab,
        } = *covariates;
        let t = &self.typical;
        let mut p = t.clone();
        p.age_years = age;
        p.creatinine_clearance_ml_min = crcl;
        let e = |k: usize| eta[k].exp();
        p.alc_0 = t.alc_0 * e(E_BASE);
        p.cd4_0 = t.cd4_0 * e(E_BASE + 1);
        p.cd8_0 = t.cd8_0 * e(E_BASE + 2);
        p.cd19_0 = t.cd19_0 * e(E_BASE + 3);
        p.nk_0 = t.nk_0 * e(E_BASE + 4);
        p.naive_fraction_cd4 = expit(logit(t.naive_fraction_cd4) + eta[E_NAIVE]);
        p.naive_fraction_cd8 = expit(logit(t.naive_fraction_cd8) + eta[E_NAIVE + 1]);
        p.naive_fraction_b = expit(logit(t.naive_fraction_b) + eta[E_NAIVE + 2]);
        p.clad_renal_cl_l_per_day = t.clad_renal_cl_l_per_day * e(E_CLAD_CL);
        p.clad_nonrenal_cl_l_per_day = t.clad_nonrenal_cl_l_per_day * e(E_CLAD_CL);
        p.clad_bioavailability = if t.clad_bioavailability > 0.0 && t.clad_bioavailability < 1.0 {
            expit(logit(t.clad_bioavailability) + eta[E_CLAD_F])
        } else {
            t.clad_bioavailability
        };
        p.alem_clearance_l_per_day = t.alem_clearance_l_per_day * e(E_ALEM_CL);
        p.alem_volume_l = t.alem_volume_l * e(E_ALEM_V);
        let floor = e(E_FLOOR);
        p.floor_memory_cd4 = (t.floor_memory_cd4 * floor).min(0.95);
        p.floor_memory_cd8 = (t.floor_memory_cd8 * floor).min(0.95);
        p.floor_naive_t = (t.floor_naive_t * floor).min(0.95);
        p.kappa_memory = t.kappa_memory * e(E_KAPPA_M);
        p.thymic_fraction = (t.thymic_fraction * e(E_THYMIC)).min(1.0);
        p.precursor_recovery = t.precursor_recovery * e(E_MARROW);
        let s = e(E_CLAD_SENS);
        let sb = s * e(E_CLAD_B);
        p.clad_kill_n4 = t.clad_kill_n4 * s;
        p.clad_kill_m4 = t.clad_kill_m4 * s;
        p.clad_kill_n8 = t.clad_kill_n8 * s;
        p.clad_kill_m8 = t.clad_kill_m8 * s;
        p.clad_kill_nk = t.clad_kill_nk * s;
        p.clad_kill_bn = t.clad_kill_bn * sb;
        p.clad_kill_bm = t.clad_kill_bm * sb;
        p.clad_kill_pb = t.clad_kill_pb * sb;
        p.setpoint_shift = t.setpoint_shift * e(E_SETPOINT);
        p.setpoint_ratio_cd8 = t.setpoint_ratio_cd8 * e(E_SETPOINT_CD8);
        Patient {
            id,
            age_years: age,
            weight_kg: weight,
            crcl_ml_min: crcl,
            neutralising_antibodies: nab,
            params: p,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::population::rng::patient_rng;

    #[test]
    fn sampled_spread_matches_the_stated_cvs() {
        let pop = PopulationModel::reference_v1();
        let n = 20_000;
        let pats: Vec<Patient> = (0..n).map(|i| pop.sample(i, &mut patient_rng(1, i))).collect();
        let logs: Vec<f64> = pats.iter().map(|p| (p.params.cd19_0 / 205.0).ln()).collect();
        let mean = logs.iter().sum::<f64>() / n as f64;
        let sd = (logs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt();
        assert!(mean.abs() < 0.02, "median of CD19 baseline off: log-mean {mean}");
        assert!((sd - log_sd(0.65)).abs() < 0.02, "log-SD {sd} vs {}", log_sd(0.65));
        // Baselines are correlated as configured.
        let l4: Vec<f64> = pats.iter().map(|p| (p.params.cd4_0 / 851.0).ln()).collect();
        let m4 = l4.iter().sum::<f64>() / n as f64;
        let cov: f64 = logs.iter().zip(&l4).map(|(a, b)| (a - mean) * (b - m4)).sum::<f64>() / (n - 1) as f64;
        let sd4 = (l4.iter().map(|x| (x - m4).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt();
        let r = cov / (sd * sd4);
        assert!((r - 0.6).abs() < 0.03, "correlation {r}");
        // Every sampled patient is a valid model.
        for p in pats.iter().take(2000) {
            crate::model::Model::new(p.params.clone()).unwrap();
        }
        let nab = pats.iter().filter(|p| p.neutralising_antibodies).count() as f64 / n as f64;
        assert!((nab - 0.31).abs() < 0.015, "{nab}");
    }

    #[test]
    fn non_positive_definite_omega_is_a_clear_error() {
        let v = Variability {
            baseline_correlation: -0.5,
            ..Default::default()
        };
        let e = PopulationModel::new(ModelParams::reference_v1(), Covariates::default(), v)
            .unwrap_err()
            .to_string();
        assert!(e.contains("positive definite") && e.contains("-0.5"), "{e}");
        let v = Variability {
            clad_sensitivity_cv: f64::NAN,
            ..Default::default()
        };
        let e = PopulationModel::new(ModelParams::reference_v1(), Covariates::default(), v)
            .unwrap_err()
            .to_string();
        assert!(e.contains("clad_sensitivity_cv"), "{e}");
    }
}
