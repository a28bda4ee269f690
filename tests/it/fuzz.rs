//! On-demand fuzzing of the scenario loader *and the run*: random mutations of the embedded scenarios —
//! garbled characters, and numbers replaced by extreme values (0, negatives, 1e300, 1e-300, NaN, huge
//! integers) — each run as `lymphosim run` on 3 patients under a timeout. A case passes when the run succeeds or
//! ends with a clear error (exit code 1); a panic (exit code 101), an abort, a signal or a hang fails the test.
//!
//! Not part of CI (it takes minutes): `LYMPHOSIM_FUZZ_CASES=2000 cargo test --release --test it fuzz -- --ignored`.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use lymphosim::scenario::PRESETS;
use rand::{RngExt, SeedableRng};

const EXTREMES: [&str; 14] = [
    "0",
    "-1",
    "-0.5",
    "1e300",
    "1e-300",
    "nan",
    "inf",
    "4294967297",
    "18446744073709551615",
    "0.0001",
    "1e9",
    "100000",
    "2.5",
    "36525",
];

fn mutate(text: &str, rng: &mut rand_chacha::ChaCha8Rng) -> String {
    let mut t = text.to_string();
    for _ in 0..rng.random_range(1..4) {
        // Replace one number by an extreme value, or garble one character.
        let numbers: Vec<(usize, usize)> = {
            let b = t.as_bytes();
            let mut v = Vec::new();
            let mut i = 0;
            while i < b.len() {
                if b[i].is_ascii_digit() && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_')) {
                    let s = i;
                    while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.' || b[i] == b'e' || b[i] == b'-') {
                        i += 1;
                    }
                    v.push((s, i));
                }
                i += 1;
            }
            v
        };
        if !numbers.is_empty() && rng.random_range(0..4) > 0 {
            let (s, e) = numbers[rng.random_range(0..numbers.len())];
            t.replace_range(s..e, EXTREMES[rng.random_range(0..EXTREMES.len())]);
        } else if !t.is_empty() {
            let mut c: Vec<char> = t.chars().collect();
            let k = rng.random_range(0..c.len());
            let alphabet: Vec<char> = "abz_=[]\"'.,-0123456789 \n#".chars().collect();
            c[k] = alphabet[rng.random_range(0..alphabet.len())];
            t = c.into_iter().collect();
        }
    }
    t
}

#[test]
#[ignore = "minutes long; run on demand"]
fn fuzz_the_loader_and_the_run() {
    let cases: usize = std::env::var("LYMPHOSIM_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let dir = super::support::fresh_dir("fuzz");
    std::fs::create_dir_all(&dir).unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(20261202);
    let (mut parsed, mut ran, mut refused) = (0, 0, 0);
    let mut bad = Vec::new();
    let mut slowest = Duration::ZERO;
    for i in 0..cases {
        let seed = PRESETS[i % PRESETS.len()].2;
        let text = mutate(seed, &mut rng);
        let path = dir.join("case.toml");
        std::fs::write(&path, &text).unwrap();
        if lymphosim::scenario::parse(&text).is_ok() {
            parsed += 1;
        }
        let t0 = Instant::now();
        let mut child = Command::new(env!("CARGO_BIN_EXE_lymphosim"))
            .args([
                "run",
                path.to_str().unwrap(),
                "--patients",
                "3",
                "--no-plots",
                "--quiet",
                "--out",
            ])
            .arg(dir.join("out"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break Some(s);
            }
            if t0.elapsed() > Duration::from_secs(60) {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        slowest = slowest.max(t0.elapsed());
        match status.and_then(|s| s.code()) {
            Some(0) => ran += 1,
            Some(1) => refused += 1,
            other => bad.push((i, other, text)),
        }
    }
    eprintln!(
        "{cases} cases: {parsed} parsed, {ran} ran, {refused} refused with an error, {} panics/aborts/hangs; slowest {:.1} s",
        bad.len(),
        slowest.as_secs_f64()
    );
    if let Some((i, code, text)) = bad.first() {
        panic!("case {i} ended with {code:?} (None = hang or signal):\n{text}");
    }
}
