"""``pycosim validate``: the NumPy array model against SPICE on the same small crossbar (issue 11).

:func:`validate` builds one R×C crossbar of 2PCM+3T1C synapses (Ambrogio et al., *Nature* 558, 60–67
(2018)) twice — as the array model (:class:`pycosim.array.Crossbar`, synapse '2pcm+3t1c', the
calibration bundle) and as SPICE netlists of the *same device instances* (every device is the bench
Monte Carlo instance the array model assigned to it: :mod:`pycosim.validation.instances`) — places the
devices in the same random states and compares:

(a) forward and transposed pulse-width-modulated reads of N random inputs: integrator outputs decoded
    into weighted sums y = x̂·W, resp. W·δ̂ (network units), by the bundle's integrator gain;
(b) one update step: coincident up/down pulses (rows drive the programming gates, columns the source
    lines), n_ij = a_i·b_j·σ_j pulses — V_C, ΔV_C, g and Δg of every cell;
(c) one closed-loop transfer of a column: target read, transmission-gate reset and polarity inversion
    of the 3T1C cells, verify/SET loop on the PCM pair (in SPICE: bench SET pulses, one per 1-µs
    period, the devices continued between netlists) — final G of every device and W of every synapse,
    and whether each simulator's weights are within the transfer tolerance of its targets;
(d) the 3T1C cells after a hold (leakage, default the transfer interval's hold time) and after a
    transmission-gate reset — V_C, the reset residual, g.

The array model runs as in training (with the integrators' virtual-ground lag, PeripheryConfig.integrator_lag)
but without the digital lag compensation (SPICE's outputs are analog). Besides, it measures physical
effects one at a time: the virtual-ground lag in SPICE (real against ideal op-amp) beside the model's own
(integrator_lag off against on), IR drop on the lines, the PCM's non-ohmic read (only if the bundle's G is
not read at V_read), the 3T1C read coupling and a reset with the rows idle, half-selected cells during an
update, the integrators' single-ended swing; and it reports each quantity's median and maximum relative
error (:mod:`pycosim.validation.compare`) with the elements beyond tolerance.

3T1C reset protocol: the array model's reset value (lsp/reset_vfinal_V) comes from circuits/lsp_reset.cir,
whose read-FET drain sits at V_read; the SPICE reset of the comparison does the same (rows held at V_read
during the transmission-gate reset). The reset with the rows idle at 0 V is measured as an effect.
See docs/validation.md for the method, the numbers and the findings.
"""

from __future__ import annotations

import copy
import time
from pathlib import Path

import numpy as np

from pycosim.errors import ConfigError
from pycosim.validation import compare, instances, model_side, report, spice_side
from pycosim.validation.compare import Quantity
from pycosim.validation.netlists.levels import pcm_pulses

_US, _MV = 1e6, 1e3
SCHEMA = "pycosim.validate"
SCHEMA_VERSION = 1
MAX_SYNAPSES = 4096
UPDATE_A, UPDATE_B = 2, 4          # slot grid of the coincident update: n_ij = a_i·b_j ≤ 8 = UpdateConfig.max_pulses
EFFECT_CASES = 5                   # inputs of the extra forward reads that measure left-out effects
PCM_READ_CHUNK = 256               # PCM devices per read netlist
VC_SPAN_V = 0.15                   # initial V_C ~ U(vc_init ± VC_SPAN_V): the cells' range around their operating point


