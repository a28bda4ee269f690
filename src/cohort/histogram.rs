//! Integer-count histograms: the building block of cohort summaries.
//!
//! Every cohort statistic is accumulated as integer counts, which add up to the same result in any order. A
//! run on one thread, on two, or split into shards and merged therefore gives byte-identical summaries.
//! Quantiles are read from the counts at the end: exactly for whole days ([`DayHistogram`]), and to within one
//! bin (a 4.7 % ratio) for cell counts ([`LogHistogram`]).

use serde::{Deserialize, Serialize};

/// Lowest resolved count (cells/µL); lower values fall in the underflow bin.
const LOG_MIN: f64 = 0.1;
/// Decades covered above `LOG_MIN` (0.1 to 10⁵ cells/µL).
const DECADES: usize = 6;
/// Bins per decade.
const PER_DECADE: usize = 50;
const LOG_BINS: usize = DECADES * PER_DECADE + 2;

/// Adds `from` into `into`, bin by bin.
fn add_counts(into: &mut [u64], from: &[u64]) {
    for (a, b) in into.iter_mut().zip(from) {
        *a += b;
    }
}

/// The bin holding the value of rank ⌈q·n⌉, with that rank's position inside the bin (1 = its first value) and
/// the bin's count. `None` when empty.
fn rank_bin(counts: &[u64], q: f64) -> Option<(usize, u64, u64)> {
    let n: u64 = counts.iter().sum();
    if n == 0 {
        return None;
    }
    let rank = ((q * n as f64).ceil() as u64).clamp(1, n);
    let mut seen = 0;
    for (i, &c) in counts.iter().enumerate() {
        if seen + c >= rank {
            return Some((i, rank - seen, c));
        }
        seen += c;
    }
    None
}

/// Counts of positive values on log-spaced bins from 0.1 to 10⁵, with underflow and overflow bins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogHistogram {
    #[serde(with = "sparse")]
    counts: Vec<u64>,
}

impl Default for LogHistogram {
    fn default() -> Self {
        LogHistogram {
            counts: vec![0; LOG_BINS],
        }
    }
}

/// The lower edges of the log bins: `edges()[k] = 0.1 · 10^(k/50)` for k = 0 … 300 (bin `1 + k` holds
/// `[edges[k], edges[k + 1])`).
fn edges() -> &'static [f64; DECADES * PER_DECADE + 1] {
    static EDGES: std::sync::OnceLock<[f64; DECADES * PER_DECADE + 1]> = std::sync::OnceLock::new();
    EDGES.get_or_init(|| std::array::from_fn(|k| LOG_MIN * 10f64.powf(k as f64 / PER_DECADE as f64)))
}

