#!/usr/bin/env python3
"""lymphosim's typical patient beside two peers a Python pharmacometrician would use, in one run.

The same model (the full 17-state ODE of model v3, with the shipped calibrated parameters read from
data/params-v3-calibrated.toml), the same dose events (exported by `lymphosim events`), the same daily
observations over ten years:

  * scipy's LSODA (`scipy.integrate.solve_ivp(method="LSODA")`, the right-hand side in plain Python);
  * numbalsoda's LSODA (the right-hand side compiled by numba), if numbalsoda is installed;
  * lymphosim (`lymphosim patient`: dopri5 with the drugs propagated exactly), timed in process with
    `--time-solves`.

Every trajectory is compared with a tight-tolerance reference from lymphosim's full ODE (largest relative deviation
of ALC, CD4, CD8, CD19 and NK over all days, with a floor of 1 cell/uL); each solver runs at the loosest tolerance
of its ladder that reaches the target accuracy (default 1e-5), and the script prints the times per patient and the
ratios. See README.md beside this file.

The model equations below are a transcription of src/model/mod.rs for this comparison only; the check against
lymphosim's own trajectory is what makes sure they are the same model.
"""

import argparse
import csv
import math
import os
import subprocess
import sys
import tempfile
import time
import tomllib

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))

# State order (src/model/state.rs): drugs, then cells.
AA, G, C1, C2, Z, D, R = range(7)
N4, M4, N8, M8, PB, BN, BM, NK, F, S = range(7, 17)
OBSERVED = ["ALC", "CD4", "CD8", "CD19", "NK"]

# Packed constants of the right-hand side (one float array, so numba and numbalsoda can take it).
K_NAMES = [
    "kel_a", "ka", "k10", "k12", "k21", "cp_per_mg", "kz", "kd", "zref", "ipc", "kr",
    "vol_a", "kmax_a", "ec50", "s_t", "s_b", "s_nk", "d50",
    "theta4", "prolif_n4", "loss_n4", "prolif_m4", "theta8", "prolif_n8", "loss_n8", "prolif_m8",
    "source_b", "loss_bn", "prolif_bm", "source_nk", "niche4", "niche8", "l0",
    "b_n4", "b_n8", "kappa_n", "hill_n", "kappa_m", "hill_m", "psi", "sshift", "srate",
    "a4", "a8", "dm4", "dm8", "kp", "gain", "ab", "dbm", "dnk", "cnk", "kf", "gamma", "fmax",
    "kill_n4", "kill_m4", "kill_n8", "kill_m8", "kill_pb", "kill_bn", "kill_bm", "kill_nk",
    "fl_n4", "fl_m4", "fl_n8", "fl_m8", "fl_bn", "fl_bm", "fl_nk", "alc_scale", "sshift8",
    "rate",  # the alemtuzumab infusion rate of the current segment (mg/day); must stay last
]
KI = {n: i for i, n in enumerate(K_NAMES)}


