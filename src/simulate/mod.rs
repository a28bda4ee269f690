//! Single-patient simulation: the event-segmented driver.
//!
//! A [`Problem`] says *what* to simulate (a validated [`Model`], the dose events of a regimen, a horizon and
//! observation days); [`SimOptions`] say *how* (integration [`Method`], [`SolverOptions`], and the drug
//! representation [`PkForm`]); [`simulate`] returns a [`Trajectory`], and [`simulate_streaming`] hands each
//! observation to a callback instead of storing it.
//!
//! The driver splits time at every dose event (oral dose, infusion start, infusion stop) and integrates one
//! event-free segment at a time, so no discontinuity ever falls inside a step. An observation at an event
//! time sees the state *before* the event (a trough sample).
//!
//! **Step cap.** In long quiet stretches an adaptive explicit method would grow its step to hundreds of days.
//! The cell turnover modes (rates up to ≈ 0.03 /day) would then lie outside the method's stability region, and
//! rounding noise — invisible to the error estimate — would grow until it reached the tolerance. The driver
//! therefore caps the step at [`STABILITY_CAP`]` / `[`Model::fastest_cell_turnover_per_day`] (≈ 67 days for
//! the reference patient), which costs a few dozen steps over ten years and keeps an untreated patient at
//! baseline to rounding precision.

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};
use crate::model::state::{self, cell, drug, CellState, DrugState, FullState, FULL};
use crate::model::{Model, Observables};
use crate::pk::{DrugPropagator, DrugSegment};
use crate::regimen::{DoseEvent, EventAction, Regimen};
use crate::solver::{integrate_segment, Method, OdeSystem, SolverOptions, SolverStats};

/// How the drug subsystem is handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum PkForm {
    /// Exact closed-form propagation between events; only the 9 cell states are integrated (default).
    #[default]
    Exact,
    /// The full 15-state ODE, drugs included (stiff: oral absorption at 72 /day).
    Ode,
}

impl PkForm {
    /// Stable name: `exact` or `ode`.
    pub fn name(self) -> &'static str {
        match self {
            PkForm::Exact => "exact",
            PkForm::Ode => "ode",
        }
    }
}

impl fmt::Display for PkForm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for PkForm {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "exact" => Ok(PkForm::Exact),
            "ode" => Ok(PkForm::Ode),
            _ => Err(Error::invalid("pk", s, "must be `exact` or `ode`")),
        }
    }
}

/// How to simulate.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct SimOptions {
    /// Integration method.
    pub method: Method,
    /// Tolerances and limits.
    pub solver: SolverOptions,
    /// Drug representation.
    pub pk: PkForm,
}

/// What to simulate for one patient.
#[derive(Debug, Clone)]
pub struct Problem {
    model: Model,
    events: Vec<DoseEvent>,
    horizon_days: f64,
    observation_days: Vec<f64>,
}

impl Problem {
    /// A patient on a regimen, observed once a day (days 0, 1, …, ⌊horizon⌋) up to `horizon_days`.
    pub fn new(model: Model, regimen: &Regimen, horizon_days: f64) -> Result<Self> {
        if !(horizon_days.is_finite() && horizon_days > 0.0) {
            return Err(Error::invalid(
                "days",
                horizon_days,
                "must be a finite horizon > 0 days",
            ));
        }
        let events = regimen.events()?;
        let daily = (0..=horizon_days.floor() as usize).map(|d| d as f64).collect();
        Ok(Problem {
            model,
            events,
            horizon_days,
            observation_days: daily,
        })
    }

    /// Replaces the observation days (each finite and within `[0, horizon]`; sorted and de-duplicated here).
    pub fn with_observation_days(mut self, mut days: Vec<f64>) -> Result<Self> {
        for (i, &d) in days.iter().enumerate() {
            if !(d.is_finite() && d >= 0.0 && d <= self.horizon_days) {
                return Err(Error::invalid(
                    format!("observation_days[{i}]"),
                    d,
                    format!("must be within [0, {}] days", self.horizon_days),
                ));
            }
        }
        days.sort_by(f64::total_cmp);
        days.dedup();
        self.observation_days = days;
        Ok(self)
    }

    /// The patient model.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// The sorted dose events.
    pub fn events(&self) -> &[DoseEvent] {
        &self.events
    }

    /// Simulation horizon (days).
    pub fn horizon_days(&self) -> f64 {
        self.horizon_days
    }

    /// Observation days, ascending.
    pub fn observation_days(&self) -> &[f64] {
        &self.observation_days
    }
}

/// The states at the observation days, with the work it took.
#[derive(Debug, Clone)]
pub struct Trajectory {
    /// Observation days, ascending.
    pub days: Vec<f64>,
    /// Full 15-state vector at each observation day (drug states first; see [`crate::model::state`]).
    pub states: Vec<FullState>,
    /// Integrator work.
    pub stats: SolverStats,
}

