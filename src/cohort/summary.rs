//! Cohort accumulators (exactly mergeable) and the summary computed from them.

use serde::{Deserialize, Serialize};

use super::histogram::{wilson95, DayHistogram, LogHistogram};
use crate::model::Grade;
use crate::outcome::{Counts, PatientOutcome};
use crate::regimen::Count;

/// Quantile levels reported everywhere.
pub const QUANTILES: [f64; 5] = [0.05, 0.25, 0.5, 0.75, 0.95];
/// Names of the banded subsets, in order.
pub const BAND_SUBSETS: [&str; 5] = ["ALC", "CD4", "CD8", "CD19", "NK"];
/// The subsets whose nadirs are summarised.
pub const NADIR_SUBSETS: [Count; 4] = [Count::Alc, Count::Cd4, Count::Cd8, Count::Cd19];

/// Everything one arm accumulates: integer counts only, so merging is exact and order-free.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArmAccumulator {
    /// Arm name.
    pub name: String,
    /// Patients simulated successfully.
    pub patients: u64,
    /// Patients whose simulation failed.
    pub failed: u64,
    /// Patients excluded because the regimen refused them (e.g. cladribine below 40 kg).
    pub excluded: u64,
    /// Patients simulated whose reference day (e.g. the switch) lies beyond the horizon: censored, left out of
    /// every outcome below but the bands.
    #[serde(default)]
    pub not_reached: u64,
    /// Patients by worst grade 0–4 (patients whose reference day was reached).
    pub worst_grade: [u64; 5],
    /// Patients by worst grade 0–4 seen at the scheduled lab visits (patients with a visit in their window;
    /// all zero without visits: see [`crate::outcome::OutcomeConfig::visit_days`]).
    #[serde(default)]
    pub worst_grade_at_visits: [u64; 5],
    /// Patients with CD4 < 200 at any time (from the continuous solution).
    pub cd4_below_200: u64,
    /// Patients with at least one delayed course.
    pub delayed: u64,
    /// Patients with a cancelled course.
    pub stopped: u64,
    /// Nadirs (ALC, CD4, CD8, CD19).
    pub nadir: Vec<LogHistogram>,
    /// Counts at the reference day (ALC, CD4, CD8, CD19, NK).
    pub at_reference: Vec<LogHistogram>,
    /// Days at grade ≥ 2, ≥ 3, 4, and with CD4 < 200.
    pub durations: Vec<DayHistogram>,
    /// Days to each recovery (recovered patients only).
    pub recovery: Vec<DayHistogram>,
    /// Patients not recovered by the horizon, per recovery.
    pub recovery_censored: Vec<u64>,
    /// Days to each recovery as the lab visits saw it (patients seen back; empty without visits, see
    /// [`ArmAccumulator::reading_visits`]): see [`crate::outcome::Window::recoveries_at_visits`].
    #[serde(default)]
    pub recovery_at_visits: Vec<DayHistogram>,
    /// Patients with a visit in their window whom no visit saw back, per recovery.
    #[serde(default)]
    pub recovery_at_visits_censored: Vec<u64>,
    /// Total delay in days (delayed patients only).
    pub delay: DayHistogram,
    /// Reference day (e.g. the switch), rounded to a day, of the patients who reached it.
    #[serde(default)]
    pub reference_days: DayHistogram,
    /// Band days.
    pub band_days: Vec<f64>,
    /// Per band day, the five subsets' histograms.
    pub bands: Vec<Vec<LogHistogram>>,
    /// Per band day, patients by grade 0–4.
    pub grades: Vec<[u64; 5]>,
}

impl ArmAccumulator {
    /// An empty accumulator.
    pub fn new(name: &str, horizon_days: usize, recoveries: usize, band_days: Vec<f64>) -> Self {
        ArmAccumulator {
            name: name.to_string(),
            patients: 0,
            failed: 0,
            excluded: 0,
            not_reached: 0,
            worst_grade: [0; 5],
            worst_grade_at_visits: [0; 5],
            cd4_below_200: 0,
            delayed: 0,
            stopped: 0,
            nadir: vec![LogHistogram::default(); NADIR_SUBSETS.len()],
            at_reference: vec![LogHistogram::default(); 5],
            durations: vec![DayHistogram::new(horizon_days); 4],
            recovery: vec![DayHistogram::new(horizon_days); recoveries],
            recovery_censored: vec![0; recoveries],
            recovery_at_visits: Vec::new(),
            recovery_at_visits_censored: Vec::new(),
            delay: DayHistogram::new(horizon_days),
            reference_days: DayHistogram::new(horizon_days),
            bands: vec![vec![LogHistogram::default(); 5]; band_days.len()],
            grades: vec![[0; 5]; band_days.len()],
            band_days,
        }
    }

