//! Parameter sets as files: typical values and variability, with the provenance of a calibration.
//!
//! ```toml
//! model = "v1"
//! [provenance]
//! targets_sha256 = "…"      # the targets table the set was fitted to
//! seed = 20261124
//! patients = 1000
//! command = "lymphosim calibrate …"
//! fitted = ["clad_kill_m4", "variability.clad_sensitivity_cv"]
//! loss_initial = 812.4
//! loss_final = 95.1
//! [parameters]              # every model parameter (lymphosim params)
//! clad_kill_m4 = 0.11
//! [variability]             # every variability setting (docs/cohort.md)
//! clad_sensitivity_cv = 0.6
//! ```
//!
//! Missing names keep their reference-v1 values; unknown names are an error naming the field.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::{Model, ModelParams};
use crate::population::{Covariates, PopulationModel, Variability};

/// A parameter-set file that cannot be used, naming the field path and what is wrong.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ParamSetError {
    /// Field path, e.g. `parameters.clad_kill_m4` (`<file>` for syntax errors).
    pub path: String,
    /// What is wrong, with the value.
    pub message: String,
}

/// Where a parameter set came from.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Provenance {
    /// SHA-256 of the targets table.
    pub targets_sha256: String,
    /// Seed of the cohorts used in the loss.
    pub seed: u64,
    /// Patients per cohort in the loss (0: typical patient only).
    pub patients: u64,
    /// The command that produced the set.
    pub command: String,
    /// The fitted names (`variability.` prefix for variability settings).
    pub fitted: Vec<String>,
    /// Quantities fitted by earlier commands of the set's history (the start set's fitted ones) and held at their
    /// values by this command; empty when the command fitted from a set nobody fitted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fitted_before: Vec<String>,
    /// Loss before fitting.
    pub loss_initial: f64,
    /// Loss after fitting.
    pub loss_final: f64,
}

impl Provenance {
    /// Every quantity the data set in this set: those fitted earlier, then those this command fitted.
    pub fn all_fitted(&self) -> Vec<String> {
        let mut all: Vec<String> = self
            .fitted_before
            .iter()
            .filter(|n| !self.fitted.contains(n))
            .cloned()
            .collect();
        all.extend(self.fitted.iter().cloned());
        all
    }
}

/// How uncertain a set's fitted quantities are: an approximate posterior, log-normal around the set's values, from
/// the curvature of the calibration loss (`lymphosim identifiability`; `crate::calibration::uncertainty`), or a
/// sample of the posterior (`lymphosim posterior`; `crate::calibration::posterior`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Uncertainty {
    /// How it was obtained, in words (method, loss, cohort size, prior).
    pub method: String,
    /// The quantities, as `--fit` names them (`variability.` prefix for variability settings).
    pub names: Vec<String>,
    /// Covariance of their natural logarithms (dimensionless), `names.len()` rows of `names.len()` numbers.
    pub log_covariance: Vec<Vec<f64>>,
    /// Draws of a sampled posterior, each `names.len()` natural-log offsets from the set's values (dimensionless;
    /// empty for the Laplace approximation). When present, `run --uncertainty N` takes N of these draws instead
    /// of drawing from the covariance.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub draws: Vec<Vec<f64>>,
}

impl Uncertainty {
    /// Checks the shape and that the diagonal is finite and ≥ 0.
    pub fn validate(&self) -> Result<(), ParamSetError> {
        let n = self.names.len();
        let bad = |message: String| ParamSetError {
            path: "uncertainty.log_covariance".into(),
            message,
        };
        if self.log_covariance.len() != n || self.log_covariance.iter().any(|r| r.len() != n) {
            return Err(bad(format!("must be {n} rows of {n} numbers (one per name)")));
        }
        for (i, row) in self.log_covariance.iter().enumerate() {
            if row.iter().any(|v| !v.is_finite()) || row[i] < 0.0 {
                return Err(bad(format!(
                    "row {i} ({}) has a non-finite or negative variance",
                    self.names[i]
                )));
            }
        }
        let max = crate::calibration::posterior::MAX_STORED_DRAWS;
        if self.draws.len() > max {
            return Err(ParamSetError {
                path: "uncertainty.draws".into(),
                message: format!("has {} draws; at most {max}", self.draws.len()),
            });
        }
        if let Some((j, _)) = self
            .draws
            .iter()
            .enumerate()
            .find(|(_, d)| d.len() != n || d.iter().any(|v| !v.is_finite()))
        {
            return Err(ParamSetError {
                path: "uncertainty.draws".into(),
                message: format!("draw {j} must be {n} finite numbers (one per name)"),
            });
        }
        Ok(())
    }
}

