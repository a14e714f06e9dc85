"""Reads of one full-height (785-row) column pair: the array model against SPICE through the column read.

The (a) reads of ``pycosim validate`` (pycosim.validation) on a 785 x 1 crossbar — every synapse a SPICE
instance of its bench Monte Carlo draw, the column pair read by ``colread`` of netlists/integrator.lib — without
the update, hold, reset and transfer experiments, which take far longer at this height and are covered at 8 x 4.
Same state drawing, same decoding, same error measure (|model − SPICE| / max(|SPICE|, 0.1·rms(SPICE))) and the
same read bounds (median ≤ 3 %, max ≤ 10 %).

    python benchmarks/validate_full_height.py [--rows 785] [--cases 4] [--workers 2] [--seed 0] [--transposed]

Forward reads only by default: a transposed read of this layer lasts t_x1 = 2.05 µs per phase (its full scale
of 2 on the one C_int), ~8× the forward window, which at 785 rows of BSIM4 cells is hours of ngspice on the
shared machine; --transposed adds them.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from pycosim import calibration
from pycosim.spice import iter_many
from pycosim.validation import model_side, spice_side
from pycosim.validation.compare import relative_errors
from pycosim.validation.setup import prepare

PCM_READ_CHUNK = 256


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=785)
    ap.add_argument("--cases", type=int, default=4)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--transposed", action="store_true", help="also the transposed reads (long)")
    a = ap.parse_args()
    t_start = time.monotonic()
    s = prepare(a.rows, 1, a.cases, a.seed, calibration.load(), a.workers, None, 0.0, True)
    st, R, C, inst, rk = s.state, s.rows, s.cols, s.inst, s.read_kw
    jobs, keys = [], []
    n_dev = 2 * R * C
    for lo in range(0, n_dev, PCM_READ_CHUNK):
        flat = np.arange(lo, min(lo + PCM_READ_CHUNK, n_dev))
        jobs.append(spice_side.pcm_read_job(inst, s.pcm_draws, s.pcm_instance, flat, age0_s=1.0, v_read_V=s.v_pcm_V))
        keys.append(("G1", flat))
    ph_f = spice_side.signed_phases(st.x, s.t_x1_forward_s, "forward")
    ph_b = spice_side.signed_phases(st.d, s.t_x1_transposed_s, "transposed")
    live_f = np.flatnonzero(ph_f.reshape(len(ph_f), -1).any(1))
    live_b = np.flatnonzero(ph_b.reshape(len(ph_b), -1).any(1))
    dirs = (("fwd", ph_f, live_f, "forward"),) + ((("bwd", ph_b, live_b, "transposed"),) if a.transposed else ())
    for tag, ph, live, direction in dirs:
        for job, info, sl in spice_side.read_jobs(inst, ph[live], direction, a.workers, **rk):
            jobs.append(job)
            keys.append((tag, (info, live[sl])))
    got: dict = {"fwd": [], "bwd": [], "G1": []}
    for i, res in iter_many(jobs, workers=a.workers, progress="ngspice", total=len(jobs)):
        tag, info = keys[i]
        got[tag].append((res, info))
    G = np.empty(n_dev)
    for res, flat in got["G1"]:
        G[flat] = spice_side.pcm_read_G(res, flat.size)
    y = {}
    for tag, t_x1, n_out, phases in (("fwd", s.t_x1_forward_s, C, ph_f), ("bwd", s.t_x1_transposed_s, R, ph_b)):
        if not got[tag]:
            continue
        deltas = np.zeros((len(phases), n_out))
        for res, (info, idx) in got[tag]:
            deltas[idx] = spice_side.read_deltas(res, info, "forward" if tag == "fwd" else "transposed")[0]
        y[tag] = spice_side.decode_reads(deltas, gain_V_per_C=s.gain_V_per_C, v_read_V=rk["v_read_V"], t_x1_s=t_x1,
                                         scale=s.xb.scale)
    s.xb.set_devices(P=G.reshape(2, R, C), V=st.vc, pol=st.pol)
    y_f, y_b = model_side.reads(s.xb, st.x, st.d)
    wp, wn = (w.reshape(R, C) for w in s.xb._lines_of(None))
    print(f"{R} x {C} crossbar, {a.cases} inputs per direction, seed {a.seed}; line sums G+ {wp.sum() * 1e3:.2f} mS, "
          f"G- {wn.sum() * 1e3:.2f} mS; t_x1 forward {s.t_x1_forward_s * 1e9:.1f} ns, transposed "
          f"{s.t_x1_transposed_s * 1e9:.1f} ns; {time.monotonic() - t_start:.0f} s")
    print(f"{'quantity':28s} {'n':>5s} {'median':>8s} {'max':>8s}  bound")
    ok = True
    for name, sp, mo in (("forward read y = x·W", y.get("fwd"), y_f), ("transposed read y = W·δ", y.get("bwd"), y_b)):
        if sp is None:
            continue
        e = relative_errors(mo, sp)
        good = np.median(e) <= 0.03 and e.max() <= 0.10
        ok &= bool(good)
        print(f"{name:28s} {e.size:5d} {np.median(e):8.2%} {e.max():8.2%}  median ≤ 3 %, max ≤ 10 %: "
              f"{'ok' if good else 'FAILED'}")
        if name.startswith("forward"):
            print("  forward y, SPICE:", np.round(sp.ravel(), 4).tolist(), " model:", np.round(mo.ravel(), 4).tolist())
    print("within the read bounds" if ok else "OUTSIDE the read bounds")


if __name__ == "__main__":
    main()