    /// Also accumulates each recovery as lab visits see it (for a cohort with visits; without, nothing is
    /// allocated for it).
    pub fn reading_visits(mut self) -> Self {
        let (n, days) = (self.recovery.len(), self.delay.max_days());
        self.recovery_at_visits = vec![DayHistogram::new(days); n];
        self.recovery_at_visits_censored = vec![0; n];
        self
    }

    /// Adds one successful patient: its outcomes and band values (one per band day, in order).
    pub fn add(&mut self, o: &PatientOutcome) {
        self.add_outcome(o);
        for (k, (v, g)) in o.bands.iter().enumerate().take(self.bands.len()) {
            for (h, x) in self.bands[k].iter_mut().zip(v) {
                h.add(*x);
            }
            self.grades[k][g.value() as usize] += 1;
        }
    }

    /// Adds the band values of a group of patients laid out by band day (`by_day[k]` holds every patient's value
    /// on band day `k`): each day's five histograms are touched once for the whole group and the values are read
    /// in order, which keeps both in cache. Counts are integers, so the result is the same as adding the patients
    /// one by one.
    pub fn add_bands(&mut self, by_day: &[Vec<(Counts, Grade)>]) {
        for ((hs, grades), day) in self.bands.iter_mut().zip(self.grades.iter_mut()).zip(by_day) {
            for (v, g) in day {
                for (h, x) in hs.iter_mut().zip(v) {
                    h.add(*x);
                }
                grades[g.value() as usize] += 1;
            }
        }
    }

    /// Adds one successful patient's outcomes, without its band values (see [`ArmAccumulator::add_bands`]).
    pub fn add_outcome(&mut self, o: &PatientOutcome) {
        self.patients += 1;
        if o.delay_days > 0.0 {
            self.delayed += 1;
            self.delay.add(o.delay_days.round() as u32);
        }
        self.stopped += o.stopped as u64;
        let Some(w) = &o.window else {
            self.not_reached += 1;
            return;
        };
        self.reference_days.add(w.reference_day.round() as u32);
        self.worst_grade[w.worst_grade.value() as usize] += 1;
        if let Some(g) = w.worst_grade_at_visits {
            self.worst_grade_at_visits[g.value() as usize] += 1;
        }
        self.cd4_below_200 += (w.days_cd4_below_200 > 0.0) as u64;
        for (h, c) in self.nadir.iter_mut().zip(NADIR_SUBSETS) {
            h.add(w.nadir(c).value);
        }
        for (h, v) in self.at_reference.iter_mut().zip(&w.at_reference) {
            h.add(*v);
        }
        for (h, d) in
            self.durations
                .iter_mut()
                .zip([w.days_grade_ge2, w.days_grade_ge3, w.days_grade4, w.days_cd4_below_200])
        {
            // Durations are kept to the day.
            h.add(d.round() as u32);
        }
        for (i, r) in w.recoveries.iter().enumerate() {
            match r.days_after(w.reference_day) {
                Some(d) => self.recovery[i].add(d),
                None => self.recovery_censored[i] += 1,
            }
        }
        for (i, seen) in w.recoveries_at_visits.iter().flatten().enumerate() {
            match seen {
                Some(d) => self.recovery_at_visits[i].add(*d),
                None => self.recovery_at_visits_censored[i] += 1,
            }
        }
    }

    /// Heap bytes held by the accumulator (for the memory estimate of a run).
    pub fn heap_bytes(&self) -> usize {
        let log: usize = self
            .nadir
            .iter()
            .chain(&self.at_reference)
            .chain(self.bands.iter().flatten())
            .map(LogHistogram::heap_bytes)
            .sum();
        let days: usize = self
            .durations
            .iter()
            .chain(&self.recovery)
            .chain(&self.recovery_at_visits)
            .chain([&self.delay, &self.reference_days])
            .map(DayHistogram::heap_bytes)
            .sum();
        log + days + self.grades.capacity() * std::mem::size_of::<[u64; 5]>()
    }

    /// Patients whose reference day was reached: the denominator of every risk.
    pub fn analysed(&self) -> u64 {
        self.patients - self.not_reached
    }