def constants(p):
    """The closure of src/model/mod.rs (Model::new): baseline, production terms, floors."""
    n4 = p["naive_fraction_cd4"] * p["cd4_0"]
    m4 = (1 - p["naive_fraction_cd4"]) * p["cd4_0"]
    n8 = p["naive_fraction_cd8"] * p["cd8_0"]
    m8 = (1 - p["naive_fraction_cd8"]) * p["cd8_0"]
    bn = p["naive_fraction_b"] * p["cd19_0"]
    bm = (1 - p["naive_fraction_b"]) * p["cd19_0"]
    fthy = min(p["thymic_fraction"] * math.exp(-p["thymic_decline_per_year"] * (p["age_years"] - 35.0)), 1.0)
    loss_n4 = p["death_naive_cd4"] + p["activation_cd4"]
    loss_n8 = p["death_naive_cd8"] + p["activation_cd8"]
    loss_bn = p["death_naive_b"] + p["activation_b"]
    psi = p["memory_niche_share"]
    cl = p["clad_renal_cl_l_per_day"] * p["creatinine_clearance_ml_min"] / 100.0 + p["clad_nonrenal_cl_l_per_day"]
    k = dict(
        kel_a=p["alem_clearance_l_per_day"] / p["alem_volume_l"], ka=p["clad_ka_per_day"],
        k10=cl / p["clad_v1_l"], k12=p["clad_q_l_per_day"] / p["clad_v1_l"], k21=p["clad_q_l_per_day"] / p["clad_v2_l"],
        cp_per_mg=1000.0 / p["clad_v1_l"], kz=p["clad_kz_per_day"], kd=p["clad_kd_per_day"], zref=p["clad_zref"],
        ipc=p["clad_prolif_inhibition"], kr=p["clad_kr_per_day"], vol_a=p["alem_volume_l"],
        kmax_a=p["alem_kill_max"], ec50=p["alem_ec50"], s_t=p["alem_susceptibility_t"],
        s_b=p["alem_susceptibility_b"], s_nk=p["alem_susceptibility_nk"], d50=p["clad_d50"],
        theta4=fthy * loss_n4 * n4, prolif_n4=(1 - fthy) * loss_n4, loss_n4=loss_n4,
        prolif_m4=p["death_memory_cd4"] - p["activation_cd4"] * n4 / m4,
        theta8=fthy * loss_n8 * n8, prolif_n8=(1 - fthy) * loss_n8, loss_n8=loss_n8,
        prolif_m8=p["death_memory_cd8"] - p["activation_cd8"] * n8 / m8,
        source_b=loss_bn * bn, loss_bn=loss_bn, prolif_bm=p["death_memory_b"] - p["activation_b"] * bn / bm,
        source_nk=p["death_nk"] * p["nk_0"], niche4=m4 + psi * n4, niche8=m8 + psi * n8,
        l0=n4 + m4 + n8 + m8 + bn + bm, b_n4=n4, b_n8=n8,
        kappa_n=p["kappa_naive"], hill_n=p["hill_naive"], kappa_m=p["kappa_memory"], hill_m=p["hill_memory"],
        psi=psi, sshift=p["setpoint_shift"], srate=p["setpoint_rate"],
        sshift8=p["setpoint_shift"] * p.get("setpoint_ratio_cd8", 1.0),
        a4=p["activation_cd4"], a8=p["activation_cd8"], dm4=p["death_memory_cd4"], dm8=p["death_memory_cd8"],
        kp=p["precursor_recovery"], gain=p["feedback_gain"], ab=p["activation_b"], dbm=p["death_memory_b"],
        dnk=p["death_nk"], cnk=p["nk_marrow_coupling"], kf=p["feedback_rate"], gamma=p["feedback_exponent"],
        fmax=p["feedback_max"],
        kill_n4=p["clad_kill_n4"], kill_m4=p["clad_kill_m4"], kill_n8=p["clad_kill_n8"], kill_m8=p["clad_kill_m8"],
        kill_pb=p["clad_kill_pb"], kill_bn=p["clad_kill_bn"], kill_bm=p["clad_kill_bm"], kill_nk=p["clad_kill_nk"],
        fl_n4=p["floor_naive_t"] * n4, fl_m4=p["floor_memory_cd4"] * m4, fl_n8=p["floor_naive_t"] * n8,
        fl_m8=p["floor_memory_cd8"] * m8, fl_bn=p["floor_b"] * bn, fl_bm=p["floor_b"] * bm,
        fl_nk=p["floor_nk"] * p["nk_0"], alc_scale=p["alc_0"] / (p["cd4_0"] + p["cd8_0"] + p["cd19_0"] + p["nk_0"]),
        rate=0.0,
    )
    y0 = np.zeros(17)
    y0[N4:S + 1] = [n4, m4, n8, m8, 1.0, bn, bm, p["nk_0"], 1.0, 0.0]
    return np.array([k[n] for n in K_NAMES]), y0


