//! Patients in SIMD lanes: [`solve_batch`] advances four patients at once.
//!
//! A cohort simulates thousands of patients on one model with different parameters. Here four of them share
//! every Dormand–Prince stage: their cell states sit side by side in [`wide::f64x4`] lanes, and one pass of the
//! right-hand side ([`crate::model::Real`]) computes the stage for all four. Everything else stays per patient:
//! each lane has its own step size, accept/reject decision, segment end, events, lab gates (the rules of [`solve`], as a resumable plan) and
//! observer. When a lane's segment ends, that lane alone applies its doses and starts its next segment while the
//! others go on; when its patient is finished, the next patient takes the lane.
//!
//! **Same bits in any lane.** Each lane performs exactly the operations of the one-patient path, in the same
//! order — the stage sums, the right-hand side (one generic code for `f64` and `f64x4`), the drug exposures
//! (computed per lane by the same closed form), the error norm, the step control (one per-attempt loop shared with `solve`) and the dense
//! output — and IEEE addition, multiplication, division and square root are exact in both. So a patient's
//! result does not depend on its lane, its batch or the path: it is bit for bit what [`solve`] gives
//! (`tests/it/lanes.rs` checks this alone, in batches of 4 and 8, and against `solve`).
//!
//! Lanes are used for the default method and drug form ([`Method::Dopri5`] with exact PK) when every patient of
//! the batch has the same model structure ([`crate::model::Structure`]); otherwise [`solve_batch`] solves the
//! patients one by one with [`solve`].

use rand::Rng;
use wide::f64x4;

use super::observer::{Observer, RunRecord};
use super::solve::{CoursePlan, PlanStep};
use super::{solve, AdvanceCursor, CellSink, CellSystem, PkForm, Problem, Segment, SimOptions, Simulator};
use crate::error::{Error, Result};
use crate::model::state::{cell, CellState};
use crate::model::{CellCoeffs, Structure, LANES};
use crate::pk::DrugPropagator;
use crate::solver::adaptive::{serve_observations, SegmentRun, Stepper};
use crate::solver::dopri5::{self as dp, Stages};
use crate::solver::{initial_step, Method, OdeSystem, Sink, Step};

const N: usize = cell::COUNT;
type Lanes = [f64x4; N];

/// Solves every problem — problem `i` with `rngs[i]` into `observers[i]` — and returns result `i` for problem `i`.
///
/// With [`Method::Dopri5`] and exact PK the patients run four at a time in SIMD lanes; every result is bit for
/// bit what [`solve`] gives for the same problem, stream and observer. One patient's failure is its own result
/// and never stops the others. Fails only if the three lists differ in length.
pub fn solve_batch<R, O>(
    problems: &[Problem],
    rngs: &mut [R],
    observers: &mut [O],
    opts: &SimOptions,
) -> Result<Vec<Result<RunRecord>>>
where
    R: Rng,
    O: Observer,
{
    if rngs.len() != problems.len() || observers.len() != problems.len() {
        return Err(Error::invalid(
            "solve_batch",
            format!(
                "{} problems, {} streams, {} observers",
                problems.len(),
                rngs.len(),
                observers.len()
            ),
            "needs one stream and one observer per problem",
        ));
    }
    let Some(structure) = problems.first().map(|p| p.model().cell_coeffs().1) else {
        return Ok(Vec::new());
    };
    let lanes_apply = opts.method == Method::Dopri5
        && opts.pk == PkForm::Exact
        && problems.iter().all(|p| p.model().cell_coeffs().1 == structure);
    if !lanes_apply {
        return Ok(problems
            .iter()
            .zip(rngs.iter_mut())
            .zip(observers.iter_mut())
            .map(|((p, r), o)| solve(p, opts, r, o))
            .collect());
    }
    let mut propagators: Vec<Option<DrugPropagator>> = Vec::with_capacity(problems.len());
    let mut results: Vec<Option<Result<RunRecord>>> = Vec::with_capacity(problems.len());
    for p in problems {
        match DrugPropagator::new(p.model()) {
            Ok(prop) => {
                propagators.push(Some(prop));
                results.push(None);
            }
            Err(e) => {
                propagators.push(None);
                results.push(Some(Err(e.into())));
            }
        }
    }
    let mut batch = Batch {
        opts,
        structure,
        problems,
        propagators: &propagators,
        lanes: [None, None, None, None],
        coeffs: None,
        next_job: 0,
    };
    batch.run(rngs, observers, &mut results);
    Ok(results
        .into_iter()
        .map(|r| r.expect("every patient of the batch has a result"))
        .collect())
}