/// Typical parameters, variability and provenance.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamSet {
    /// Model variant.
    pub model: String,
    /// Typical parameters.
    pub typical: ModelParams,
    /// Variability settings.
    pub variability: Variability,
    /// Provenance (empty for hand-made sets).
    pub provenance: Provenance,
    /// The fitted quantities' approximate posterior, if computed.
    pub uncertainty: Option<Uncertainty>,
}

impl Default for ParamSet {
    fn default() -> Self {
        ParamSet {
            model: "v1".into(),
            typical: ModelParams::reference_v1(),
            variability: Variability::default(),
            provenance: Provenance::default(),
            uncertainty: None,
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSet {
    model: String,
    #[serde(default)]
    provenance: Provenance,
    #[serde(default)]
    parameters: BTreeMap<String, f64>,
    #[serde(default)]
    variability: BTreeMap<String, f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    uncertainty: Option<Uncertainty>,
}

/// Model variants: `v1` is the reference model; `v2` adds the impairment signal `R` that suppresses
/// lymphopenia-induced T-cell proliferation after cladribine (`clad_prolif_inhibition`, which must be 0 in v1,
/// and `clad_kr_per_day`); `v3` adds the memory T cells' shared niche (`memory_niche_share`) and their set point
/// that moves after a lymphopenia (`setpoint_shift`, `setpoint_rate`, `variability.setpoint_cv`; CD8's relative to
/// CD4's, `setpoint_ratio_cd8` and `variability.setpoint_cd8_cv`) and NK output from the marrow precursors
/// (`nk_marrow_coupling`), which must be 0, 1, 0, 1, 0 and 0 in v1 and v2.
pub const MODELS: [&str; 3] = ["v1", "v2", "v3"];

/// First guess of `clad_prolif_inhibition` when a fit turns a v1 set into v2.
pub const V2_FIRST_GUESS_INHIBITION: f64 = 10.0;

/// First guesses of the v3 quantities when a fit turns a v1 or v2 set into v3 (the fit works on their logs, so
/// they cannot start at their v2 values 0 and 1): half the naive pool in the memory niche, a set point 10 %
/// below baseline, varying 20 % between patients.
pub const V3_FIRST_GUESS: (f64, f64, f64) = (0.5, 0.9, 0.2);
/// First guess of `nk_marrow_coupling` when a fit turns a set into v3: half of NK output from the marrow.
pub const V3_FIRST_GUESS_NK_COUPLING: f64 = 0.5;

/// The quantities that belong to a later model variant and must keep their neutral values in an earlier one.
fn variant_quantities(typical: &ModelParams, variability: &Variability) -> [(&'static str, f64, f64, &'static str); 7] {
    [
        ("parameters.nk_marrow_coupling", typical.nk_marrow_coupling, 0.0, "v3"),
        (
            "parameters.clad_prolif_inhibition",
            typical.clad_prolif_inhibition,
            0.0,
            "v2",
        ),
        ("parameters.memory_niche_share", typical.memory_niche_share, 0.0, "v3"),
        ("parameters.setpoint_shift", typical.setpoint_shift, 1.0, "v3"),
        ("variability.setpoint_cv", variability.setpoint_cv, 0.0, "v3"),
        ("parameters.setpoint_ratio_cd8", typical.setpoint_ratio_cd8, 1.0, "v3"),
        ("variability.setpoint_cd8_cv", variability.setpoint_cd8_cv, 0.0, "v3"),
    ]
}

/// Checks that a set of variant `model` leaves the later variants' quantities at their neutral values.
fn check_variant(model: &str, typical: &ModelParams, variability: &Variability) -> Result<(), ParamSetError> {
    for (path, value, neutral, from) in variant_quantities(typical, variability) {
        if model < from && value != neutral {
            return Err(ParamSetError {
                path: path.into(),
                message: format!(
                    "is a model {from} quantity and must be {neutral} in a {model} set, got {value} (set model = \"{from}\")"
                ),
            });
        }
    }
    Ok(())
}

/// The shipped parameter set, the default everywhere: model v3 calibrated against the 62 shared targets
/// (`data/params-v3-calibrated.toml`, fitted from [`SHIPPED_V2`]; see `docs/calibration.md`).
pub const SHIPPED: &str = include_str!("../../data/params-v3-calibrated.toml");

/// Model v2 calibrated against the original 44 targets (`data/params-v2-calibrated.toml`): the default until
/// v3, kept beside it for comparison, loaded with `--params v2`.
pub const SHIPPED_V2: &str = include_str!("../../data/params-v2-calibrated.toml");

/// Reference model v1 calibrated against the shared targets (`data/params-v1-calibrated.toml`): kept beside v2
/// for comparison, loaded with `--params v1`.
pub const SHIPPED_V1: &str = include_str!("../../data/params-v1-calibrated.toml");

impl ParamSet {
    /// The shipped calibrated set (see [`SHIPPED`]).
    pub fn shipped() -> Self {
        Self::from_toml(SHIPPED).expect("the shipped parameter set is valid")
    }

    /// The typical patient of this set as a validated model.
    pub fn typical_model(&self) -> Model {
        Model::new(self.typical.clone()).expect("a parameter set's typical values are validated when it is built")
    }

    /// The virtual population of this set: its typical values and variability, with `covariates`.
    pub fn population(&self, covariates: Covariates) -> Result<PopulationModel, crate::population::PopulationError> {
        PopulationModel::new(self.typical.clone(), covariates, self.variability.clone())
    }

    /// The calibrated v2 set (see [`SHIPPED_V2`]).
    pub fn shipped_v2() -> Self {
        Self::from_toml(SHIPPED_V2).expect("the shipped v2 parameter set is valid")
    }

    /// The calibrated v1 set (see [`SHIPPED_V1`]).
    pub fn shipped_v1() -> Self {
        Self::from_toml(SHIPPED_V1).expect("the shipped v1 parameter set is valid")
    }

    /// Turns the set into model variant `model` (one of [`MODELS`]): a later variant's quantities that sit at
    /// their neutral values get first guesses ([`V2_FIRST_GUESS_INHIBITION`], [`V3_FIRST_GUESS`]) so a fit can
    /// move them; an earlier variant is refused if the set uses a later one's quantities.
    pub fn promote(&mut self, model: &str) -> Result<(), ParamSetError> {
        if !MODELS.contains(&model) {
            return Err(ParamSetError {
                path: "model".into(),
                message: format!("must be one of {MODELS:?}, got {model:?}"),
            });
        }
        if model >= "v2" && self.typical.clad_prolif_inhibition == 0.0 {
            self.typical.clad_prolif_inhibition = V2_FIRST_GUESS_INHIBITION;
        }
        if model >= "v3" {
            let (psi, shift, cv) = V3_FIRST_GUESS;
            if self.typical.memory_niche_share == 0.0 {
                self.typical.memory_niche_share = psi;
            }
            if self.typical.setpoint_shift == 1.0 {
                self.typical.setpoint_shift = shift;
            }
            if self.typical.nk_marrow_coupling == 0.0 {
                self.typical.nk_marrow_coupling = V3_FIRST_GUESS_NK_COUPLING;
            }
            if self.variability.setpoint_cv == 0.0 {
                self.variability.setpoint_cv = cv;
            }
        }
        check_variant(model, &self.typical, &self.variability)?;
        self.model = model.to_string();
        Ok(())
    }

    /// Parses a parameter-set file.
    pub fn from_toml(text: &str) -> Result<Self, ParamSetError> {
        let err = |path: String, message: String| ParamSetError { path, message };
        let de = toml::Deserializer::parse(text).map_err(|e| err("<file>".into(), e.to_string().trim().to_string()))?;
        let raw: RawSet = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            err(
                path,
                e.into_inner()
                    .to_string()
                    .lines()
                    .rfind(|l| !l.trim().is_empty())
                    .unwrap_or("invalid")
                    .trim()
                    .to_string(),
            )
        })?;
        if !MODELS.contains(&raw.model.as_str()) {
            return Err(err(
                "model".into(),
                format!("must be one of {MODELS:?}, got {:?}", raw.model),
            ));
        }
        let mut typical = ModelParams::reference_v1();
        for (k, v) in &raw.parameters {
            typical.set(k, *v).map_err(|_| {
                err(
                    format!("parameters.{k}"),
                    "unknown model parameter (see `lymphosim params`)".into(),
                )
            })?;
        }
        typical
            .validate()
            .map_err(|e| err("parameters".into(), e.to_string()))?;
        let mut variability = Variability::default();
        for (k, v) in &raw.variability {
            if !variability.set(k, *v) {
                return Err(err(
                    format!("variability.{k}"),
                    format!("unknown setting; known: {}", Variability::NAMES.join(", ")),
                ));
            }
        }
        check_variant(&raw.model, &typical, &variability)?;
        if let Some(u) = &raw.uncertainty {
            u.validate()?;
        }
        Ok(ParamSet {
            model: raw.model,
            typical,
            variability,
            provenance: raw.provenance,
            uncertainty: raw.uncertainty,
        })
    }

    /// Writes the set as TOML (every parameter and setting, so the file is complete on its own).
    pub fn to_toml(&self) -> String {
        let raw = RawSet {
            model: self.model.clone(),
            provenance: self.provenance.clone(),
            parameters: ModelParams::names()
                .map(|n| (n.to_string(), self.typical.get(n).expect("known")))
                .collect(),
            variability: Variability::NAMES
                .iter()
                .map(|n| (n.to_string(), self.variability.get(n).expect("known")))
                .collect(),
            uncertainty: self.uncertainty.clone(),
        };
        let body = toml::to_string(&raw).unwrap_or_default();
        format!(
            "# lymphosim parameter set (model {}); load with --params FILE\n{body}",
            self.model
        )
    }
}

impl Model {
    /// The typical patient of the shipped calibrated parameter set ([`ParamSet::shipped`]): the model every
    /// command uses unless told otherwise. [`Model::reference_v1`] is the first-guess alternative.
    pub fn shipped() -> Model {
        ParamSet::shipped().typical_model()
    }
}

impl PopulationModel {
    /// The virtual population of the shipped calibrated parameter set with the default covariates: what
    /// `lymphosim run` samples unless a scenario overrides it. [`PopulationModel::reference_v1`] is the
    /// first-guess alternative.
    pub fn shipped() -> PopulationModel {
        ParamSet::shipped()
            .population(Covariates::default())
            .expect("the shipped parameter set is a valid population")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_errors() {
        let mut s = ParamSet::default();
        s.typical.clad_kill_m4 = 0.123;
        s.variability.clad_sensitivity_cv = 0.7;
        s.provenance.fitted = vec!["clad_kill_m4".into()];
        let back = ParamSet::from_toml(&s.to_toml()).unwrap();
        assert_eq!(back, s);
        let e = ParamSet::from_toml("model = \"v1\"\n[parameters]\nno_such = 1\n").unwrap_err();
        assert_eq!(e.path, "parameters.no_such");
        let e = ParamSet::from_toml("model = \"v1\"\n[parameters]\ndeath_nk = -1\n").unwrap_err();
        assert!(e.to_string().contains("death_nk"));
        let e = ParamSet::from_toml("model = \"v9\"\n").unwrap_err();
        assert_eq!(e.path, "model");
        let e = ParamSet::from_toml("model = \"v1\"\n[parameters]\nclad_prolif_inhibition = 2\n").unwrap_err();
        assert_eq!(e.path, "parameters.clad_prolif_inhibition");
        let v2 = ParamSet::from_toml("model = \"v2\"\n[parameters]\nclad_prolif_inhibition = 2\n").unwrap();
        assert_eq!(v2.typical.clad_prolif_inhibition, 2.0);
        let e = ParamSet::from_toml("model = \"v1\"\ncolour = 1\n").unwrap_err();
        assert!(e.to_string().contains("colour"), "{e}");
    }
}
