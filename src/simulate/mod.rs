//! Single-patient simulation: the event-segmented driver.
//!
//! A [`Problem`] says *what* to simulate (a validated [`Model`], a [`Regimen`] with its lab gates, a horizon,
//! observation days and lab measurement noise); [`SimOptions`] say *how* (integration [`Method`],
//! [`SolverOptions`], and the drug representation [`PkForm`]). [`solve`] is the one way a patient is simulated:
//! it hands every observation and course decision to an [`Observer`] and returns a [`RunRecord`] (what
//! happened to each course, the doses given, the work). [`simulate`] is `solve` into a stored [`Trajectory`].
//! [`solve_batch`] solves many problems, four per step in SIMD lanes ([`lanes`]), each bit for bit as `solve`
//! would; cohorts use it.
//!
//! The driver splits time at every dose event (oral dose, infusion start, infusion stop) and integrates one
//! event-free segment at a time, so no discontinuity ever falls inside a step. An observation at an event
//! time sees the state *before* the event (a trough sample).
//!
//! **Step cap.** In long quiet stretches an adaptive explicit method would grow its step to hundreds of days.
//! The cell turnover modes (rates up to ≈ 0.03 /day) would then lie outside the method's stability region, and
//! rounding noise — invisible to the error estimate — would grow until it reached the tolerance. The driver
//! therefore caps explicit methods' step at [`STABILITY_CAP`]` / `[`Model::fastest_cell_turnover_per_day`] (≈ 67 days for
//! the reference patient), which costs a few dozen steps over ten years and keeps an untreated patient at
//! baseline to rounding precision. The L-stable Rosenbrock method ([`Method::Rodas4`]) needs no cap.

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};
use crate::model::state::{self, cell, drug, CellState, DrugState, FullState, FULL};
use crate::model::{Exposure, Model};
use crate::pk::{DrugPropagator, DrugSegment};
use std::sync::Arc;

use crate::regimen::{DoseEvent, EventAction, Regimen};
use crate::solver::{integrate_segment, Method, OdeSystem, Sink, SolverOptions, SolverStats, Step, WarmStart};

pub mod lanes;
mod observer;
mod solve;

pub use lanes::solve_batch;
pub use observer::{CellStep, CourseFate, CourseRecord, Discard, ObserveFn, Observer, RunRecord, Trajectory};
pub use solve::solve;

/// How the drug subsystem is handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum PkForm {
    /// Exact closed-form propagation between events; only the 9 cell states are integrated (default).
    #[default]
    Exact,
    /// The full 16-state ODE, drugs included (stiff: oral absorption at 72 /day).
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

/// Longest horizon accepted (days): 100 years. Longer horizons are refused rather than attempted (a daily
/// grid over them would not fit in memory, and no patient is followed that long).
pub const MAX_HORIZON_DAYS: f64 = 100.0 * crate::units::DAYS_PER_YEAR;

/// Largest coefficient of variation of lab measurement noise accepted (1 = 100 %).
pub const MAX_LAB_NOISE_CV: f64 = 1.0;

/// What to simulate for one patient: the model, the regimen with its gates, the horizon, the observation days
/// and the lab measurement noise at gate visits.
#[derive(Debug, Clone)]
pub struct Problem {
    model: Model,
    regimen: Regimen,
    horizon_days: f64,
    observation_days: Arc<[f64]>,
    lab_noise_cv: f64,
}

/// Days 0, 1, …, ⌊horizon⌋: the default observation grid. The last grid built on this thread is reused when
/// the horizon repeats (a cohort builds one problem per patient and arm).
pub fn daily_grid(horizon_days: f64) -> Arc<[f64]> {
    thread_local! {
        static LAST: std::cell::RefCell<Option<(f64, Arc<[f64]>)>> = const { std::cell::RefCell::new(None) };
    }
    LAST.with(|last| {
        let mut last = last.borrow_mut();
        match &*last {
            Some((h, grid)) if *h == horizon_days => grid.clone(),
            _ => {
                let grid: Arc<[f64]> = (0..=horizon_days.floor() as usize).map(|d| d as f64).collect();
                *last = Some((horizon_days, grid.clone()));
                grid
            }
        }
    })
}