impl LogHistogram {
    /// The bin of `v`, without a logarithm: a first guess from the binary exponent and a cubic in the mantissa
    /// (`log2(1 + m)` to within 0.0013, a fiftieth of a bin), so the guess is the bin or one of its neighbours,
    /// and one comparison with each of its edges settles it — without a loop or a hard-to-predict branch.
    fn bin(v: f64) -> usize {
        if v.is_nan() || v < LOG_MIN {
            return 0; // below range, or NaN
        }
        let e = edges();
        let last = DECADES * PER_DECADE;
        if v >= e[last] {
            return LOG_BINS - 1;
        }
        let bits = v.to_bits();
        let exponent = ((bits >> 52) & 0x7ff) as f64 - 1023.0;
        let m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000) - 1.0;
        let log2_mantissa =
            m * (1.423_490_241_072_171_3 + m * (-0.587_753_466_195_648_6 + m * 0.165_576_077_560_078_2));
        // 50 bins per decade: k = 50 · log10(v / 0.1) = 50 · (log10(2) · log2 v + 1).
        let guess = PER_DECADE as f64 * (std::f64::consts::LOG10_2 * (exponent + log2_mantissa) + 1.0);
        // v ≥ 0.1 = e[0] and v < e[last] here, so both edge reads stay in the table and k stays in 0 … last − 1.
        let k = (guess.max(0.0) as usize).min(last - 1);
        let k = k - (v < e[k]) as usize;
        1 + k + (v >= e[k + 1]) as usize
    }

    /// Adds one value.
    pub fn add(&mut self, v: f64) {
        self.counts[Self::bin(v)] += 1;
    }

    /// Adds another histogram's counts.
    pub fn merge(&mut self, o: &LogHistogram) {
        add_counts(&mut self.counts, &o.counts);
    }

    /// Number of values.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// The geometric centre of bin `i` (cells/µL).
    fn centre(i: usize) -> f64 {
        match i {
            0 => LOG_MIN,
            i if i == LOG_BINS - 1 => LOG_MIN * 10f64.powi(DECADES as i32),
            i => LOG_MIN * 10f64.powf((i as f64 - 0.5) / PER_DECADE as f64),
        }
    }

    /// Fraction of values at or above `x`, to within one bin (values in `x`'s bin count as at or above when
    /// the bin's centre is). `None` when empty.
    pub fn fraction_at_least(&self, x: f64) -> Option<f64> {
        let n = self.total();
        if n == 0 {
            return None;
        }
        let above: u64 = self
            .counts
            .iter()
            .enumerate()
            .filter(|(i, _)| Self::centre(*i) >= x)
            .map(|(_, c)| c)
            .sum();
        Some(above as f64 / n as f64)
    }

    /// Mean and standard deviation (n − 1) of the values, from the bin centres (within about 1.2 % of the exact
    /// moments for spread-out values). `None` with fewer than two values.
    pub fn mean_sd(&self) -> Option<(f64, f64)> {
        let n = self.total();
        if n < 2 {
            return None;
        }
        let (mut s1, mut s2) = (0.0, 0.0);
        for (i, &c) in self.counts.iter().enumerate() {
            let x = Self::centre(i);
            s1 += c as f64 * x;
            s2 += c as f64 * x * x;
        }
        let nf = n as f64;
        let mean = s1 / nf;
        Some((mean, ((s2 - nf * mean * mean) / (nf - 1.0)).max(0.0).sqrt()))
    }

    /// The `q`-quantile (0 ≤ q ≤ 1): the value of rank ⌈q·n⌉, placed geometrically inside its bin. `None` when
    /// empty. Underflow reads as 0.1 and overflow as 10⁵ cells/µL.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let (i, pos, c) = rank_bin(&self.counts, q)?;
        if i == 0 {
            return Some(LOG_MIN);
        }
        if i == LOG_BINS - 1 {
            return Some(LOG_MIN * 10f64.powi(DECADES as i32));
        }
        let within = pos as f64 / c as f64;
        let lo = (i - 1) as f64 / PER_DECADE as f64;
        Some(LOG_MIN * 10f64.powf(lo + within / PER_DECADE as f64))
    }
}

/// Counts of whole numbers of days from 0 to a horizon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayHistogram {
    #[serde(with = "sparse")]
    counts: Vec<u64>,
}

impl LogHistogram {
    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.counts.capacity() * std::mem::size_of::<u64>()
    }
}

impl Default for DayHistogram {
    /// An empty histogram (what an older state file without the field reads as).
    fn default() -> Self {
        DayHistogram::new(0)
    }
}