def _check_int(name: str, value, lo: int, hi: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < lo or (hi is not None and value > hi):
        rng = f">= {lo}" if hi is None else f"in {lo}…{hi}"
        raise ConfigError(f"{name}={value!r}: must be a whole number {rng}")
    return int(value)


def _load_bundle(bundle):
    from pycosim import calibration

    if bundle is None or isinstance(bundle, (str, Path)):
        return calibration.load(bundle)
    return bundle


def draw_state(rows: int, cols: int, cases: int, seed: int, vc_init_V: float = 0.8) -> dict:
    """The random states and inputs of a validation (numpy Generator seeded with (seed, 11)):
    xc (2, R, C) ~ U(0, 1) PCM crystalline fractions; vc (R, C) ~ U(vc_init_V ± VC_SPAN_V) V (vc_init_V: the
    3T1C operating point, the reset line and reference gate voltage of the bundle); pol (C,) ±1; zc
    (2, R, C, 24) PCM cycle-to-cycle draws ~ N(0, 1); x (N, R) forward inputs on the 8-bit PWM grid in
    [0, 1] (activations); d (N, C) transposed inputs on the grid in [−1, 1] with max|d| = 1 (so the
    array model's normalisation by max|δ| is exact); a (R,) ∈ {0, 1, 2}, b (C,) ∈ {0 … 4}, sigma (C,) ±1
    the update's counts n_ij = a_i·b_j·σ_j; col: the transferred column."""
    rng = np.random.default_rng([seed, 11])
    d = rng.integers(-255, 256, (cases, cols)) / 255.0
    k = rng.integers(0, cols, cases)
    d[np.arange(cases), k] = rng.choice([-1.0, 1.0], cases)
    return {
        "xc": rng.uniform(0.0, 1.0, (2, rows, cols)), "vc": rng.uniform(vc_init_V - VC_SPAN_V, vc_init_V + VC_SPAN_V, (rows, cols)),
        "pol": rng.choice([-1, 1], cols), "zc": rng.standard_normal((2, rows, cols, 24)),
        "x": rng.integers(0, 256, (cases, rows)) / 255.0, "d": d,
        "a": rng.integers(0, UPDATE_A + 1, rows), "b": rng.integers(0, UPDATE_B + 1, cols),
        "sigma": rng.choice([-1, 1], cols), "col": int(rng.integers(0, cols)),
    }


def _labels(shape, *names) -> list[str]:
    return [", ".join(f"{n} {k}" for n, k in zip(names, idx)) for idx in np.ndindex(*shape)]


def validate(rows: int = 8, cols: int = 4, cases: int = 20, seed: int = 0, bundle=None, out_dir=None,
             workers: int | None = None, *, hold_s: float | None = None, r_wire_ohm: float = 1.0,
             progress: bool = True) -> dict:
    """Compare the array model with SPICE on the same R×C crossbar (module docstring); write the report.

    Args:
        rows, cols: crossbar size (R·C ≤ 4096 synapses); cases: random input vectors per read direction;
        seed: seed of the array model's instance assignment and of every random state and input;
        bundle: calibration bundle, a bundle directory, or None for the shipped one;
        out_dir: if given, write ``validate.json``, ``table.txt`` and ``parity_<quantity>.png`` there
            (atomically; checked before any simulation);
        workers: ngspice worker processes (default: CPU cores); the reads are split over them;
        hold_s: hold time of (d) (s; default the bundle's transfer-interval hold lsp.t_hold_transfer_s);
        r_wire_ohm: line resistance per cell pitch of the IR-drop measurement (Ω; 0 skips it);
        progress: progress bars on stderr.

    Returns the report dict (also ``validate.json``): per quantity the median/max relative error,
    tolerance, pass flag and the elements beyond tolerance; checks; measured effects; 'table' (text);
    'passed'. Raises ConfigError for bad arguments (nothing is simulated or written then),
    CalibrationError for a bundle without the needed provenance, SpiceError if ngspice fails.
    """
    from pycosim.spice.pool import check_workers, default_workers

    rows = _check_int("rows", rows, 1)
    cols = _check_int("cols", cols, 1)
    cases = _check_int("cases", cases, 1, 10000)
    seed = _check_int("seed", seed, 0, 2**31 - 2)
    if rows * cols > MAX_SYNAPSES:
        raise ConfigError(f"rows x cols = {rows * cols} synapses: at most {MAX_SYNAPSES} (SPICE of every device)")
    workers = default_workers() if workers is None else check_workers(workers, "workers")
    if hold_s is not None and not (np.isfinite(hold_s) and hold_s > 0):
        raise ConfigError(f"hold_s={hold_s!r}: must be a time > 0 s")
    if not (np.isfinite(r_wire_ohm) and r_wire_ohm >= 0):
        raise ConfigError(f"r_wire_ohm={r_wire_ohm!r}: must be >= 0 ohm")
    if out_dir is not None:
        report.check_out_dir(out_dir)
    bundle = _load_bundle(bundle)
    t_wall = time.perf_counter()
    run = _Run(rows, cols, cases, seed, bundle, workers, hold_s, r_wire_ohm, progress)
    doc = run.execute()
    doc["wall_time_s"] = time.perf_counter() - t_wall
    if out_dir is not None:
        report.write(out_dir, doc, doc["table"], run.quantities)
    return doc


def _effects_text(eff: dict) -> str:
    """One line per measured effect (the numbers of validate.json 'effects')."""
    pct = lambda d, a="median_rel", b="max_rel": f"median {d[a]:.2%}, max {d[b]:.2%}"  # noqa: E731
    lines = ["Effects measured one at a time:"]
    if "integrator_virtual_ground_lag" in eff:
        e = eff["integrator_virtual_ground_lag"]
        lines.append(f"  integrator virtual-ground lag (in the array model): SPICE reads change {pct(e)}; "
                     f"the model's reads change {pct(e, 'model_median_rel', 'model_max_rel')}")
    if "ir_drop" in eff:
        lines.append(f"  IR drop ({eff['ir_drop']['r_wire_ohm']:g} Ω per cell pitch, not in the array model): "
                     f"reads change {pct(eff['ir_drop'])}")
    e = eff["pcm_non_ohmic_read"]
    if e["measured"]:
        lines.append(f"  PCM G at V_read / G at the bundle's {e['bundle_read_v_V']:g} V: {e['G_ratio_min']:.3f} … "
                     f"{e['G_ratio_max']:.3f}; reads change {pct(e)}")
    else:
        lines.append(f"  PCM non-ohmic read: none, the bundle's G is read at V_read = {e['v_read_V']:g} V (ratio 1)")
    e = eff["read_coupling_3t1c"]
    lines.append(f"  3T1C read coupling (drain 0 → V_read): V_C +{e['min_V'] * 1e3:.2f} … +{e['max_V'] * 1e3:.2f} mV "
                 f"(median {e['median_V'] * 1e3:.2f} mV)")
    e = eff["reset_rows_idle"]
    lines.append(f"  3T1C reset with the rows idle at 0 V (not the bench protocol): V_C read after it "
                 f"+{e['median_V'] * 1e3:.2f} mV (+{e['min_V'] * 1e3:.2f} … +{e['max_V'] * 1e3:.2f}); "
                 f"residual against the model {pct(e)}")
    lines.append(f"  half-selected cells in the update: |ΔV_C| ≤ {eff['update_half_select']['max_abs_dVC_V']:.2g} V")
    lines.append(f"  largest single-ended integrator swing: {eff['integrator_single_ended_swing']['max_abs_V']:.2f} V")
    return "\n".join(lines)


class _Run:
    """One validation: state, SPICE jobs, array-model experiments, comparison (see :func:`validate`)."""

    def __init__(self, rows, cols, cases, seed, bundle, workers, hold_s, r_wire_ohm, progress):
        self.R, self.C, self.N, self.seed = rows, cols, cases, seed
        self.bundle, self.workers, self.progress = bundle, workers, progress
        self.hold_s = float(hold_s if hold_s is not None else bundle.scalars["lsp"]["t_hold_transfer_s"])
        self.r_wire = float(r_wire_ohm)
        self.quantities: list[Quantity] = []

    # ------------------------------------------------------------------ set-up
    def _setup(self) -> None:
        R, C = self.R, self.C
        self.xb = model_side.build(R, C, self.bundle, self.seed)
        self.xbc = model_side.build(R, C, self.bundle, self.seed, drift=True)
        self.xbi = model_side.build(R, C, self.bundle, self.seed, lag=False)       # ideal virtual grounds
        model_side.same_instances(self.xb, self.xbc)
        model_side.same_instances(self.xb, self.xbi)
        self.vc_init = float(self.xb.lsp_pop.vc_init_V)
        self.st = st = draw_state(R, C, self.N, self.seed, self.vc_init)
        self.ref_inst = instances.reference_instances(self.xb)
        self.lsp_d, self.pcm_d = instances.probe_draws(
            self.bundle, np.concatenate([self.xb.V_inst.ravel(), self.ref_inst]), self.xb.P_inst,
            workers=self.workers, progress="instances" if self.progress else False)
        self.inst = instances.crossbar_instances(self.xb, self.lsp_d, self.pcm_d, xc=st["xc"], age_s=np.ones((2, R, C)),
                                                 vc=st["vc"], pol=st["pol"], zc=st["zc"])
        integ = self.bundle.scalars["integrator"]
        self.gain = float(integ["gain_V_per_C"])
        self.read_kw = dict(F=float(self.xb.cfg.F), v_read_V=float(self.xb.read_v_V), cint_F=float(integ.get("cint_F", -1 / self.gain)),
                            a0=float(integ.get("a0", 1e5)), gbw_Hz=float(integ.get("gbw_Hz", 1e9)), t_step_s=1e-9, t_reset_s=5e-9)
        self.read_kw["drive_t0_V"] = self.read_kw["v_read_V"]     # V_C states in the benches' convention (drain at V_read)
        self.read_kw["vref_gate_V"] = self.vc_init                  # the reference FET's gate: g_shared = g_k(vc_init)
        self.v_line = float(self.bundle.scalars["lsp"].get("reset_target_V", self.vc_init))
        # the bias at which the bundle's PCM G is read (pcm_set_staircase's vread): the model's G is that value
        self.v_pcm = float(self.bundle.scalars["pcm"].get("read_v_V", pcm_pulses().vread_V))
        self.non_ohmic = not np.isclose(self.v_pcm, self.read_kw["v_read_V"], rtol=0, atol=1e-9)

    # ------------------------------------------------------------------ SPICE
    def _jobs(self) -> tuple[list[dict], list]:
        st, R, C, inst = self.st, self.R, self.C, self.inst
        jobs, keys = [], []

        def add(key, job, info=None):
            jobs.append(job)
            keys.append((key, info))

        n_dev = 2 * R * C
        t_p = float(self.xbc.pcm_pop.drift_t_prog_s)
        reads = [("G1", 1.0, self.v_pcm), ("Gtp", t_p, self.v_pcm)]
        if self.non_ohmic:                                  # the bundle's G is not the read value: measure G at V_read
            reads.append(("G1_lo", 1.0, self.read_kw["v_read_V"]))
        for tag, age, vr in reads:
            for a in range(0, n_dev, PCM_READ_CHUNK):
                flat = np.arange(a, min(a + PCM_READ_CHUNK, n_dev))
                add((tag, a), spice_side.pcm_read_job(inst, self.pcm_d, self.xb.P_inst, flat, age0_s=age, v_read_V=vr), flat)
        self.ph_f = spice_side.signed_phases(st["x"], self.xb.fwd.t_x1_s, "forward")
        self.ph_b = spice_side.signed_phases(st["d"], self.xb.bwd.t_x1_s, "transposed")
        self.live_f = np.flatnonzero(self.ph_f.reshape(len(self.ph_f), -1).any(1))
        self.live_b = np.flatnonzero(self.ph_b.reshape(len(self.ph_b), -1).any(1))
        for tag, ph, live, direction in (("fwd", self.ph_f, self.live_f, "forward"), ("bwd", self.ph_b, self.live_b, "transposed")):
            for job, info, sl in spice_side.read_jobs(inst, ph[live], direction, self.workers, **self.read_kw):
                add((tag, sl.start), job, (info, live[sl]))
        self.n_eff = min(self.N, EFFECT_CASES)
        self.live_e = self.live_f[self.live_f < 2 * self.n_eff]
        variants = [("fwd_ideal", dict(self.read_kw, a0=1e9, gbw_Hz=1e13))]
        if self.r_wire > 0:
            variants.append(("fwd_wire", dict(self.read_kw, r_wire_ohm=self.r_wire)))
        for tag, kw in variants:
            for job, info, sl in spice_side.read_jobs(inst, self.ph_f[self.live_e], "forward", 1, **kw):
                add((tag, 0), job, (info, self.live_e[sl]))
        up_cols = st["sigma"] * st["pol"] > 0
        self.update_steps = spice_side.update_steps(st["a"], st["b"], up_cols, A=UPDATE_A, B=UPDATE_B)
        steps_u = [{"op": "read"}, *self.update_steps, {"op": "read"}]
        vr = self.read_kw["v_read_V"]
        job, info = spice_side.cell_job(inst, steps_u, v_read_V=vr, rows_t0_V=vr, vref_gate_V=self.vc_init)
        add(("cellU", 0), job, info)
        steps_h = [{"op": "read"}, {"op": "hold", "t_s": self.hold_s}, {"op": "reset", "v_line_V": self.v_line}, {"op": "read"}]
        job, info = spice_side.cell_job(inst, steps_h, v_read_V=vr, rows_t0_V=vr, vref_gate_V=self.vc_init)
        add(("cellH", 0), job, info)
        steps_r = [{"op": "read"}, {"op": "reset", "v_line_V": self.v_line, "rows_V": vr}, {"op": "read"}]
        job, info = spice_side.cell_job(inst, steps_r, v_read_V=vr, rows_t0_V=vr, vref_gate_V=self.vc_init)
        add(("cellR", 0), job, info)
        order = np.argsort([-len(j["netlist"]) for j in jobs], kind="stable")      # big netlists first
        return [jobs[k] for k in order], [keys[k] for k in order]

    def _run_spice(self) -> dict:
        from pycosim.spice import iter_many

        jobs, keys = self._jobs()
        out: dict = {}
        for i, res in iter_many(jobs, workers=self.workers, progress="ngspice" if self.progress else False, total=len(jobs)):
            (tag, part), info = keys[i]
            out.setdefault(tag, []).append((part, res, info))
        return out

    def _collect(self, sp: dict) -> dict:
        R, C, rk = self.R, self.C, self.read_kw
        n_dev = 2 * R * C
        got: dict = {}
        for tag in ("G1", "G1_lo", "Gtp"):
            if tag not in sp:
                continue
            G = np.empty(n_dev)
            for _, res, flat in sp[tag]:
                G[flat] = spice_side.pcm_read_G(res, flat.size)
            got[tag] = G.reshape(2, R, C)
        vmax = 0.0
        for tag, t_x1, n_out, phases in (("fwd", self.xb.fwd.t_x1_s, C, self.ph_f), ("bwd", self.xb.bwd.t_x1_s, R, self.ph_b),
                                         ("fwd_ideal", self.xb.fwd.t_x1_s, C, self.ph_f), ("fwd_wire", self.xb.fwd.t_x1_s, C, self.ph_f)):
            if tag not in sp:
                continue
            deltas = np.zeros((len(phases), n_out))
            for _, res, (info, idx) in sp[tag]:
                dv, vm = spice_side.read_deltas(res, info, "forward" if tag != "bwd" else "transposed")
                deltas[idx] = dv
                vmax = max(vmax, vm) if tag in ("fwd", "bwd") else vmax
            got[tag] = spice_side.decode_reads(deltas, gain_V_per_C=self.gain, v_read_V=rk["v_read_V"], t_x1_s=t_x1, scale=self.xb.scale)
        got["vout_max"] = vmax
        (_, res, info), = sp["cellU"]
        s = info["steps"]
        # V_C at the reads (drain at V_read: the benches' convention); idle (rows at 0 V) after the first read
        got["U_v0"] = spice_side.cell_vc(res, (R, C), s[0]["t_read"])
        got["U_v0_idle"] = spice_side.cell_vc(res, (R, C), s[0]["t_end"])
        got["U_v1"] = spice_side.cell_vc(res, (R, C), s[-1]["t_read"])
        got["U_g0"], got["gs"] = spice_side.cell_g(res, (R, C), s[0]["t_read"], rk["v_read_V"])
        got["U_g1"], _ = spice_side.cell_g(res, (R, C), s[-1]["t_read"], rk["v_read_V"])
        (_, res, info), = sp["cellH"]
        s = info["steps"]
        got["H_v0"] = spice_side.cell_vc(res, (R, C), s[1]["t_start"])
        got["H_v1"] = spice_side.cell_vc(res, (R, C), s[1]["t_end"])
        got["H_v2"] = spice_side.cell_vc(res, (R, C), s[3]["t_read"])      # after a reset with the rows idle (effect)
        (_, res, info), = sp["cellR"]                                       # reset with the rows at V_read (the bench)
        t_r = info["steps"][2]["t_read"]
        got["R_v"] = spice_side.cell_vc(res, (R, C), t_r)
        got["R_g"], _ = spice_side.cell_g(res, (R, C), t_r, rk["v_read_V"])
        return got

    # ------------------------------------------------------------------ experiments
    def execute(self) -> dict:
        self._setup()
        sp = self._collect(self._run_spice())
        st, R, C, xb = self.st, self.R, self.C, self.xb
        xb.set_devices(P=sp["G1"], V=st["vc"], pol=st["pol"])
        Q = self.quantities
        rc = _labels((R, C), "row", "column")
        # (a) reads and the initial 3T1C state
        y_f, y_b = model_side.reads(xb, st["x"], st["d"])
        Q.append(Quantity("g_initial", "3T1C g(V_C), initial state", sp["U_g0"], xb.g, rc, 0.01, "µS", _US,
                          note="SPICE: each cell read alone at V_DS = V_read; model: the cell's row of lsp/g_of_vc_S"))
        Q.append(Quantity("g_shared", "reference g_shared per column", sp["gs"], xb.g_shared, _labels((C,), "column"), 0.01, "µS", _US))
        Q.append(Quantity("read_forward", "forward read y = x·W", sp["fwd"], y_f, _labels(y_f.shape, "input", "column"), 0.10, "network units",
                          median_tol=0.03, note="SPICE: integrator outputs decoded with the bundle's gain; model: Crossbar.forward "
                          "as shipped (virtual-ground lag per line), before the digital lag compensation"))
        Q.append(Quantity("read_transposed", "transposed read y = W·δ", sp["bwd"], y_b, _labels(y_b.shape, "input", "row"), 0.10,
                          "network units", median_tol=0.03, note="SPICE: two phases per read, row integrators; model: Crossbar.backward "
                          "as shipped (virtual-ground lag per line), before the digital lag compensation"))
        self.xbi.set_devices(P=sp["G1"], V=st["vc"], pol=st["pol"])
        self.y_f_ideal = model_side.forward_reads(self.xbi, st["x"][:self.n_eff])
        # (b) one update
        a, b, sig = st["a"], st["b"], st["sigma"]
        n = a[:, None] * b[None, :] * sig[None, :]
        xu = model_side.update(xb, (a / UPDATE_A).astype(np.float32), (-sig * b / UPDATE_B).astype(np.float32),
                               xb.dw_pulse * UPDATE_A * UPDATE_B)
        if xu.counters.lsp_up_pulses + xu.counters.lsp_down_pulses != int(np.abs(n).sum()):
            raise RuntimeError("update: the array model applied a different number of pulses than scheduled")
        pulsed = n != 0
        lab_p = [lbl for lbl, p in zip(rc, pulsed.ravel()) if p]
        dv_s, dv_m = sp["U_v1"] - sp["U_v0"], xu.V.astype(float) - xb.V
        if pulsed.any():
            Q.append(Quantity("update_dvc", "update ΔV_C (pulsed cells)", dv_s[pulsed], dv_m[pulsed], lab_p, 0.10, "mV", _MV,
                              note="n = a_i·b_j pulses by coincidence in SPICE; closed-form n-pulse step in the model"))
        Q.append(Quantity("update_vc", "update V_C", sp["U_v1"], xu.V, rc, 0.01, "V"))
        Q.append(Quantity("update_g", "update g", sp["U_g1"], xu.g, rc, 0.05, "µS", _US, need_frac=0.95))
        if pulsed.any():
            Q.append(Quantity("update_dg", "update Δg (pulsed cells)", (sp["U_g1"] - sp["U_g0"])[pulsed],
                              (xu.g - xb.g)[pulsed], lab_p, 0.10, "µS", _US))
        # (d) hold and reset
        v_hold, xr = model_side.hold_and_reset(xb, self.hold_s)
        Q.append(Quantity("hold_dvc", f"hold ΔV_C ({self.hold_s * 1e3:.3g} ms)", sp["H_v1"] - sp["H_v0"], v_hold - xb.V, rc,
                          0.10, "mV", _MV, note="leakage with every programming FET off, rows and columns at 0 V"))
        rst = "SPICE: transmission-gate reset with the rows held at V_read (the protocol of circuits/lsp_reset.cir, " \
              "whence the model's lsp/reset_vfinal_V), read at V_read"
        Q.append(Quantity("reset_vc", "reset V_C", sp["R_v"], xr.V, rc, 0.01, "V", note=rst))
        Q.append(Quantity("reset_residual", f"reset residual V_C − {self.v_line:g} V", sp["R_v"] - self.v_line,
                          xr.V - self.v_line, rc, 0.10, "mV", _MV, note=rst))
        Q.append(Quantity("reset_g", "g after reset", sp["R_g"], xr.g, rc, 0.05, "µS", _US, note=rst))
        self.reset_model_V = xr.V.astype(float)
        # (c) transfer of one column
        checks = self._transfer(sp)
        effects = self._effects(sp, y_f, n)
        return self._document(checks, effects, sp)

    def _transfer(self, sp: dict) -> list[dict]:
        st, R, C, xbc = self.st, self.R, self.C, self.xbc
        col = st["col"]
        t = xbc.cfg.transfer
        xbc.set_devices(P=sp["Gtp"])
        xbc.leak(1.0)                       # the devices were programmed 1 s ago (PCM drift; the LSP is set after)
        Pe = np.asarray(xbc.Pe, float).copy()
        self.quantities.append(Quantity("pcm_drift", "PCM G 1 s after programming", sp["G1"], Pe,
                                        _labels((2, R, C), "device", "row", "column"), 0.10, "µS", _US,
                                        note="SPICE: read at drift-clock age 1 s; model: drift() of G read at t_p"))
        xbc.set_devices(V=st["vc"], pol=st["pol"])
        c_m = xbc.lsp_contribution()[:, col].astype(float)
        target_m = xbc.weights()[:, col].astype(float)
        moved_m = np.abs(c_m) > t.threshold
        stats = xbc.transfer(cols=[col])
        W_m, G_m = xbc.weights()[:, col].astype(float), np.asarray(xbc.Pe, float)[:, :, col]
        # SPICE: the same algorithm on the circuit's reads
        F, scale, pol = float(xbc.cfg.F), float(xbc.scale), float(st["pol"][col])
        g0, gs, g_rst = sp["U_g0"][:, col], sp["gs"][col], sp["R_g"][:, col]     # reset with the rows at V_read
        G0 = sp["G1"][:, :, col]
        c_s = scale * pol * (g0 - gs)
        moved_s = np.abs(c_s) > t.threshold
        target_s = scale * F * (G0[0] - G0[1]) + c_s
        lsp_after = (-pol if t.invert_polarity else pol) * (g_rst - gs)
        bar = None
        if self.progress:
            from tqdm import tqdm
            bar = tqdm(total=t.max_pulses + t.max_restarts + 2, desc="transfer (SPICE)", unit="iteration", leave=False)
        try:
            loop = spice_side.closed_loop(
                self.inst, self.pcm_d, xbc.P_inst, col, G0, target_s, lsp_after, moved_s, scale=scale, F=F,
                tolerance=t.tolerance, max_pulses=t.max_pulses, max_restarts=t.max_restarts,
                g_max_S=xbc.pcm_pop.g_max_S[xbc.P_inst[:, :, col]], saturation_frac=xbc.cfg.pcm.saturation_frac,
                refresh_frac=float(getattr(t, "refresh_frac", 1.0)), G_prog_S=sp["Gtp"][:, :, col], v_read_V=self.v_pcm,
                workers=self.workers, progress=bar)
        finally:
            if bar is not None:
                bar.close()
        self.loop = loop
        both = moved_m & moved_s
        lab = _labels((R,), "row")
        self.quantities.append(Quantity("transfer_target", f"transfer target W (column {col})", target_s, target_m, lab, np.inf,
                                        "network units", note="the noise-free read before the transfer: PCM G after 1 s "
                                        "(circuit vs the model's drift law) and the 3T1C contribution"))
        self.quantities.append(Quantity("transfer_G", f"transfer G (column {col})", loop["G"], G_m,
                                        _labels((2, R), "device", "row"), np.inf, "µS", _US,
                                        note="cycle-to-cycle noise drawn independently on the two sides: informational"))
        if both.any():
            self.quantities.append(Quantity("transfer_W", f"transfer W (column {col}, moved)", loop["W"][both], W_m[both],
                                            [lbl for lbl, k in zip(lab, both) if k], np.inf, "network units",
                                            note="each side converges to its own target within the tolerance"))
        e_m, e_s = np.abs(W_m - target_m)[moved_m], np.abs(loop["W"] - target_s)[moved_s]
        return [
            {"check": f"transfer (model): moved synapses within ±{t.tolerance:g} of target", "n": int(moved_m.sum()),
             "within": int(np.count_nonzero(e_m <= t.tolerance)), "max_abs_error": float(e_m.max()) if e_m.size else 0.0,
             "passed": bool(np.all(e_m <= t.tolerance)), "set_pulses": stats.set_pulses, "resets": stats.resets},
            {"check": f"transfer (SPICE): moved synapses within ±{t.tolerance:g} of target", "n": int(moved_s.sum()),
             "within": int(np.count_nonzero(e_s <= t.tolerance)), "max_abs_error": float(e_s.max()) if e_s.size else 0.0,
             "passed": bool(np.all(e_s <= t.tolerance)), "set_pulses": int(loop["pulses"].sum()),
             "resets": int(2 * loop["resets"].sum()), "iterations": int(loop["iterations"])},
            {"check": "transfer: same synapses moved in both", "n": R, "within": int(np.count_nonzero(moved_m == moved_s)),
             "passed": bool(np.array_equal(moved_m, moved_s))},
        ]

    def _effects(self, sp: dict, y_f: np.ndarray, n: np.ndarray) -> dict:
        st, xb = self.st, self.xb
        ne = self.n_eff
        eff = {}
        y_cal = sp["fwd"][:ne]
        y_lag = y_f[:ne]
        m_lag = compare.effect_size(y_lag, self.y_f_ideal)
        eff["integrator_virtual_ground_lag"] = dict(
            compare.effect_size(y_cal, sp["fwd_ideal"][:ne]), model_median_rel=m_lag["median_rel"], model_max_rel=m_lag["max_rel"],
            description=(
                "SPICE: forward reads with the calibrated op-amp (a0, GBW of the bundle) against an ideal one (a0 = 1e9, "
                "GBW = 10 THz): the virtual ground lags by I/(C_int·2π·GBW), so each device sees V_read minus that lag. "
                "In the array model (PeripheryConfig.integrator_lag, κ = 1/(1 + G_L/(C_int·2π·GBW)) per line): "
                "model_* is the same change of the model's forward reads, integrator_lag off against on"))
        if "fwd_wire" in sp:
            eff["ir_drop"] = dict(compare.effect_size(sp["fwd_wire"][:ne], y_cal), r_wire_ohm=self.r_wire, description=(
                f"forward reads with {self.r_wire:g} Ω of line resistance per cell pitch against ideal lines (IR drop "
                "along rows and columns, and the sneak currents it causes); not in the array model"))
        v_read = self.read_kw["v_read_V"]
        if self.non_ohmic:
            lo = copy.deepcopy(xb)
            lo.set_devices(P=sp["G1_lo"])
            y_lo = model_side.forward_reads(lo, st["x"])
            ratio = sp["G1_lo"] / sp["G1"]
            eff["pcm_non_ohmic_read"] = {
                "measured": True, "bundle_read_v_V": self.v_pcm, "v_read_V": v_read,
                "G_ratio_median": float(np.median(ratio)), "G_ratio_min": float(ratio.min()), "G_ratio_max": float(ratio.max()),
                **compare.effect_size(y_lo, y_f),
                "description": (f"PCM G read at the crossbar's V_read = {v_read:g} V over G at the bundle's {self.v_pcm:g} V "
                                "(read self-heating and the amorphous sinh term); the array model uses the bundle's values. "
                                "The relative change is that of the forward reads computed by the model with either set"),
            }
        else:
            eff["pcm_non_ohmic_read"] = {
                "measured": False, "bundle_read_v_V": self.v_pcm, "v_read_V": v_read,
                "G_ratio_median": 1.0, "G_ratio_min": 1.0, "G_ratio_max": 1.0, "median_rel": 0.0, "max_rel": 0.0,
                "description": (f"the bundle's PCM G is read at the crossbar's V_read = {v_read:g} V (pcm.read_v_V): the "
                                "model's G is the read value, nothing to correct (not simulated)"),
            }
        rows_fired, cols_fired = st["a"] > 0, st["b"] > 0
        half = (n == 0) & (rows_fired[:, None] | cols_fired[None, :])
        dv = np.abs(sp["U_v1"] - sp["U_v0"])
        step = float(self.bundle.scalars["lsp"]["dv_up_mean_V"])
        eff["update_half_select"] = {
            "cells": int(half.sum()), "max_abs_dVC_V": float(dv[half].max()) if half.any() else 0.0,
            "max_over_step": float(dv[half].max() / step) if half.any() else 0.0,
            "description": "V_C change of cells with n = 0 whose row or column fired (V_GS = 0 on the programming FET); "
                           "the array model changes only pulsed cells",
        }
        e_rst = compare.relative_errors(self.reset_model_V - self.v_line, sp["H_v2"] - self.v_line)
        d_idle = sp["H_v2"] - sp["R_v"]
        eff["reset_rows_idle"] = {
            "median_rel": float(np.median(e_rst)), "max_rel": float(e_rst.max()),
            "median_V": float(np.median(d_idle)), "min_V": float(d_idle.min()), "max_V": float(d_idle.max()),
            "description": "a transmission-gate reset done with the rows idle at 0 V instead of held at V_read (the bench "
                           "protocol that the comparison and the array model follow): read at V_read afterwards, V_C is "
                           "higher by about the read-coupling step (*_V: idle minus held, after a hold; median_rel/max_rel: "
                           "its residual V_C − V_line against the array model's)",
        }
        delta = sp["U_v0"] - sp["U_v0_idle"]
        eff["read_coupling_3t1c"] = {
            "median_V": float(np.median(delta)), "min_V": float(delta.min()), "max_V": float(delta.max()),
            "g_change_median_rel": float(np.median(sp["U_g0"] / model_side.g_at(xb, sp["U_v0_idle"]) - 1)),
            "description": "rise of the floating storage node V_C when the read FET's drain steps from 0 V (idle row) "
                           "to V_read (gate-drain coupling): the benches hold the drain at V_read throughout, so the "
                           "bundle's V_C is the read-bias value; in the crossbar the rows idle at 0 V. Reads agree; a "
                           "transmission-gate reset done with the rows idle leaves V_C higher by this step during reads",
        }
        eff["integrator_single_ended_swing"] = {
            "max_abs_V": float(sp["vout_max"]),
            "description": "largest |V_out − V_ref| of a single line integrator during the reads (each line of a column pair "
                           "and each phase is integrated separately); the calibrated integrator is linear to "
                           f"{self.bundle.scalars['integrator']['q_linear_max_C'] / self.read_kw['cint_F']:.2f} V, the array model "
                           "clips only the difference",
        }
        return eff

    def _document(self, checks: list[dict], effects: dict, sp: dict) -> dict:
        qs = self.quantities
        text = compare.table(qs)
        if checks:
            text += "\n\n" + "\n".join(f"{c['check']}: {c['within']}/{c['n']} {'ok' if c['passed'] else 'FAILED'}" for c in checks)
        failed = [q for q in qs if not q.passed]
        bad_checks = [c for c in checks if not c["passed"]]
        if failed or bad_checks:
            text += "\n\nDisagreements beyond tolerance:"
            for q in failed:
                cells = "; ".join(f"{b['element']} (SPICE {b['spice'] * q.scale:.4g}, model {b['model'] * q.scale:.4g} {q.unit})"
                                  for b in q.beyond(8))
                text += f"\n  {q.name}: {q.summary()['n_beyond']} of {q.errors.size} elements: {cells}"
            for c in bad_checks:
                text += f"\n  {c['check']}: {c['n'] - c['within']} of {c['n']}"
        text += "\n\n" + _effects_text(effects)
        text += f"\n\nRelative error |model − SPICE| / max(|SPICE|, {compare.FLOOR_FRACTION:g}·rms(SPICE)) per element."
        R, C = self.R, self.C
        return {
            "schema": SCHEMA, "schema_version": SCHEMA_VERSION,
            "config": {"rows": R, "cols": C, "cases": self.N, "seed": self.seed, "workers": self.workers,
                       "calibration": str(getattr(self.bundle, "path", "") or ""), "hold_s": self.hold_s,
                       "r_wire_ohm": self.r_wire, "transfer_column": self.st["col"], "read": self.read_kw,
                       "t_x1_forward_s": self.xb.fwd.t_x1_s, "t_x1_transposed_s": self.xb.bwd.t_x1_s,
                       "weight_scale_per_S": self.xb.scale, "array_config": self.xb.cfg.to_dict()},
            "instances": {"pcm": self.xb.P_inst.tolist(), "lsp": self.xb.V_inst.tolist(), "reference": self.ref_inst.tolist(),
                          "bundle_seed": instances.bundle_seed(self.bundle)},
            "quantities": {q.key: q.summary() for q in qs},
            "checks": checks, "effects": effects,
            "passed": bool(not failed and not bad_checks),
            "disagreements": [{"quantity": q.name, "elements": q.beyond()} for q in failed] + [{"check": c["check"]} for c in bad_checks],
            "table": text,
            "notes": [
                "Device instances: every SPICE device is the bench Monte Carlo instance the array model uses (read back "
                "with the bench seed); PCM cycle-to-cycle draws and the integrators are not matched (independent draws; "
                "nominal integrators on both sides).",
                "Noise sources off on both sides (the netlists have none): read noise, integrator noise, 3T1C shot noise.",
                f"Inputs are drawn on the 8-bit PWM grid; forward windows t_x1 = {self.xb.fwd.t_x1_s * 1e9:.3g} ns, "
                f"transposed {self.xb.bwd.t_x1_s * 1e9:.3g} ns (the array model's).",
            ],
        }


__all__ = ["validate", "draw_state"]