def rhs_into(y, dy, k):
    """dy = f(y) for the full model (src/model/mod.rs: drug_rhs and cell_rhs)."""
    rate = k[72]
    dy[AA] = rate - k[0] * y[AA]
    dy[G] = -k[1] * y[G]
    dy[C1] = k[1] * y[G] - (k[2] + k[3]) * y[C1] + k[4] * y[C2]
    dy[C2] = k[3] * y[C1] - k[4] * y[C2]
    dy[Z] = k[5] * y[C1] - k[6] * y[Z]
    dy[D] = k[7] * (y[Z] / k[8] - y[D])
    dy[R] = 0.0 if k[9] == 0.0 else k[10] * (y[D] - y[R])
    ca = max(y[AA] / k[11], 0.0)
    alem = k[12] * ca / (k[13] + ca)
    ka_t, ka_b, ka_nk = alem * k[14], alem * k[15], alem * k[16]
    dmg = max(y[D], 0.0)
    clad = dmg / (k[17] + dmg)
    imp = max(y[R], 0.0)
    n4, m4, n8, m8, pb, bn, bm, nk, f, s = y[N4], y[M4], y[N8], y[M8], y[PB], y[BN], y[BM], y[NK], y[F], y[S]
    target = 1.0 if k[40] == 1.0 else 1.0 + (k[40] - 1.0) * s
    target8 = 1.0 if k[71] == 1.0 else 1.0 + (k[71] - 1.0) * s

    def hom(x, kappa, hill):
        xh = x if hill == 1.0 else max(x, 0.0) ** hill
        h = (1.0 + kappa) / (1.0 + kappa * xh)
        return h if k[9] == 0.0 else 1.0 + (h - 1.0) / (1.0 + k[9] * imp)

    dy[N4] = (k[18] + k[19] * hom(n4 / k[33], k[35], k[36]) * n4 - k[20] * n4
              - ka_t * max(n4 - k[63], 0.0) - k[55] * clad * n4)
    dy[M4] = (k[42] * n4 + k[21] * hom((m4 + k[39] * n4) / (target * k[30]), k[37], k[38]) * m4 - k[44] * m4
              - ka_t * max(m4 - k[64], 0.0) - k[56] * clad * m4)
    dy[N8] = (k[22] + k[23] * hom(n8 / k[34], k[35], k[36]) * n8 - k[24] * n8
              - ka_t * max(n8 - k[65], 0.0) - k[57] * clad * n8)
    dy[M8] = (k[43] * n8 + k[25] * hom((m8 + k[39] * n8) / (target8 * k[31]), k[37], k[38]) * m8 - k[45] * m8
              - ka_t * max(m8 - k[66], 0.0) - k[58] * clad * m8)
    dy[PB] = k[46] * (1.0 - pb) - k[59] * clad * pb
    dy[BN] = k[26] * pb * (1.0 + k[47] * (f - 1.0)) - k[27] * bn - ka_b * max(bn - k[67], 0.0) - k[60] * clad * bn
    dy[BM] = k[48] * bn + k[28] * bm - k[49] * bm - ka_b * max(bm - k[68], 0.0) - k[61] * clad * bm
    nk_source = k[29] if k[51] == 0.0 else k[29] * (1.0 - k[51] + k[51] * pb)
    dy[NK] = nk_source - k[50] * nk - ka_nk * max(nk - k[69], 0.0) - k[62] * clad * nk
    tot = n4 + m4 + n8 + m8 + bn + bm
    ratio = min(k[32] / tot, k[54]) if tot > 0.0 else k[54]
    dy[F] = k[52] * (ratio ** k[53] - f)
    dy[S] = 0.0 if k[40] == 1.0 and k[71] == 1.0 else k[41] * max(f - 1.0, 0.0) * (1.0 - s)


def check_indices():
    for name, i in [("rate", 72), ("sshift8", 71), ("fl_n4", 63), ("kill_n4", 55), ("b_n4", 33), ("psi", 39), ("sshift", 40),
                    ("a4", 42), ("kp", 46), ("dnk", 50), ("kf", 52), ("fmax", 54), ("l0", 32), ("niche4", 30)]:
        assert KI[name] == i, (name, KI[name], i)


def observe(y, k):
    cd4, cd8, cd19, nk = y[N4] + y[M4], y[N8] + y[M8], y[BN] + y[BM], y[NK]
    return np.array([(cd4 + cd8 + cd19 + nk) * k[KI["alc_scale"]], cd4, cd8, cd19, nk])