/// One patient in a lane.
struct Lane<'p> {
    job: usize,
    sim: Simulator<'p>,
    plan: CoursePlan<'p>,
    /// The advance in progress (to a gate visit or the horizon), if any.
    cursor: Option<AdvanceCursor>,
    /// The segment being integrated, if any.
    active: Option<Active<'p>>,
    observer_steps: bool,
}

/// A segment being integrated in a lane, with the attempt in flight.
struct Active<'p> {
    seg: Segment,
    /// The cell ODE with this segment's closed-form drug solution.
    sys: CellSystem<'p>,
    /// The adaptive loop's state (step, controller, observation cursor).
    run: SegmentRun,
    /// Cell states at `t` (cells/µL; per day for `PB`, `F`, `S` — see [`cell`]).
    y: CellState,
    /// Their time derivatives at `t` (per day).
    f0: CellState,
    /// Start of the attempt in flight (day).
    t: f64,
    /// Its step (days).
    h: f64,
    /// Its end (day): `t + h`, or the segment end exactly.
    t_new: f64,
}

/// What a lane needs before the next lockstep attempt.
enum Progress {
    /// It has an attempt planned.
    Ready,
    /// Its patient is finished (the plan said so).
    Done,
}

/// Up to [`LANES`] patients in flight, and the patients still waiting for a lane.
struct Batch<'p, 'o> {
    opts: &'o SimOptions,
    structure: Structure,
    problems: &'p [Problem],
    propagators: &'p [Option<DrugPropagator>],
    lanes: [Option<Lane<'p>>; LANES],
    /// The lanes' coefficients side by side; rebuilt when a lane changes patient.
    coeffs: Option<CellCoeffs<f64x4>>,
    /// The first patient not yet given a lane.
    next_job: usize,
}

impl<'p> Batch<'p, '_> {
    fn run<R: Rng, O: Observer>(
        &mut self,
        rngs: &mut [R],
        observers: &mut [O],
        results: &mut [Option<Result<RunRecord>>],
    ) {
        loop {
            for l in 0..LANES {
                self.fill(l, rngs, observers, results);
            }
            if self.lanes.iter().all(Option::is_none) {
                return;
            }
            self.attempt(observers, results);
        }
    }

    /// Brings lane `l` to a planned attempt, finishing patients and taking new ones as needed; leaves it empty
    /// when no patient is left.
    fn fill<R: Rng, O: Observer>(
        &mut self,
        l: usize,
        rngs: &mut [R],
        observers: &mut [O],
        results: &mut [Option<Result<RunRecord>>],
    ) {
        loop {
            let Some(lane) = &mut self.lanes[l] else {
                // Take the next patient that has a propagator.
                while self.next_job < self.problems.len() && results[self.next_job].is_some() {
                    self.next_job += 1;
                }
                if self.next_job == self.problems.len() {
                    return;
                }
                let job = self.next_job;
                self.next_job += 1;
                let problem = &self.problems[job];
                let prop = self.propagators[job].as_ref();
                match Simulator::new(problem.model(), prop, self.opts) {
                    Ok(mut sim) => {
                        sim.drugs_observed = observers[job].observes_drugs();
                        self.lanes[l] = Some(Lane {
                            job,
                            sim,
                            plan: CoursePlan::new(problem),
                            cursor: None,
                            active: None,
                            observer_steps: observers[job].observes_steps(),
                        });
                        self.coeffs = None;
                    }
                    Err(e) => results[job] = Some(Err(e)),
                }
                continue;
            };
            let job = lane.job;
            let obs = self.problems[job].observation_days();
            match lane.progress(obs, &mut rngs[job], &mut observers[job]) {
                Ok(Progress::Ready) => return,
                Ok(Progress::Done) => {
                    let lane = self.lanes[l].take().expect("the lane holds a patient");
                    let stats = lane.sim.stats();
                    results[job] = Some(Ok(lane.plan.finish(stats, &mut observers[job])));
                }
                Err(e) => {
                    self.lanes[l] = None;
                    results[job] = Some(Err(e));
                }
            }
        }
    }