impl Trajectory {
    /// Observables at each observation day.
    pub fn observables(&self, model: &Model) -> Vec<Observables> {
        self.states.iter().map(|s| model.observe(s)).collect()
    }
}

/// The cell ODE with the drugs propagated exactly on one segment.
struct CellSystem<'a> {
    model: &'a Model,
    seg: DrugSegment<'a>,
    t0: f64,
}

impl OdeSystem<{ cell::COUNT }> for CellSystem<'_> {
    #[inline]
    fn rhs(&self, t: f64, c: &CellState, dc: &mut CellState) {
        self.model.cell_rhs(c, self.seg.exposure_at(t - self.t0), dc);
    }
}

/// The full 15-state ODE with a constant infusion rate on one segment.
struct FullSystem<'a> {
    model: &'a Model,
    infusion_mg_per_day: f64,
}

impl OdeSystem<FULL> for FullSystem<'_> {
    #[inline]
    fn rhs(&self, _t: f64, y: &FullState, dy: &mut FullState) {
        self.model.full_rhs(y, self.infusion_mg_per_day, dy);
    }
}

/// Largest `h · rate` allowed for the cell turnover modes (Dormand–Prince's real stability interval reaches
/// about 3.3; 2 leaves a margin).
pub const STABILITY_CAP: f64 = 2.0;

/// Simulates one patient and stores every observation.
pub fn simulate(problem: &Problem, opts: &SimOptions) -> Result<Trajectory> {
    let n = problem.observation_days.len();
    let mut days = Vec::with_capacity(n);
    let mut states = Vec::with_capacity(n);
    let stats = simulate_streaming(problem, opts, &mut |t, y| {
        days.push(t);
        states.push(*y);
    })?;
    Ok(Trajectory { days, states, stats })
}

/// Simulates one patient, handing each observation (day, full state) to `observe` in time order.
pub fn simulate_streaming(
    problem: &Problem,
    opts: &SimOptions,
    observe: &mut dyn FnMut(f64, &FullState),
) -> Result<SolverStats> {
    opts.solver.validate()?;
    let model = &problem.model;
    let mut solver = opts.solver;
    solver.max_step_days = solver
        .max_step_days
        .min(STABILITY_CAP / model.fastest_cell_turnover_per_day());
    let propagator = match opts.pk {
        PkForm::Exact => Some(DrugPropagator::new(model)?),
        PkForm::Ode => None,
    };
    let obs = &problem.observation_days;
    let horizon = problem.horizon_days;
    let events = &problem.events;

    let mut drugs: DrugState = [0.0; drug::COUNT];
    let mut cells: CellState = model.baseline_cells();
    let mut rate = 0.0;
    let mut stats = SolverStats::default();
    let mut t = 0.0;
    let mut oi = 0;
    let mut ei = 0;
    while oi < obs.len() && obs[oi] <= 0.0 {
        observe(obs[oi], &state::join(&drugs, &cells));
        oi += 1;
    }

    loop {
        while ei < events.len() && events[ei].day <= t {
            apply(&events[ei], model, &mut drugs, &mut rate);
            ei += 1;
        }
        if t >= horizon {
            break;
        }
        let t_next = if ei < events.len() {
            events[ei].day.min(horizon)
        } else {
            horizon
        };
        let oj = oi + obs[oi..].partition_point(|&o| o <= t_next);
        let seg_obs = &obs[oi..oj];
        match &propagator {
            Some(prop) => {
                let seg = prop.segment(&drugs, rate);
                let sys = CellSystem { model, seg, t0: t };
                integrate_segment(
                    opts.method,
                    &solver,
                    &sys,
                    t,
                    t_next,
                    &mut cells,
                    seg_obs,
                    &mut |to, c| observe(to, &state::join(&sys.seg.state_at(to - sys.t0), c)),
                    &mut stats,
                )?;
                drugs = sys.seg.state_at(t_next - t);
            }
            None => {
                let sys = FullSystem {
                    model,
                    infusion_mg_per_day: rate,
                };
                let mut y = state::join(&drugs, &cells);
                integrate_segment(
                    opts.method,
                    &solver,
                    &sys,
                    t,
                    t_next,
                    &mut y,
                    seg_obs,
                    observe,
                    &mut stats,
                )?;
                (drugs, cells) = state::split(&y);
            }
        }
        oi = oj;
        t = t_next;
    }
    Ok(stats)
}

fn apply(ev: &DoseEvent, model: &Model, drugs: &mut DrugState, rate: &mut f64) {
    match ev.action {
        EventAction::OralDose { amount_mg } => drugs[drug::G] += model.params().clad_bioavailability * amount_mg,
        EventAction::InfusionStart { rate_mg_per_day } => *rate += rate_mg_per_day,
        EventAction::InfusionStop { rate_mg_per_day } => {
            *rate -= rate_mg_per_day;
            if rate.abs() <= 1e-9 * rate_mg_per_day {
                *rate = 0.0;
            }
        }
    }
}