impl Problem {
    /// A patient on a regimen, observed once a day (days 0, 1, …, ⌊horizon⌋) up to `horizon_days`
    /// (finite, > 0 and at most [`MAX_HORIZON_DAYS`]). The regimen is validated here, gates included.
    pub fn new(model: Model, regimen: impl Into<Regimen>, horizon_days: f64) -> Result<Self> {
        if !(horizon_days.is_finite() && horizon_days > 0.0 && horizon_days <= MAX_HORIZON_DAYS) {
            return Err(Error::invalid(
                "horizon_days",
                horizon_days,
                format!("must be a finite horizon > 0 and <= {MAX_HORIZON_DAYS} days (100 years)"),
            ));
        }
        let regimen = regimen.into();
        regimen.administrations()?;
        Ok(Problem {
            model,
            regimen,
            horizon_days,
            observation_days: daily_grid(horizon_days),
            lab_noise_cv: 0.0,
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
        self.observation_days = days.into();
        Ok(self)
    }

    /// Shares an already built observation grid (strictly ascending, within `[0, horizon]`), e.g. one daily
    /// grid for every patient of a cohort.
    pub fn with_observation_grid(mut self, days: Arc<[f64]>) -> Result<Self> {
        let ok = days.windows(2).all(|w| w[0] < w[1])
            && days.first().is_none_or(|&d| d >= 0.0)
            && days.last().is_none_or(|&d| d <= self.horizon_days);
        if !ok {
            return Err(Error::invalid(
                "observation_days",
                format!("{} days", days.len()),
                format!("must be strictly ascending within [0, {}] days", self.horizon_days),
            ));
        }
        self.observation_days = days;
        Ok(self)
    }

    /// Sets the coefficient of variation of multiplicative log-normal measurement noise on the counts read at
    /// gate visits (0 = exact counts, the default; at most [`MAX_LAB_NOISE_CV`]).
    pub fn with_lab_noise_cv(mut self, cv: f64) -> Result<Self> {
        if !(cv.is_finite() && (0.0..=MAX_LAB_NOISE_CV).contains(&cv)) {
            return Err(Error::invalid(
                "lab_noise_cv",
                cv,
                format!("must be a coefficient of variation in [0, {MAX_LAB_NOISE_CV}]"),
            ));
        }
        self.lab_noise_cv = cv;
        Ok(self)
    }

    /// The patient model.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// The regimen, with its gates.
    pub fn regimen(&self) -> &Regimen {
        &self.regimen
    }

    /// Simulation horizon (days).
    pub fn horizon_days(&self) -> f64 {
        self.horizon_days
    }

    /// Observation days, ascending.
    pub fn observation_days(&self) -> &[f64] {
        &self.observation_days
    }

    /// Coefficient of variation of lab measurement noise at gate visits.
    pub fn lab_noise_cv(&self) -> f64 {
        self.lab_noise_cv
    }
}

/// The cell ODE with the drugs propagated exactly on one segment.
struct CellSystem<'a> {
    model: &'a Model,
    seg: DrugSegment<'a>,
    t0: f64,
    /// The last exposure computed and its time: a Dormand–Prince step evaluates its last two stages at the same
    /// time, and the exposure (several exponentials) is then computed once.
    last: std::cell::Cell<(f64, Exposure)>,
}

impl<'a> CellSystem<'a> {
    fn new(model: &'a Model, seg: DrugSegment<'a>, t0: f64) -> Self {
        CellSystem {
            model,
            seg,
            t0,
            last: std::cell::Cell::new((f64::NAN, Exposure::default())),
        }
    }

    /// The drug exposure at day `t` of the segment.
    #[inline]
    fn exposure(&self, t: f64) -> Exposure {
        let (t_last, e_last) = self.last.get();
        if t == t_last {
            return e_last;
        }
        let e = self.seg.exposure_at(t - self.t0);
        self.last.set((t, e));
        e
    }
}

impl OdeSystem<{ cell::COUNT }> for CellSystem<'_> {
    #[inline]
    fn rhs(&self, t: f64, c: &CellState, dc: &mut CellState) {
        self.model.cell_rhs(c, self.exposure(t), dc);
    }