    /// One Dormand–Prince attempt in every occupied lane, then each lane's accept/reject on its own.
    fn attempt<O: Observer>(&mut self, observers: &mut [O], results: &mut [Option<Result<RunRecord>>]) {
        // An empty lane repeats an occupied one (its result is not used).
        let donor = self
            .lanes
            .iter()
            .position(Option::is_some)
            .expect("some lane is occupied");
        let source: [usize; LANES] = std::array::from_fn(|l| if self.lanes[l].is_some() { l } else { donor });
        let lanes = &self.lanes;
        let lane = |l: usize| lanes[source[l]].as_ref().expect("occupied");
        let coeffs = *self
            .coeffs
            .get_or_insert_with(|| CellCoeffs::gather(std::array::from_fn(|l| lane(l).sim.model.cell_coeffs().0)));
        let coeffs = &coeffs;
        let acts: [&Active<'p>; LANES] = std::array::from_fn(|l| {
            lane(l)
                .active
                .as_ref()
                .expect("an occupied lane has an attempt planned")
        });
        let t: [f64; LANES] = std::array::from_fn(|l| acts[l].t);
        let h_s: [f64; LANES] = std::array::from_fn(|l| acts[l].h);
        let t_new: [f64; LANES] = std::array::from_fn(|l| acts[l].t_new);
        let h = f64x4::new(h_s);
        let y: Lanes = std::array::from_fn(|i| f64x4::new(std::array::from_fn(|l| acts[l].y[i])));
        let mut k: [Lanes; 7] = [[f64x4::ZERO; N]; 7];
        k[0] = std::array::from_fn(|i| f64x4::new(std::array::from_fn(|l| acts[l].f0[i])));
        let structure = self.structure;
        // The drug exposures of the lanes at one stage time each (the closed form, lane by lane).
        let exposures = |times: [f64; LANES]| -> [f64x4; 3] {
            let mut ca = [0.0; LANES];
            let mut dmg = [0.0; LANES];
            let mut imp = [0.0; LANES];
            for l in 0..LANES {
                let a = acts[l];
                let e = a.sys.seg.exposure_at(times[l] - a.sys.t0);
                ca[l] = e.alemtuzumab_ug_per_ml;
                dmg[l] = e.cladribine_damage;
                imp[l] = e.impairment;
            }
            [f64x4::new(ca), f64x4::new(dmg), f64x4::new(imp)]
        };
        let rhs = |[ca, dmg, imp]: [f64x4; 3], c: &Lanes, dc: &mut Lanes| {
            crate::model::rhs::cell_rhs(coeffs, structure, c, ca, dmg, imp, dc);
        };
        let at = |c: f64| exposures(std::array::from_fn(|l| t[l] + c * h_s[l]));
        let mut ys: Lanes = [f64x4::ZERO; N];
        axpy(&mut ys, &y, h, &[(dp::A21, &k[0])]);
        rhs(at(dp::C2), &ys, &mut k[1]);
        axpy(&mut ys, &y, h, &[(dp::A31, &k[0]), (dp::A32, &k[1])]);
        rhs(at(dp::C3), &ys, &mut k[2]);
        axpy(&mut ys, &y, h, &[(dp::A41, &k[0]), (dp::A42, &k[1]), (dp::A43, &k[2])]);
        rhs(at(dp::C4), &ys, &mut k[3]);
        axpy(
            &mut ys,
            &y,
            h,
            &[(dp::A51, &k[0]), (dp::A52, &k[1]), (dp::A53, &k[2]), (dp::A54, &k[3])],
        );
        rhs(at(dp::C5), &ys, &mut k[4]);
        axpy(
            &mut ys,
            &y,
            h,
            &[
                (dp::A61, &k[0]),
                (dp::A62, &k[1]),
                (dp::A63, &k[2]),
                (dp::A64, &k[3]),
                (dp::A65, &k[4]),
            ],
        );
        let (ka, kb) = k.split_at_mut(5);
        // The last two stages share their time, so their exposure is computed once.
        let at_end = exposures(t_new);
        rhs(at_end, &ys, &mut kb[0]);
        let mut y_new: Lanes = [f64x4::ZERO; N];
        axpy(
            &mut y_new,
            &y,
            h,
            &[
                (dp::A71, &ka[0]),
                (dp::A73, &ka[2]),
                (dp::A74, &ka[3]),
                (dp::A75, &ka[4]),
                (dp::A76, &kb[0]),
            ],
        );
        rhs(at_end, &y_new, &mut kb[1]);
        // The error norms side by side, in the one-patient path's order of operations (`Stages::error`).
        let (atol, rtol) = (f64x4::splat(self.opts.solver.atol), f64x4::splat(self.opts.solver.rtol));
        let mut sum = f64x4::ZERO;
        for i in 0..N {
            let e = h
                * (f64x4::splat(dp::E1) * k[0][i]
                    + f64x4::splat(dp::E3) * k[2][i]
                    + f64x4::splat(dp::E4) * k[3][i]
                    + f64x4::splat(dp::E5) * k[4][i]
                    + f64x4::splat(dp::E6) * k[5][i]
                    + f64x4::splat(dp::E7) * k[6][i]);
            let q = e / (atol + rtol * y[i].abs().max(y_new[i].abs()));
            sum += q * q;
        }
        let err = (sum / f64x4::splat(N as f64)).sqrt().to_array();
        // Each occupied lane decides on its own, from its own column.
        for l in 0..LANES {
            let Some(lane) = &mut self.lanes[l] else { continue };
            let column = |v: &Lanes| -> CellState { std::array::from_fn(|i| v[i].as_array()[l]) };
            let job = lane.job;
            let obs = self.problems[job].observation_days();
            let step = Attempted {
                err: err[l],
                y_new: column(&y_new),
                f_new: column(&k[6]),
                stages: || {
                    let mut st = Stages::<N>::new();
                    for (s, ks) in st.k.iter_mut().enumerate() {
                        *ks = column(&k[s]);
                    }
                    st
                },
            };
            if let Err(e) = lane.after_attempt(step, obs, &mut observers[job]) {
                results[job] = Some(Err(e));
                self.lanes[l] = None;
                self.coeffs = None;
            }
        }
    }
}

