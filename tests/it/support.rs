//! Shared helpers for the integration tests.

use lymphosim::prelude::*;

/// Ten years in days.
pub const TEN_YEARS: f64 = 3652.5;

/// The typical patient on a preset (70 kg, 12-month interval).
pub fn preset(name: &str) -> Regimen {
    presets::build(name, &PresetOptions::default()).unwrap()
}

/// Options with a method, tolerance and drug form.
pub fn opts(method: Method, tol: f64, pk: PkForm) -> SimOptions {
    SimOptions {
        method,
        solver: SolverOptions {
            rtol: tol,
            atol: tol,
            ..SolverOptions::default()
        },
        pk,
    }
}

/// Simulates the typical patient.
pub fn run(regimen: &Regimen, days: f64, o: &SimOptions) -> Trajectory {
    let p = Problem::new(Model::reference_v1(), regimen, days).unwrap();
    simulate(&p, o).unwrap()
}

/// Largest relative difference between two trajectories' observables, as (difference, day, observable), with
/// absolute floors: 1 cell/µL for counts, 1e-6 µg/mL for alemtuzumab, 1e-3 ng/mL for cladribine. With
/// `cells_only`, the drug concentrations are left out.
fn max_rel_diff(a: &Trajectory, b: &Trajectory, cells_only: bool) -> (f64, f64, &'static str) {
    let m = Model::reference_v1();
    assert_eq!(a.days, b.days);
    let mut worst = (0.0, 0.0, "");
    for ((d, x), y) in a.days.iter().zip(&a.states).zip(&b.states) {
        let (ox, oy) = (m.observe(x), m.observe(y));
        let pairs = [
            ("ALC", ox.alc, oy.alc, 1.0),
            ("CD4", ox.cd4, oy.cd4, 1.0),
            ("CD8", ox.cd8, oy.cd8, 1.0),
            ("CD19", ox.cd19, oy.cd19, 1.0),
            ("NK", ox.nk, oy.nk, 1.0),
            ("alemtuzumab", ox.alemtuzumab_ug_per_ml, oy.alemtuzumab_ug_per_ml, 1e-6),
            ("cladribine", ox.cladribine_ng_per_ml, oy.cladribine_ng_per_ml, 1e-3),
        ];
        let n = if cells_only { 5 } else { pairs.len() };
        for (name, u, v, floor) in &pairs[..n] {
            let r = (u - v).abs() / v.abs().max(*floor);
            if r > worst.0 {
                worst = (r, *d, *name);
            }
        }
    }
    worst
}

/// Every observable, concentrations included (see [`max_rel_diff`]).
pub fn max_rel_obs_diff(a: &Trajectory, b: &Trajectory) -> (f64, f64, &'static str) {
    max_rel_diff(a, b, false)
}

/// The solver error metric of `docs/solvers.md`: cell observables (ALC, CD4, CD8, CD19, NK) with a 1 cell/µL
/// floor.
pub fn max_rel_cell_diff(a: &Trajectory, b: &Trajectory) -> (f64, f64, &'static str) {
    max_rel_diff(a, b, true)
}

/// Runs the `lymphosim` binary; returns (success, stdout, stderr).
pub fn lymphosim(args: &[&str]) -> (bool, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_lymphosim"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A fresh, empty temporary path unique to this test process.
pub fn fresh_dir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("lymphosim-it-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}
