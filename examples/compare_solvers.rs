//! Comparing integrators on one patient: how much work each method spends, and how close it gets.
//!
//! Run: `cargo run --release --example compare_solvers`
//!
//! What to look at: the typical patient on the `sequence` regimen (two alemtuzumab courses, cladribine a year
//! later), ten years, observed daily. Each method runs with the drugs propagated exactly (`exact`: only the nine
//! cell states are integrated) and with the drugs inside the ODE (`ode`: 16 states, with oral absorption at
//! 72 /day — a stiff mode). Watch three things:
//! - explicit methods need tens of thousands of steps once the stiff drug modes are in the ODE; the L-stable
//!   Rosenbrock method (rodas4) does not;
//! - with exact drug propagation the problem is no longer stiff and the explicit Dopri5 is cheapest;
//! - the error against a tight reference is 5 to 100 times the requested tolerance for every adaptive method:
//!   tolerances bound the error per step, and ten years are many steps.
//!
//! For a cohort-wide version with a figure, run `lymphosim bench work-precision --quick`.

use std::time::Instant;

use lymphosim::population::paramset::ParamSet;
use lymphosim::prelude::*;
use lymphosim::solver::SolverOptions;

/// Largest relative difference in ALC, CD4, CD8, CD19, NK (1 cell/µL floor).
fn max_rel_diff(model: &Model, a: &Trajectory, b: &Trajectory) -> f64 {
    let mut worst = 0.0f64;
    for (x, y) in a.observables(model).iter().zip(b.observables(model)) {
        for (u, v) in [
            (x.alc, y.alc),
            (x.cd4, y.cd4),
            (x.cd8, y.cd8),
            (x.cd19, y.cd19),
            (x.nk, y.nk),
        ] {
            worst = worst.max((u - v).abs() / v.abs().max(1.0));
        }
    }
    worst
}

fn main() -> lymphosim::Result<()> {
    let model = Model::new(ParamSet::shipped().typical)?;
    let regimen = presets::build("sequence", &PresetOptions::default())?;
    let problem = Problem::new(model, &regimen, 3652.5)?;
    let tight = SimOptions {
        solver: SolverOptions {
            rtol: 1e-13,
            atol: 1e-13,
            ..SolverOptions::default()
        },
        ..SimOptions::default()
    };
    let reference = simulate(&problem, &tight)?;

    println!("sequence, 10 years, daily observations; rtol = atol = 1e-6 (RK4: 0.02-day step)\n");
    println!(
        "{:<20} {:<6} {:>9} {:>9} {:>7} {:>10} {:>10}",
        "method", "pk", "steps", "RHS", "LU", "time (ms)", "error"
    );
    for method in Method::ALL {
        for pk in [PkForm::Exact, PkForm::Ode] {
            let opts = SimOptions {
                method,
                pk,
                ..SimOptions::default()
            };
            let start = Instant::now();
            let traj = simulate(&problem, &opts)?;
            let ms = start.elapsed().as_secs_f64() * 1e3;
            let s = traj.stats();
            println!(
                "{:<20} {:<6} {:>9} {:>9} {:>7} {:>10.2} {:>10.1e}",
                method.name(),
                pk.name(),
                s.accepted_steps,
                s.rhs_evals,
                s.lu_decompositions,
                ms,
                max_rel_diff(problem.model(), &traj, &reference)
            );
        }
    }
    println!("\n(one run each, wall time on this machine: for careful numbers use `cargo bench --bench solvers`)");
    Ok(())
}