impl DayHistogram {
    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.counts.capacity() * std::mem::size_of::<u64>()
    }

    /// The value of rank `rank` (1 = the smallest); `None` beyond the count.
    pub fn nth(&self, rank: u64) -> Option<u32> {
        let mut seen = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if rank >= 1 && seen >= rank {
                return Some(i as u32);
            }
        }
        None
    }

    /// A histogram for 0..=`max_days` days.
    pub fn new(max_days: usize) -> Self {
        DayHistogram {
            counts: vec![0; max_days + 1],
        }
    }

    /// The last day of the range (`new(max_days)`).
    pub fn max_days(&self) -> usize {
        self.counts.len().saturating_sub(1)
    }

    /// Adds one value (clamped to the range).
    pub fn add(&mut self, days: u32) {
        let i = (days as usize).min(self.counts.len() - 1);
        self.counts[i] += 1;
    }

    /// Adds another histogram's counts (same range).
    pub fn merge(&mut self, o: &DayHistogram) {
        add_counts(&mut self.counts, &o.counts);
    }

    /// Number of values.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// The mean of the values at or below `max_day` (whole days) and how many there are; `None` when there are
    /// none. Exact: the histogram keeps every day.
    pub fn mean_up_to(&self, max_day: f64) -> Option<(f64, u64)> {
        let (mut n, mut sum) = (0u64, 0.0);
        for (i, &c) in self.counts.iter().enumerate().take_while(|(i, _)| *i as f64 <= max_day) {
            n += c;
            sum += i as f64 * c as f64;
        }
        (n > 0).then(|| (sum / n as f64, n))
    }

    /// The geometric mean of the positive values at or below `max_day` (whole days) and how many there are;
    /// `None` when there are none. Day 0 is left out (a count that never fell below its threshold has nothing to
    /// recover from, and a logarithm of it is undefined).
    pub fn geometric_mean_up_to(&self, max_day: f64) -> Option<(f64, u64)> {
        let (mut n, mut sum_log) = (0u64, 0.0);
        for (i, &c) in self
            .counts
            .iter()
            .enumerate()
            .skip(1)
            .take_while(|(i, _)| *i as f64 <= max_day)
        {
            n += c;
            sum_log += (i as f64).ln() * c as f64;
        }
        (n > 0).then(|| ((sum_log / n as f64).exp(), n))
    }

    /// The `q`-quantile: the value of rank ⌈q·n⌉ (exact). `None` when empty.
    pub fn quantile(&self, q: f64) -> Option<u32> {
        rank_bin(&self.counts, q).map(|(i, _, _)| i as u32)
    }
}

/// Serialises a count vector as its length and the non-zero `[index, count]` pairs.
mod sparse {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    struct Sparse {
        len: usize,
        nonzero: Vec<(usize, u64)>,
    }