    /// Exact: `∂f/∂t` comes only through the exposure, whose time derivative the drug segment knows.
    fn jacobian(
        &self,
        t: f64,
        c: &CellState,
        _f0: &CellState,
        jac: &mut [[f64; cell::COUNT]; cell::COUNT],
        dfdt: &mut CellState,
    ) -> u64 {
        let e = self.seg.exposure_at(t - self.t0);
        self.model.cell_jacobian(c, e, jac);
        let rate = self.seg.exposure_rate_at(t - self.t0);
        let ep = self.model.exposure_partials(c, e);
        for i in 0..cell::COUNT {
            dfdt[i] = ep.alemtuzumab[i] * rate.alemtuzumab_ug_per_ml
                + ep.damage[i] * rate.cladribine_damage
                + ep.impairment[i] * rate.impairment;
        }
        0
    }
}

/// Hands a cell segment's observations (drug states rebuilt only if the observer reads them) and steps to an
/// observer.
struct CellSink<'a, 's, O: Observer + ?Sized> {
    observer: &'a mut O,
    sys: &'a CellSystem<'s>,
    drugs_observed: bool,
    steps: bool,
}

impl<O: Observer + ?Sized> Sink<{ cell::COUNT }> for CellSink<'_, '_, O> {
    fn observation(&mut self, t: f64, c: &CellState) {
        let drugs = if self.drugs_observed {
            self.sys.seg.state_at(t - self.sys.t0)
        } else {
            [0.0; drug::COUNT]
        };
        self.observer.on_observation(t, &state::join(&drugs, c));
    }
    fn wants_steps(&self) -> bool {
        self.steps
    }
    fn step(&mut self, s: &Step<'_, { cell::COUNT }>) {
        self.observer.on_step(&CellStep {
            t0: s.t0,
            t1: s.t1,
            cells0: *s.y0,
            rates0: *s.f0,
            cells1: *s.y1,
            rates1: *s.f1,
        });
    }
}

/// Hands a full-state segment's observations and steps (their cell part) to an observer.
struct FullSink<'a, O: Observer + ?Sized> {
    observer: &'a mut O,
    steps: bool,
}

impl<O: Observer + ?Sized> Sink<FULL> for FullSink<'_, O> {
    fn observation(&mut self, t: f64, y: &FullState) {
        self.observer.on_observation(t, y);
    }
    fn wants_steps(&self) -> bool {
        self.steps
    }
    fn step(&mut self, s: &Step<'_, FULL>) {
        self.observer.on_step(&CellStep {
            t0: s.t0,
            t1: s.t1,
            cells0: state::split(s.y0).1,
            rates0: state::split(s.f0).1,
            cells1: state::split(s.y1).1,
            rates1: state::split(s.f1).1,
        });
    }
}

/// The full 16-state ODE with a constant infusion rate on one segment.
struct FullSystem<'a> {
    model: &'a Model,
    infusion_mg_per_day: f64,
}

impl OdeSystem<FULL> for FullSystem<'_> {
    #[inline]
    fn rhs(&self, _t: f64, y: &FullState, dy: &mut FullState) {
        self.model.full_rhs(y, self.infusion_mg_per_day, dy);
    }

    /// Exact; the system is autonomous on a segment, so `∂f/∂t = 0`.
    fn jacobian(
        &self,
        _t: f64,
        y: &FullState,
        _f0: &FullState,
        jac: &mut [[f64; FULL]; FULL],
        dfdt: &mut FullState,
    ) -> u64 {
        self.model.full_jacobian(y, jac);
        *dfdt = [0.0; FULL];
        0
    }
}

/// Largest `h · rate` allowed for the cell turnover modes (Dormand–Prince's real stability interval reaches
/// about 3.3; 2 leaves a margin).
pub const STABILITY_CAP: f64 = 2.0;

/// Simulates one patient and stores every observation: [`solve`] into a [`Trajectory`].
///
/// Gates are honoured. Lab measurement noise needs the patient's random stream, so a problem with
/// `lab_noise_cv > 0` is refused here: call [`solve`] with the stream instead.
pub fn simulate(problem: &Problem, opts: &SimOptions) -> Result<Trajectory> {
    if problem.lab_noise_cv > 0.0 {
        return Err(Error::invalid(
            "lab_noise_cv",
            problem.lab_noise_cv,
            "needs a random stream for the measurement noise: call solve() with the patient's stream",
        ));
    }
    let mut traj = Trajectory::for_problem(problem);
    // No noise: the stream is never read.
    solve(problem, opts, &mut crate::population::rng::patient_rng(0, 0), &mut traj)?;
    Ok(traj)
}