def segments(events_csv, horizon):
    """Event rows → (breakpoints, per-segment infusion rate, oral doses at breakpoints) as lymphosim applies
    them: an infusion starts at TIME and stops at TIME + AMT/RATE; an oral dose adds F·AMT to G at TIME."""
    changes = {}  # day -> [rate change, oral mg]
    with open(events_csv) as fh:
        for row in csv.DictReader(fh):
            if row["EVID"] != "1":
                continue
            t, amt, cmt, rate = float(row["TIME"]), float(row["AMT"]), int(row["CMT"]), float(row["RATE"])
            if cmt == 1:
                changes.setdefault(t, [0.0, 0.0])[0] += rate
                changes.setdefault(t + amt / rate, [0.0, 0.0])[0] -= rate
            else:
                changes.setdefault(t, [0.0, 0.0])[1] += amt
    days = sorted(d for d in changes if d < horizon)
    return [(d, changes[d][0], changes[d][1]) for d in days]


def simulate(run_segment, y0, k, events, horizon, bioavailability):
    """Integrates from event to event; returns the observed counts on days 0..horizon."""
    obs_days = np.arange(0.0, horizon + 0.5)
    out = np.zeros((len(obs_days), 5))
    y = y0.copy()
    t, rate, oi = 0.0, 0.0, 0
    stops = [(d, dr, oral) for d, dr, oral in events] + [(horizon, 0.0, 0.0)]
    for day, drate, oral in stops:
        if day > t:
            # Observations in (t, day]; day 0 is the initial state. An observation at an event day sees the
            # state before the event (as in lymphosim).
            lo = oi
            while oi < len(obs_days) and obs_days[oi] <= day:
                oi += 1
            want = obs_days[lo:oi]
            if lo == 0 and len(want) and want[0] == 0.0:
                out[0] = observe(y, k)
                want, lo = want[1:], 1
            k[KI["rate"]] = rate
            y, ys = run_segment(y, t, day, want, k)
            for j, yy in enumerate(ys):
                out[lo + j] = observe(yy, k)
            t = day
        rate = max(rate + drate, 0.0) if abs(rate + drate) > 1e-9 else 0.0
        y[G] += bioavailability * oral
    return out


def scipy_segment(rtol, atol):
    from scipy.integrate import solve_ivp

    def run(y, t0, t1, want, k):
        def f(t, yy):
            dy = np.empty(17)
            rhs_into(yy, dy, k)
            return dy
        evals = sorted(set(list(want) + [t1]))
        sol = solve_ivp(f, (t0, t1), y, method="LSODA", rtol=rtol, atol=atol, t_eval=evals)
        if not sol.success:
            raise RuntimeError(sol.message)
        ys = [sol.y[:, i] for i, tt in enumerate(sol.t) if tt in set(want)]
        return sol.y[:, -1].copy(), ys
    return run


def numbalsoda_segment(rtol, atol):
    import numba
    from numbalsoda import lsoda, lsoda_sig

    rhs_jit = numba.njit(rhs_into)
    nk = len(K_NAMES)

    @numba.cfunc(lsoda_sig)
    def f(t, u, du, data):
        y = numba.carray(u, (17,))
        dy = numba.carray(du, (17,))
        k = numba.carray(data, (nk,))
        rhs_jit(y, dy, k)

    address = f.address

    def run(y, t0, t1, want, k):
        t_eval = np.array([t0] + list(want) + ([t1] if not len(want) or want[-1] != t1 else []))
        usol, success = lsoda(address, y, t_eval, data=k, rtol=rtol, atol=atol, mxstep=100000)
        if not success:
            raise RuntimeError("numbalsoda lsoda failed")
        return usol[-1].copy(), [usol[1 + j] for j in range(len(want))]
    return run


def max_rel_error(a, b):
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1.0)))