    pub fn serialize<S: Serializer>(v: &[u64], s: S) -> Result<S::Ok, S::Error> {
        Sparse {
            len: v.len(),
            nonzero: v
                .iter()
                .enumerate()
                .filter(|(_, c)| **c != 0)
                .map(|(i, c)| (i, *c))
                .collect(),
        }
        .serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u64>, D::Error> {
        let sp = Sparse::deserialize(d)?;
        let mut v = vec![0; sp.len];
        for (i, c) in sp.nonzero {
            *v.get_mut(i)
                .ok_or_else(|| serde::de::Error::custom(format!("bin {i} outside {}", sp.len)))? = c;
        }
        Ok(v)
    }
}

/// Wilson score interval (95 %) for `k` successes out of `n`; `(0, 1)` when `n = 0`.
pub fn wilson95(k: u64, n: u64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let z = 1.959_963_984_540_054;
    let (k, n) = (k as f64, n as f64);
    let p = k / n;
    let denom = 1.0 + z * z / n;
    let centre = (p + z * z / (2.0 * n)) / denom;
    let half = z / denom * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt();
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bin_without_a_logarithm_is_the_logarithms_bin() {
        let e = edges();
        // Log-uniform values from 0.01 to 10^6, and every edge with its neighbours.
        let mut values: Vec<f64> = (0..200_000)
            .map(|i| 0.01 * 10f64.powf(8.0 * i as f64 / 200_000.0))
            .collect();
        for &x in e.iter() {
            values.extend([x, f64::from_bits(x.to_bits() - 1), f64::from_bits(x.to_bits() + 1)]);
        }
        for v in values {
            let b = LogHistogram::bin(v);
            match b {
                0 => assert!(v < LOG_MIN, "{v}"),
                b if b == LOG_BINS - 1 => assert!(v >= e[DECADES * PER_DECADE], "{v}"),
                b => {
                    assert!(e[b - 1] <= v && v < e[b], "{v} in bin {b}: [{}, {})", e[b - 1], e[b]);
                    // Away from an edge, the same bin as ⌊50·log10(v/0.1)⌋.
                    let k = ((v / LOG_MIN).log10() * PER_DECADE as f64).floor() as usize;
                    if (v / e[b - 1] - 1.0).abs() > 1e-12 && (v / e[b] - 1.0).abs() > 1e-12 {
                        assert_eq!(b, 1 + k, "{v}");
                    }
                }
            }
        }
        assert_eq!(LogHistogram::bin(f64::NAN), 0);
        assert_eq!(LogHistogram::bin(f64::INFINITY), LOG_BINS - 1);
    }

    #[test]
    fn log_quantiles_are_within_one_bin() {
        let mut h = LogHistogram::default();
        let values: Vec<f64> = (1..=1000).map(|i| i as f64).collect();
        for v in &values {
            h.add(*v);
        }
        for q in [0.05, 0.25, 0.5, 0.75, 0.95] {
            let exact = values[((q * 1000.0_f64).ceil() as usize) - 1];
            let got = h.quantile(q).unwrap();
            assert!((got / exact - 1.0).abs() < 0.05, "q {q}: {got} vs {exact}");
        }
    }

    #[test]
    fn merge_is_order_free_and_serialisation_round_trips() {
        let (mut a, mut b) = (LogHistogram::default(), LogHistogram::default());
        a.add(3.0);
        b.add(4000.0);
        b.add(f64::NAN);
        let mut ab = a.clone();
        ab.merge(&b);
        let mut ba = b.clone();
        ba.merge(&a);
        assert_eq!(ab, ba);
        let json = serde_json::to_string(&ab).unwrap();
        assert_eq!(serde_json::from_str::<LogHistogram>(&json).unwrap(), ab);
        let mut d = DayHistogram::new(10);
        for x in [0, 3, 3, 50] {
            d.add(x);
        }
        assert_eq!(d.quantile(0.5), Some(3));
        assert_eq!(d.quantile(1.0), Some(10));
    }

    #[test]
    fn the_mean_up_to_a_day_averages_only_the_values_seen_by_then() {
        let mut d = DayHistogram::new(100);
        for x in [2, 4, 4, 9, 60] {
            d.add(x);
        }
        assert_eq!(d.mean_up_to(9.0), Some((19.0 / 4.0, 4)));
        assert_eq!(d.mean_up_to(8.9), Some((10.0 / 3.0, 3)));
        assert_eq!(d.mean_up_to(100.0), Some((79.0 / 5.0, 5)));
        assert_eq!(d.mean_up_to(1.0), None);
        let (g, n) = d.geometric_mean_up_to(9.0).unwrap();
        assert_eq!(n, 4);
        assert!((g - (2.0f64 * 4.0 * 4.0 * 9.0).powf(0.25)).abs() < 1e-12);
        d.add(0);
        assert_eq!(
            d.geometric_mean_up_to(9.0).map(|(_, n)| n),
            Some(4),
            "day 0 is left out"
        );
        assert_eq!(d.geometric_mean_up_to(1.0), None);
    }

    #[test]
    fn wilson_interval_matches_a_known_value() {
        // 25 of 100: Wilson 95 % interval is (0.1754, 0.3430).
        let (lo, hi) = wilson95(25, 100);
        assert!((lo - 0.1754).abs() < 1e-3 && (hi - 0.3430).abs() < 1e-3, "{lo} {hi}");
        assert_eq!(wilson95(0, 0), (0.0, 1.0));
    }
}