/// One lane's column of a lockstep attempt: its error norm, its end state and derivative, and its stages on
/// demand (for the dense output).
struct Attempted<F: FnOnce() -> Stages<N>> {
    err: f64,
    y_new: CellState,
    f_new: CellState,
    stages: F,
}

/// `out = y + h·Σ aᵢ·kᵢ` in every lane, in the one-patient path's order of operations.
#[inline(always)]
fn axpy(out: &mut Lanes, y: &Lanes, h: f64x4, terms: &[(f64, &Lanes)]) {
    for i in 0..N {
        let mut s = f64x4::ZERO;
        for (a, k) in terms {
            s += f64x4::splat(*a) * k[i];
        }
        out[i] = y[i] + h * s;
    }
}

impl<'p> Lane<'p> {
    /// Moves the lane on (ends of segments, events, gate visits, new segments) until it has an attempt planned
    /// or its patient is finished.
    fn progress<R: Rng, O: Observer>(&mut self, obs: &[f64], rng: &mut R, observer: &mut O) -> Result<Progress> {
        loop {
            if self.active.is_some() {
                return Ok(Progress::Ready);
            }
            if let Some(cursor) = &mut self.cursor {
                match self.sim.next_segment(cursor, self.plan.events(), obs) {
                    Some(seg) => {
                        self.begin_segment(seg)?;
                        continue;
                    }
                    None => self.cursor = None,
                }
            }
            match self.plan.next(self.sim.time(), &self.sim.state(), rng, observer)? {
                PlanStep::AdvanceTo(to) => {
                    self.cursor = Some(self.sim.begin_advance(to, self.plan.events(), obs, observer)?);
                }
                PlanStep::Done => return Ok(Progress::Done),
            }
        }
    }