/// A resumable simulation of one patient: advance it to a time, look at the state, decide what to dose next,
/// advance again. This is what lab-gated rules need; [`solve`] drives it, and a batch of them runs in SIMD lanes
/// ([`lanes`]).
pub(crate) struct Simulator<'m> {
    pub(crate) model: &'m Model,
    pub(crate) propagator: Option<&'m DrugPropagator>,
    pub(crate) method: Method,
    pub(crate) solver: SolverOptions,
    t: f64,
    pub(crate) drugs: DrugState,
    pub(crate) cells: CellState,
    rate: f64,
    pub(crate) stats: SolverStats,
    /// The step carried from one segment to the next (cleared when an event makes the integrated state jump).
    pub(crate) warm: WarmStart,
    observed_start: bool,
    /// Whether observations need the drug states (see [`Observer::observes_drugs`]).
    pub(crate) drugs_observed: bool,
}

/// One event-free stretch a [`Simulator`] integrates next ([`Simulator::next_segment`]).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Segment {
    /// Start (day): the simulator's current time.
    pub t0: f64,
    /// End (day): the next event or the advance's stop.
    pub t1: f64,
    /// The observation days inside `(t0, t1]`, as indices into the observation list.
    pub obs: std::ops::Range<usize>,
}

/// Where an advance stands: its stop and its cursors into the events and the observation days.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AdvanceCursor {
    t_stop: f64,
    oi: usize,
    ei: usize,
    first: usize,
}

impl AdvanceCursor {
    /// The events applied so far by this advance.
    pub(crate) fn consumed(&self) -> usize {
        self.ei - self.first
    }
}

impl<'m> Simulator<'m> {
    /// The drug propagator a simulation with these options needs (exact PK: one per patient), or none.
    pub fn propagator_for(model: &Model, opts: &SimOptions) -> Result<Option<DrugPropagator>> {
        Ok(match opts.pk {
            PkForm::Exact => Some(DrugPropagator::new(model)?),
            PkForm::Ode => None,
        })
    }

    /// An untreated patient at day 0. `propagator` is [`Simulator::propagator_for`]`(model, opts)`.
    pub fn new(model: &'m Model, propagator: Option<&'m DrugPropagator>, opts: &SimOptions) -> Result<Self> {
        opts.solver.validate()?;
        if propagator.is_some() != (opts.pk == PkForm::Exact) {
            return Err(Error::invalid(
                "pk",
                opts.pk,
                "the drug propagator must be given exactly when the PK is exact (internal error)",
            ));
        }
        let mut solver = opts.solver;
        if opts.method.is_explicit() {
            solver.max_step_days = solver
                .max_step_days
                .min(STABILITY_CAP / model.fastest_cell_turnover_per_day());
        }
        Ok(Simulator {
            model,
            propagator,
            method: opts.method,
            solver,
            t: 0.0,
            drugs: [0.0; drug::COUNT],
            cells: model.baseline_cells(),
            rate: 0.0,
            stats: SolverStats::default(),
            warm: WarmStart::cold(),
            observed_start: false,
            drugs_observed: true,
        })
    }

    /// Current time (day).
    pub fn time(&self) -> f64 {
        self.t
    }

    /// Current full state (before any event due at the current time that has not been applied yet).
    pub fn state(&self) -> FullState {
        state::join(&self.drugs, &self.cells)
    }

    /// Integrator work so far.
    pub fn stats(&self) -> SolverStats {
        self.stats
    }