def best_time(fn, repeats):
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lymphosim", default=os.path.join(ROOT, "target", "release", "lymphosim"))
    ap.add_argument("--params", default=os.path.join(ROOT, "data", "params-v3-calibrated.toml"))
    ap.add_argument("--weight", default="70")
    ap.add_argument("--interval-months", default="12")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--target", type=float, default=1e-5, help="accuracy every solver must reach")
    args = ap.parse_args()
    check_indices()
    with open(args.params, "rb") as fh:
        params = tomllib.load(fh)["parameters"]
    k, y0 = constants(params)
    horizon = 3653.0
    tmp = tempfile.mkdtemp(prefix="lymphosim-peers-")
    events_csv = os.path.join(tmp, "events.csv")
    common = ["--preset", "sequence", "--weight", args.weight, "--interval-months", args.interval_months]
    subprocess.run([args.lymphosim, "events", *common, "--out", events_csv], check=True, capture_output=True)
    events = segments(events_csv, horizon)

    def lymphosim_run(extra, out):
        """`lymphosim patient` with `extra` options; its daily counts."""
        subprocess.run([args.lymphosim, "patient", *common, "--params", args.params, "--no-plots", "--out", out,
                        *extra], check=True, capture_output=True)
        with open(out) as fh:
            rows = list(csv.DictReader(fh))
        return np.array([[float(r[c]) for c in OBSERVED] for r in rows])

    # The reference: lymphosim's full ODE with its L-stable Rosenbrock method at tight tolerance.
    ref = lymphosim_run(["--pk", "ode", "--method", "rodas4", "--rtol", "1e-11", "--atol", "1e-11"],
                        os.path.join(tmp, "ref.csv"))
    print(f"reference: lymphosim rodas4 on the full ODE, rtol 1e-11; {len(ref)} days, the `sequence` preset "
          f"({args.weight} kg, {args.interval_months} months)")
    print(f"target: largest relative error <= {args.target:.0e} over ALC, CD4, CD8, CD19, NK and all days; each "
          "solver at the loosest tolerance of its ladder that reaches it")

    # lymphosim (default method and drug form): time per solve in process, from `lymphosim patient --time-solves`.
    ours = None
    for tol in [1e-6, 1e-7, 1e-8, 1e-9, 1e-10]:
        out = os.path.join(tmp, f"ours-{tol:.0e}.csv")
        err = max_rel_error(lymphosim_run(["--rtol", f"{tol:g}", "--atol", f"{tol:g}"], out), ref)
        print(f"  {'lymphosim dopri5':<17} rtol {tol:.0e}: error {err:.1e}")
        if err <= args.target:
            text = subprocess.run(
                [args.lymphosim, "patient", *common, "--params", args.params, "--no-plots", "--out", out,
                 "--rtol", f"{tol:g}", "--atol", f"{tol:g}", "--time-solves", str(max(args.repeats, 20))],
                check=True, capture_output=True, text=True).stdout
            median_us = float(text.split("solve time: median ")[1].split(" us")[0])
            ours = (tol, err, median_us * 1e-6)
            break
    if ours is None:
        sys.exit("lymphosim reached no tolerance of its ladder")

    peers = [("scipy LSODA", scipy_segment)]
    try:
        import numbalsoda  # noqa: F401
        peers.append(("numbalsoda LSODA", numbalsoda_segment))
    except ImportError:
        print("numbalsoda is not installed: skipped (see README.md)")
    results = []
    for name, make in peers:
        chosen = None
        for tol in [1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10]:
            seg = make(tol, tol * 1e-3)
            out = simulate(seg, y0, k.copy(), events, horizon, params["clad_bioavailability"])  # also warms up
            err = max_rel_error(out, ref)
            print(f"  {name:<17} rtol {tol:.0e}: error {err:.1e}")
            if err <= args.target:
                reps = 1 if name.startswith("scipy") else args.repeats
                secs = best_time(lambda: simulate(seg, y0, k.copy(), events, horizon,
                                                  params["clad_bioavailability"]), reps)
                chosen = (name, tol, err, secs)
                break
        if chosen is None:
            print(f"  {name}: no tolerance on the ladder reached the target")
        else:
            results.append(chosen)

    tol, err, secs_ours = ours
    print("\ntime per patient at the target accuracy (ten years, daily observations):")
    print(f"  {'lymphosim dopri5':<17} rtol {tol:.0e} (error {err:.1e}): {secs_ours * 1e3:9.3f} ms  "
          f"(median of {max(args.repeats, 20)} in-process solves)")
    for name, tol, err, secs in results:
        how = "one run" if name.startswith("scipy") else f"best of {args.repeats}"
        print(f"  {name:<17} rtol {tol:.0e} (error {err:.1e}): {secs * 1e3:9.3f} ms  ({how}) = "
              f"{secs / secs_ours:7.1f}x lymphosim")


if __name__ == "__main__":
    sys.exit(main())