    /// Starts integrating `seg` as [`crate::solver::integrate_segment`] would with [`Method::Dopri5`], and plans its
    /// first attempt.
    fn begin_segment(&mut self, seg: Segment) -> Result<()> {
        let sim = &mut self.sim;
        let prop = sim.propagator.expect("lanes run with exact PK");
        let sys = CellSystem::new(sim.model, prop.segment(&sim.drugs, sim.infusion_rate()), seg.t0);
        sim.stats.segments += 1;
        let y = sim.cells;
        let mut f0 = [0.0; N];
        sys.rhs(seg.t0, &y, &mut f0);
        sim.stats.rhs_evals += 1;
        let opts = &sim.solver;
        let hmax = SegmentRun::max_step(opts, seg.t0, seg.t1);
        let order = <Stages<N> as Stepper<N>>::ORDER;
        let cold = initial_step(opts, &sys, seg.t0, &y, &f0, hmax, order, &mut sim.stats);
        let mut run = SegmentRun::begin(
            opts,
            <Stages<N> as Stepper<N>>::CONTROL,
            seg.t0,
            seg.t1,
            cold,
            &sim.warm,
        );
        let (t, h, t_new) = run.plan(opts, dp::NAME)?;
        self.active = Some(Active {
            seg,
            sys,
            run,
            y,
            f0,
            t,
            h,
            t_new,
        });
        Ok(())
    }

    /// Accepts or rejects the attempt just computed exactly as the one-patient loop does, and plans the next one
    /// or ends the segment.
    fn after_attempt<O: Observer, F: FnOnce() -> Stages<N>>(
        &mut self,
        step: Attempted<F>,
        obs: &[f64],
        observer: &mut O,
    ) -> Result<()> {
        let sim = &mut self.sim;
        let a = self.active.as_mut().expect("an attempt was planned");
        let (t, h, t_new) = (a.t, a.h, a.t_new);
        let opts = &sim.solver;
        sim.stats.rhs_evals += 6;
        let Attempted {
            err,
            y_new,
            f_new,
            stages,
        } = step;
        if err <= 1.0 {
            sim.stats.accepted_steps += 1;
            let seg_obs = &obs[a.seg.obs.clone()];
            let due = a.run.due(seg_obs);
            let mut sink = CellSink {
                observer,
                sys: &a.sys,
                drugs_observed: sim.drugs_observed,
                steps: self.observer_steps,
            };
            if !due.is_empty() {
                serve_observations(&mut stages(), &seg_obs[due], t, h, t_new, &a.y, &y_new, &mut sink);
            }
            if self.observer_steps {
                sink.step(&Step {
                    t0: t,
                    t1: t_new,
                    y0: &a.y,
                    f0: &a.f0,
                    y1: &y_new,
                    f1: &f_new,
                });
            }
            a.y = y_new;
            if a.run.accept(err, &mut sim.warm) {
                let a = self.active.take().expect("checked above");
                sim.cells = a.y;
                sim.drugs = a.sys.seg.state_at(a.seg.t1 - a.seg.t0);
                let cursor = self.cursor.as_mut().expect("a segment belongs to an advance");
                sim.end_segment(cursor, &a.seg);
                return Ok(());
            }
            a.f0 = f_new;
        } else {
            sim.stats.rejected_steps += 1;
            a.run.reject(err, dp::NAME)?;
        }
        let (t, h, t_new) = a.run.plan(opts, dp::NAME)?;
        (a.t, a.h, a.t_new) = (t, h, t_new);
        Ok(())
    }
}