    /// Adds another accumulator of the same arm and layout.
    pub fn merge(&mut self, o: &ArmAccumulator) {
        self.patients += o.patients;
        self.failed += o.failed;
        self.excluded += o.excluded;
        self.not_reached += o.not_reached;
        for (a, b) in self.worst_grade.iter_mut().zip(&o.worst_grade) {
            *a += b;
        }
        for (a, b) in self.worst_grade_at_visits.iter_mut().zip(&o.worst_grade_at_visits) {
            *a += b;
        }
        self.cd4_below_200 += o.cd4_below_200;
        self.delayed += o.delayed;
        self.stopped += o.stopped;
        let pairs = self
            .nadir
            .iter_mut()
            .zip(&o.nadir)
            .chain(self.at_reference.iter_mut().zip(&o.at_reference));
        for (a, b) in pairs {
            a.merge(b);
        }
        for (a, b) in self
            .durations
            .iter_mut()
            .zip(&o.durations)
            .chain(self.recovery.iter_mut().zip(&o.recovery))
        {
            a.merge(b);
        }
        for (a, b) in self.recovery_censored.iter_mut().zip(&o.recovery_censored) {
            *a += b;
        }
        // A state written before recoveries were read at visits has none: it adds nothing to them.
        if self.recovery_at_visits.is_empty() {
            self.recovery_at_visits = o.recovery_at_visits.clone();
            self.recovery_at_visits_censored = o.recovery_at_visits_censored.clone();
        } else {
            for (a, b) in self.recovery_at_visits.iter_mut().zip(&o.recovery_at_visits) {
                a.merge(b);
            }
            for (a, b) in self
                .recovery_at_visits_censored
                .iter_mut()
                .zip(&o.recovery_at_visits_censored)
            {
                *a += b;
            }
        }
        self.delay.merge(&o.delay);
        self.reference_days.merge(&o.reference_days);
        for (a, b) in self.bands.iter_mut().zip(&o.bands) {
            for (x, y) in a.iter_mut().zip(b) {
                x.merge(y);
            }
        }
        for (a, b) in self.grades.iter_mut().zip(&o.grades) {
            for (x, y) in a.iter_mut().zip(b) {
                *x += y;
            }
        }
    }
}

/// A proportion with its Wilson 95 % interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Proportion {
    /// Patients with the event.
    pub count: u64,
    /// Estimated proportion.
    pub value: f64,
    /// Wilson 95 % interval.
    pub ci95: [f64; 2],
}

impl Proportion {
    /// `k` of `n`; with `n = 0` the proportion and its interval cannot be computed and are NaN (`null` in JSON).
    fn of(k: u64, n: u64) -> Self {
        let (lo, hi) = if n > 0 { wilson95(k, n) } else { (f64::NAN, f64::NAN) };
        Proportion {
            count: k,
            value: if n > 0 { k as f64 / n as f64 } else { f64::NAN },
            ci95: [lo, hi],
        }
    }
}

/// Quantiles 5/25/50/75/95 %.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Quantiles {
    /// 5 %.
    pub p5: Option<f64>,
    /// 25 %.
    pub p25: Option<f64>,
    /// Median.
    pub p50: Option<f64>,
    /// 75 %.
    pub p75: Option<f64>,
    /// 95 %.
    pub p95: Option<f64>,
}

impl Quantiles {
    fn from(f: impl Fn(f64) -> Option<f64>) -> Self {
        let q: Vec<Option<f64>> = QUANTILES
            .iter()
            .map(|&p| f(p).map(|v| (v * 1e4).round() / 1e4))
            .collect();
        Quantiles {
            p5: q[0],
            p25: q[1],
            p50: q[2],
            p75: q[3],
            p95: q[4],
        }
    }
}

/// Time-to-event quantiles with the number censored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recovered {
    /// The threshold, e.g. `ALC >= LLN`.
    pub name: String,
    /// Quantiles of days among patients who recovered.
    pub days: Quantiles,
    /// Patients who recovered.
    pub recovered: u64,
    /// Patients not recovered by the horizon (censored).
    pub censored: u64,
    /// Quantiles of days among patients the lab visits saw back (the first visit at or above the threshold
    /// after the first drop below it); `null` without visits.
    pub days_at_visits: Option<Quantiles>,
    /// Patients seen back at a visit; `null` without visits.
    pub recovered_at_visits: Option<u64>,
    /// Patients with visits whom no visit saw back by the horizon; `null` without visits.
    pub not_seen_back_at_visits: Option<u64>,
}