    /// Advances to `t_stop`.
    ///
    /// `events` are sorted; those before `t_stop` (and at or after the current time) are applied, those at or
    /// after `t_stop` are left for the next call — an observation at `t_stop` sees the state before them.
    /// `obs` are sorted observation days; those in `(current time, t_stop]` are served (day 0 is served on the
    /// first call if listed). Returns how many events were consumed.
    pub fn advance<O: Observer + ?Sized>(
        &mut self,
        t_stop: f64,
        events: &[DoseEvent],
        obs: &[f64],
        observer: &mut O,
    ) -> Result<usize> {
        let mut cursor = self.begin_advance(t_stop, events, obs, observer)?;
        let model = self.model;
        let observer_steps = observer.observes_steps();
        while let Some(segment) = self.next_segment(&mut cursor, events, obs) {
            let Segment { t0: t, t1: t_next, .. } = segment;
            let seg_obs = &obs[segment.obs.clone()];
            match self.propagator {
                Some(prop) => {
                    let seg = prop.segment(&self.drugs, self.rate);
                    let sys = CellSystem::new(model, seg, t);
                    let mut sink = CellSink {
                        observer: &mut *observer,
                        sys: &sys,
                        drugs_observed: self.drugs_observed,
                        steps: observer_steps,
                    };
                    integrate_segment(
                        self.method,
                        &self.solver,
                        &sys,
                        t,
                        t_next,
                        &mut self.cells,
                        seg_obs,
                        &mut sink,
                        &mut self.warm,
                        &mut self.stats,
                    )?;
                    self.drugs = sys.seg.state_at(t_next - t);
                }
                None => {
                    let sys = FullSystem {
                        model,
                        infusion_mg_per_day: self.rate,
                    };
                    let mut y = state::join(&self.drugs, &self.cells);
                    let mut sink = FullSink {
                        observer: &mut *observer,
                        steps: observer_steps,
                    };
                    integrate_segment(
                        self.method,
                        &self.solver,
                        &sys,
                        t,
                        t_next,
                        &mut y,
                        seg_obs,
                        &mut sink,
                        &mut self.warm,
                        &mut self.stats,
                    )?;
                    (self.drugs, self.cells) = state::split(&y);
                }
            }
            self.end_segment(&mut cursor, &segment);
        }
        Ok(cursor.consumed())
    }

    /// Starts an advance to `t_stop` (see [`Simulator::advance`]): checks the stop and serves day-0
    /// observations on the first call.
    pub(crate) fn begin_advance<O: Observer + ?Sized>(
        &mut self,
        t_stop: f64,
        events: &[DoseEvent],
        obs: &[f64],
        observer: &mut O,
    ) -> Result<AdvanceCursor> {
        if !(t_stop.is_finite() && t_stop >= self.t) {
            return Err(Error::invalid(
                "t_stop",
                t_stop,
                format!("must be a finite day >= the current day {}", self.t),
            ));
        }
        let mut oi = obs.partition_point(|&o| o < self.t);
        if !self.observed_start {
            self.observed_start = true;
            while oi < obs.len() && obs[oi] <= self.t {
                observer.on_observation(obs[oi], &self.state());
                oi += 1;
            }
        } else {
            oi = obs.partition_point(|&o| o <= self.t);
        }
        let ei = events.partition_point(|e| e.day < self.t);
        Ok(AdvanceCursor {
            t_stop,
            oi,
            ei,
            first: ei,
        })
    }

    /// Applies the events due at the current time and says which segment to integrate next, or `None` once
    /// the advance has reached its stop.
    pub(crate) fn next_segment(
        &mut self,
        cursor: &mut AdvanceCursor,
        events: &[DoseEvent],
        obs: &[f64],
    ) -> Option<Segment> {
        let t_stop = cursor.t_stop;
        while cursor.ei < events.len() && events[cursor.ei].day <= self.t && events[cursor.ei].day < t_stop {
            apply(&events[cursor.ei], self.model, &mut self.drugs, &mut self.rate);
            // Under exact PK the integrated state is the cells alone, and no dose moves them (nor their
            // right-hand side: drug concentrations are continuous). Under ODE PK an oral dose jumps the gut
            // state and an infusion edge jumps its rate: start that segment cold.
            if self.propagator.is_none() {
                self.warm.clear();
            }
            cursor.ei += 1;
        }
        if self.t >= t_stop {
            return None;
        }
        let t_next = if cursor.ei < events.len() {
            events[cursor.ei].day.min(t_stop)
        } else {
            t_stop
        };
        let oj = cursor.oi + obs[cursor.oi..].partition_point(|&o| o <= t_next);
        Some(Segment {
            t0: self.t,
            t1: t_next,
            obs: cursor.oi..oj,
        })
    }

    /// Records that `segment` has been integrated (the cell and drug states already hold its end).
    pub(crate) fn end_segment(&mut self, cursor: &mut AdvanceCursor, segment: &Segment) {
        cursor.oi = segment.obs.end;
        self.t = segment.t1;
    }

    /// The infusion rate running now (mg/day).
    pub(crate) fn infusion_rate(&self) -> f64 {
        self.rate
    }
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