/// The per-arm summary written to `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ArmSummary {
    /// Arm name.
    pub name: String,
    /// Patients simulated successfully.
    pub patients: u64,
    /// Patients whose simulation failed (listed in `failures.csv`).
    pub failed: u64,
    /// Patients excluded by the regimen (e.g. cladribine below 40 kg).
    pub excluded: u64,
    /// Patients whose reference day (e.g. the switch) lies beyond the horizon: not reached, censored.
    pub not_reached: u64,
    /// Patients whose reference day was reached: the denominator of the outcome risks and quantiles below.
    pub analysed: u64,
    /// Fractions of analysed patients by worst grade 0–4 from the reference day (`null` if none analysed).
    pub worst_grade_fractions: [f64; 5],
    /// P(worst grade ≥ 3).
    pub p_grade_ge3: Proportion,
    /// P(grade 4).
    pub p_grade4: Proportion,
    /// P(worst grade ≥ 3 seen at the scheduled lab visits), among the analysed patients with a visit in their
    /// window (`null` without `visit_days`): what a trial or clinic records.
    pub p_grade_ge3_at_visits: Proportion,
    /// P(CD4 < 200 cells/µL at any time).
    pub p_cd4_below_200: Proportion,
    /// P(a course delayed by a lab rule), over all simulated patients.
    pub p_delayed: Proportion,
    /// P(a course cancelled by a lab rule), over all simulated patients.
    pub p_stopped: Proportion,
    /// Delay among delayed patients (days).
    pub delay_days: Quantiles,
    /// Counts at the reference day (cells/µL), by subset.
    pub at_reference: Vec<(String, Quantiles)>,
    /// Nadirs from the reference day (cells/µL), by subset.
    pub nadir: Vec<(String, Quantiles)>,
    /// Days at grade ≥ 2.
    pub days_grade_ge2: Quantiles,
    /// Days at grade ≥ 3.
    pub days_grade_ge3: Quantiles,
    /// Days at grade 4.
    pub days_grade4: Quantiles,
    /// Days with CD4 < 200.
    pub days_cd4_below_200: Quantiles,
    /// Days to recovery, per threshold.
    pub recovery: Vec<Recovered>,
}

impl ArmSummary {
    /// Nadir quantiles of one count (`None` for a count whose nadir is not summarised: NK).
    pub fn nadir_of(&self, count: Count) -> Option<Quantiles> {
        self.nadir.iter().find(|(n, _)| n == count.name()).map(|(_, q)| *q)
    }

    /// Summarises an accumulator; `recovery_names` label the recoveries in order.
    pub fn from_accumulator(a: &ArmAccumulator, recovery_names: &[String]) -> Self {
        let n = a.analysed();
        let frac = |k: u64| {
            if n > 0 {
                ((k as f64 / n as f64) * 1e6).round() / 1e6
            } else {
                f64::NAN
            }
        };
        let log_q = |h: &LogHistogram| Quantiles::from(|p| h.quantile(p));
        let day_q = |h: &DayHistogram| Quantiles::from(|p| h.quantile(p).map(f64::from));
        ArmSummary {
            name: a.name.clone(),
            patients: a.patients,
            failed: a.failed,
            excluded: a.excluded,
            not_reached: a.not_reached,
            analysed: n,
            worst_grade_fractions: a.worst_grade.map(frac),
            p_grade_ge3: Proportion::of(a.worst_grade[3] + a.worst_grade[4], n),
            p_grade4: Proportion::of(a.worst_grade[4], n),
            p_grade_ge3_at_visits: Proportion::of(
                a.worst_grade_at_visits[3] + a.worst_grade_at_visits[4],
                a.worst_grade_at_visits.iter().sum(),
            ),
            p_cd4_below_200: Proportion::of(a.cd4_below_200, n),
            p_delayed: Proportion::of(a.delayed, a.patients),
            p_stopped: Proportion::of(a.stopped, a.patients),
            delay_days: day_q(&a.delay),
            at_reference: BAND_SUBSETS
                .iter()
                .zip(&a.at_reference)
                .map(|(s, h)| (s.to_string(), log_q(h)))
                .collect(),
            nadir: NADIR_SUBSETS
                .iter()
                .zip(&a.nadir)
                .map(|(s, h)| (s.name().to_string(), log_q(h)))
                .collect(),
            days_grade_ge2: day_q(&a.durations[0]),
            days_grade_ge3: day_q(&a.durations[1]),
            days_grade4: day_q(&a.durations[2]),
            days_cd4_below_200: day_q(&a.durations[3]),
            recovery: a
                .recovery
                .iter()
                .zip(&a.recovery_censored)
                .zip(recovery_names)
                .enumerate()
                .map(|(i, ((h, c), name))| {
                    let at_visits = a
                        .recovery_at_visits
                        .get(i)
                        .zip(a.recovery_at_visits_censored.get(i))
                        .filter(|(v, n)| v.total() + **n > 0);
                    Recovered {
                        name: name.clone(),
                        days: day_q(h),
                        recovered: h.total(),
                        censored: *c,
                        days_at_visits: at_visits.map(|(v, _)| day_q(v)),
                        recovered_at_visits: at_visits.map(|(v, _)| v.total()),
                        not_seen_back_at_visits: at_visits.map(|(_, n)| *n),
                    }
                })
                .collect(),
        }
    }
}
