"""``pycosim report RUNDIR [RUNDIR …]``: energy, efficiency and PCM lifetime of training runs, side by side.

For each run directory: the energy per training example by phase and per inference with the bundle's
per-operation energies (:mod:`pycosim.evaluate.energy`), operations per second per watt under the stated
timing assumptions, the PCM endurance projection (:mod:`pycosim.evaluate.lifetime`), and — if
``evaluate.json`` exists — the accuracies over time. Writes ``RUNDIR/report.json`` and
``RUNDIR/plots/energy_breakdown.png`` (atomic; nothing else in the run directory is touched), and with
``out_dir`` a comparison ``report.json`` + ``energy_comparison.png`` there. Every energy term is priced
(bundle scalars and the named assumptions of :mod:`pycosim.assumptions`); a bundle scalar that is missing
(an old bundle) is listed loudly and never priced.
"""

from __future__ import annotations

import json
from pathlib import Path

from pycosim.errors import ConfigError
from pycosim.evaluate import energy as _energy
from pycosim.evaluate import gpu as _gpu
from pycosim.evaluate import lifetime as _lifetime
from pycosim.evaluate import rundir


def run_report(run_dir, *, endurance_cycles: float = 1e8, duty_cycle: float = 1.0, fraction: float = 1e-3,
               calibration_dir=None) -> dict:
    """The report dict of one run directory (needs metrics.json, config.toml and checkpoint.npz)."""
    _lifetime.check_args(endurance_cycles, duty_cycle, fraction)
    p = rundir.run_path(run_dir, "report")
    metrics = rundir.load_metrics(p, "report")
    cfg = rundir.load_config(p, "report")
    state = rundir.load_state(p, "report")
    synapse = cfg.synapse.kind
    rep = {"run_dir": str(p), "label": f"{p.name} ({cfg.preset})", "preset": cfg.preset, "synapse": synapse,
           "layers": metrics["layers"], "examples_seen": int(metrics["examples_seen"]),
           "test_accuracy": metrics.get("test_accuracy"), "transfers": (metrics.get("transfers") or {}).get("count"),
           "energy": None, "lifetime": None, "bundle": None}
    if cfg.synapse.scheme.analog:
        bundle, note = rundir.load_bundle(metrics, calibration_dir)
        from pycosim import timing

        hw = metrics.get("hardware_timing") or timing.hardware(state.net, n_pulse_max=cfg.update.max_pulses,
                                                                interval=cfg.transfer.interval)
        rep["bundle"] = note
        rep["energy"] = _energy.energy(metrics, bundle.scalars, _energy.init_counts(state.net), hw=hw,
                                       adc_bits=cfg.periphery.adc_bits)
        rep["energy"]["hardware_timing"] = hw
        tr = metrics.get("transfers") or {}
        rep["energy"]["transfers"] = {k: tr.get(k) for k in ("count", "duration_s", "total_duration_s",
                                                             "max_duration_s", "interval_s", "overruns")}
        rep["energy"]["read_conduction_bound_J"] = _energy.read_conduction_bound_J(state.net, bundle)
        rep["energy"]["gpu_reference"] = _gpu.reference(metrics["layers"])
        t_ex = float(rep["energy"]["time_s"]["training_example"])   # transfers' own time included
        rep["lifetime"] = _lifetime.lifetime(state.net, state.examples, t_ex, endurance_cycles=endurance_cycles,
                                             duty_cycle=duty_cycle, fraction=fraction)
        info = cfg.synapse.scheme
        k = cfg.pcm.redundant_pairs if len(state.net.layers[0].device_roles()) > len(info.device_roles) else 1
        rep["energy"]["redundancy"] = _energy.redundancy_cost(metrics, rep["energy"], pairs=k, mode=cfg.pcm.redundancy,
                                                              n_pcm_plain=len(info.device_roles))
    ev = p / rundir.EVALUATE_JSON
    if ev.is_file():
        try:
            e = json.loads(ev.read_text())
            rep["evaluate"] = [{k: x[k] for k in ("noise_model", "compensation", "lsp_mode", "time_labels",
                                                  "accuracy_mean", "accuracy_std")} for x in e["entries"]]
        except (OSError, ValueError, KeyError, TypeError):
            rep["evaluate"] = None
    return rep


def report(run_dirs, *, endurance_cycles: float = 1e8, duty_cycle: float = 1.0, fraction: float = 1e-3,
           calibration_dir=None, out_dir=None, write: bool = True) -> list[dict]:
    """:func:`run_report` of every run directory; with *write*, each run's report.json and
    plots/energy_breakdown.png, and with *out_dir* the comparison files there. Returns the reports."""
    if not run_dirs:
        raise ConfigError("report: give at least one RUNDIR")
    if write:   # before any work: every directory written to can be written
        for d in run_dirs:
            rundir.check_writable(rundir.run_path(d, "report"), "report")
        if out_dir is not None:
            from pycosim.files import check_out_dir

            check_out_dir(out_dir, "--out", allow_existing=True)
    reps = [run_report(d, endurance_cycles=endurance_cycles, duty_cycle=duty_cycle, fraction=fraction,
                       calibration_dir=calibration_dir) for d in run_dirs]
    if write:
        from pycosim.evaluate.plots import plot_energy
        from pycosim.files import atomic_write_bytes, check_out_dir

        for r in reps:
            p = Path(r["run_dir"])
            atomic_write_bytes(p / rundir.REPORT_JSON, (json.dumps(r, indent=1) + "\n").encode())
            if r["energy"]:
                plot_energy([r], p / "plots" / "energy_breakdown.png")
        if out_dir is not None:
            o = check_out_dir(out_dir, "--out", allow_existing=True, create=True)
            atomic_write_bytes(o / rundir.REPORT_JSON, (json.dumps(reps, indent=1) + "\n").encode())
            plot_energy(reps, o / "energy_comparison.png")
    return reps


# ------------------------------------------------------------------ text
def si(x, unit: str) -> str:
    """x with an SI prefix, 3 significant digits ("1.23 nJ"); "—" for None."""
    if x is None:
        return "—"
    if x == 0:
        return f"0 {unit}"
    if x == float("inf"):
        return "∞"
    for f, p in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"), (1, ""), (1e-3, "m"), (1e-6, "µ"), (1e-9, "n"),
                 (1e-12, "p"), (1e-15, "f"), (1e-18, "a")):
        if abs(x) >= f:
            return f"{x / f:.3g} {p}{unit}"
    return f"{x:.3g} {unit}"


def duration(s) -> str:
    """Seconds as the largest fitting unit (s, min, h, d, y)."""
    if s is None:
        return "—"
    for f, u in ((365.25 * 86400, "y"), (86400, "d"), (3600, "h"), (60, "min")):
        if s >= f:
            return f"{s / f:.3g} {u}"
    return si(s, "s")


def format_report(reps: list[dict]) -> str:
    """The side-by-side text table of :func:`report` (one column per run), then the lists of energies
    included, missing from the bundle (loudly) and not modelled."""
    rows: list[tuple[str, list[str]]] = []

    def row(name, fn):
        rows.append((name, [fn(r) for r in reps]))

    en = lambda r: r["energy"] or {}  # noqa: E731
    row("synapse", lambda r: r["synapse"])
    row("layers", lambda r: "-".join(map(str, r["layers"])))
    row("examples trained / transfers", lambda r: f"{r['examples_seen']:,} / {r['transfers'] or 0}")
    row("test accuracy (end of training)", lambda r: "—" if r["test_accuracy"] is None else f"{100 * r['test_accuracy']:.2f} %")
    rows.append(("energy per training example", []))
    for p in _energy.PHASES:
        row(f"  {p}", lambda r, p=p: si(en(r).get("per_example_J", {}).get(p), "J"))
    row("  total", lambda r: si(en(r).get("per_example_J", {}).get("total"), "J"))
    row("  column read: basis / mirrors' line-charge share of the total",
        lambda r: "—" if not en(r).get("integration") else
        f"{en(r)['integration']['basis']} / {100 * en(r)['integration']['line_charge_share_of_total']:.1f} %")
    row("  column read at full input, upper bound (not in totals)",
        lambda r: si(((en(r).get("integration") or {}).get("per_example_J") or {}).get("full_input_bound"), "J"))
    row("initial programming (one-time)", lambda r: si(en(r).get("phase_J", {}).get("initial programming"), "J"))
    row("energy per inference", lambda r: si(en(r).get("per_inference_J"), "J"))
    row("  array conduction bound (not in totals)", lambda r: si(en(r).get("read_conduction_bound_J"), "J"))
    row("time per training example / inference", lambda r: " / ".join(si(en(r).get("time_s", {}).get(k), "s")
                                                                     for k in ("training_example", "inference")) if r["energy"] else "—")
    rows.append(("energy per training example by term", []))
    for op in _energy.ALL_OPERATIONS:
        row(f"  {op}", lambda r, op=op: si(en(r).get("per_example_op_J", {}).get(op), "J"))
    row("transfer duration: mean / max / interval", lambda r: "—" if not r["energy"] else " / ".join(
        si(v, "s") for v in (_mean(en(r)["transfers"].get("duration_s")), en(r)["transfers"].get("max_duration_s"),
                             en(r)["transfers"].get("interval_s"))))
    row("transfers longer than their interval", lambda r: "—" if not r["energy"] else
        f"{en(r)['transfers'].get('overruns') or 0} of {en(r)['transfers'].get('count') or 0}")
    row("GOP/s/W training, full", lambda r: _g(en(r).get("gops_per_W", {}).get("training")))
    row("GOP/s/W training, analog core (Ambrogio 2018: 28,065)",
        lambda r: _g(en(r).get("gops_per_W", {}).get("training_core")))
    row("GOP/s/W inference, full / analog core", lambda r: " / ".join(
        _g(en(r).get("gops_per_W", {}).get(k)) for k in ("inference", "inference_core")) if r["energy"] else "—")
    row("power training / inference", lambda r: " / ".join(si(en(r).get("power_W", {}).get(k), "W")
                                                          for k in ("training", "inference")) if r["energy"] else "—")
    row("GPU reference, batch 1 (V100 datasheet; peak bound / launch bound), GOP/s/W training",
        lambda r: " / ".join(f'{en(r)["gpu_reference"][k]["training_example"]["gops_per_W"]:.3g}' for k in ("peak", "batch1"))
        if en(r).get("gpu_reference") else "—")
    row("  accelerator ÷ GPU: time per training example (peak / launch)", lambda r: _gpu_ratio(r, "time_s"))
    row("  accelerator ÷ GPU: energy per training example (peak / launch)", lambda r: _gpu_ratio(r, "energy_J"))
    lt0 = next((r["lifetime"] for r in reps if r["lifetime"]), None)
    if lt0:
        rows.append((f"PCM lifetime: first {100 * lt0['fraction']:.3g} % of devices past {lt0['endurance_cycles']:.3g} "
                     f"RESETs, duty cycle {100 * lt0['duty_cycle']:.3g} %", []))
        row("  RESETs max / total per device", lambda r: "—" if not r["lifetime"] else
            f"{r['lifetime']['all']['resets_max']:,} / {r['lifetime']['all']['resets_total']:,}")
        row("  RESETs of the device at that fraction", lambda r: "—" if not r["lifetime"] else
            f"{r['lifetime']['all']['resets_at_k']:,} in {r['lifetime']['examples']:,} examples")
        row("  training examples until then", lambda r: _life(r, "examples_to_failure", lambda v: f"{v:.3g}"))
        row("  time until then", lambda r: _life(r, "seconds_to_failure", duration))
        roles = sorted({k for r in reps if r["lifetime"] for k in r["lifetime"]["by_role"]})
        for role in roles:
            row(f"    {role} only", lambda r, role=role: _life(r, "seconds_to_failure", duration, role))
        st0 = next((r["lifetime"]["stress"]["all"] for r in reps if r["lifetime"] and r["lifetime"].get("stress")), None)
        if st0:
            rows.append((f"PCM lifetime with SET stress (stress = RESETs + w·SET pulses) and the endurance spread "
                         f"(σ_ln = {st0['sigma_ln']:.3g}): first {100 * lt0['fraction']:.3g} % worn, "
                         f"median [16th–84th percentile]", []))
            row("  SET-stress weight w / stress max per device",
                lambda r: "—" if not _stress(r) else f"{_stress(r)['set_weight']:.3g} / {_stress(r)['stress_max']:,.1f}")
            row("  time until then", lambda r: _stress_time(r))
            sroles = sorted({k for r in reps if _stress(r) for k in r["lifetime"]["stress"]["by_role"]})
            for role in sroles:
                row(f"    {role} only", lambda r, role=role: _stress_time(r, role))
        if any((r["lifetime"] or {}).get("worn", {}).get("worn") for r in reps):
            row("PCM devices worn out during the run", lambda r: _worn(r))
    red = [r for r in reps if (r["energy"] or {}).get("redundancy") and r["energy"]["redundancy"]["pairs"] > 1]
    if red:
        rd = lambda r: (r["energy"] or {}).get("redundancy") or {}  # noqa: E731
        rows.append(("redundant pairs: periphery cost (not in the totals above)", []))
        row("  pairs k / use", lambda r: f"{rd(r).get('pairs', 1)} / {rd(r).get('mode', '—')}" if rd(r) else "—")
        row("  cells per synapse (PCM + select), × plain", lambda r: "—" if not rd(r) else
            f"{rd(r)['cells_per_synapse']:.3g}, × {rd(r)['area_ratio']:.3g}")
        row("  pointer bits per synapse / switch-overs", lambda r: "—" if not rd(r) else
            f"{rd(r)['pointer_bits_per_synapse']} / {rd(r)['switches']:,}")
        row("  energy per example: switches / longer lines", lambda r: "—" if not rd(r) else
            f"{si(rd(r)['per_example_J']['switches'], 'J')} / {si(rd(r)['per_example_J']['line_length'], 'J')}")
        row("  total per example with them", lambda r: si(rd(r).get("total_with_redundancy_J"), "J"))
    w0 = max(len(n) for n, v in rows if v) + 2
    ws = [max([len(r["label"])] + [len(v[i]) for _, v in rows if v]) + 2 for i, r in enumerate(reps)]
    lines = [" " * w0 + "".join(r["label"].ljust(w) for r, w in zip(reps, ws))]
    for name, vals in rows:
        lines.append(name.ljust(w0) + "".join(v.ljust(w) for v, w in zip(vals, ws)))
    evs = [(r, e) for r in reps for e in (r.get("evaluate") or [])]
    if evs:
        lines += ["", "Test accuracy after training (evaluate.json; mean ± std over the repeats, %):"]
        for r, e in evs:
            name = f"{e['noise_model']}/{e['compensation']}" + (f"/{e['lsp_mode']}" if e.get("lsp_mode") else "")
            lines.append(f"  {r['label']}  {name}: " + ", ".join(
                f"{lab} {100 * m:.1f}±{100 * s:.1f}" for lab, m, s in zip(e["time_labels"], e["accuracy_mean"],
                                                                       e["accuracy_std"])))
    lines += [""] + _energy_notes(reps)
    return "\n".join(l.rstrip() for l in lines)


def _mean(v):
    return sum(v) / len(v) if v else None


def _g(v) -> str:
    return "—" if v is None else f"{v:,.0f}"


def _life(r, key, fmt, role=None) -> str:
    lt = r.get("lifetime")
    if not lt:
        return "—"
    if role and role not in lt["by_role"]:
        return "—"
    d = lt["by_role"][role] if role else lt["all"]
    v = d.get(key)
    if v is None:
        return "—"
    return ("> " if d["bound"] == "lower" else "") + fmt(v)


def _stress(r, role=None):
    lt = r.get("lifetime") or {}
    st = lt.get("stress")
    if not st:
        return None
    return st["by_role"].get(role) if role else st["all"]


def _stress_time(r, role=None) -> str:
    """t* [p16–p84] of :func:`pycosim.evaluate.lifetime.stress_projection` ('> t' for a lower bound)."""
    d = _stress(r, role)
    if not d or d.get("seconds_to_failure") is None:
        return "—"
    if d["bound"] == "lower":
        return "> " + duration(d["seconds_to_failure"])
    return f"{duration(d['seconds_to_failure'])} [{duration(d['seconds_p16'])}–{duration(d['seconds_p84'])}]"


def _worn(r) -> str:
    w = (r.get("lifetime") or {}).get("worn")
    if not w:
        return "—"
    roles = ", ".join(f"{k} {v:,}" for k, v in w["by_role"].items() if v)
    return f"{w['worn']:,} of {w['devices']:,} ({100 * w['worn'] / max(w['devices'], 1):.3g} %; {roles})"


def _gpu_ratio(r, key: str) -> str:
    """Accelerator ÷ GPU of the training example's time or energy, against both GPU lines."""
    e = r["energy"] or {}
    g = e.get("gpu_reference")
    if not g:
        return "—"
    acc = e["time_s"]["training_example"] if key == "time_s" else e["per_example_J"]["total"]
    return " / ".join(f"{acc / g[k]['training_example'][key]:.3g}" for k in ("peak", "batch1"))


def _energy_notes(reps) -> list[str]:
    """Included / MISSING / not-modelled energy lists and the stated assumptions."""
    out = []
    ens = [r["energy"] for r in reps if r["energy"]]
    if not ens:
        return ["(no hardware energies: 'ideal' synapses)"]
    e0 = ens[0]
    out.append("Included (counted operations × bundle energy per operation):")
    for op, (sec, key, meaning) in _energy.OPERATIONS.items():
        if e0["per_op_J"][op] is not None:
            out.append(f"  {sec}.{key:<16} {si(e0['per_op_J'][op], 'J'):>10}  {meaning}")
    out.append("Included (counted operations × energy from the assumptions of pycosim.assumptions; layer 1):")
    for op, meaning in _energy.ASSUMED_OPERATIONS.items():
        out.append(f"  {op:<24} {si(e0['per_op_J'][op], 'J'):>10}  {meaning}")
    miss = {}
    for e in ens:
        for m in e["missing"]:
            miss.setdefault(m["scalar"], [m["meaning"], 0])[1] += m["count"]
    if miss:
        out.append("!! MISSING from the calibration bundle — counted but NOT in any total above:")
        for scalar, (meaning, n) in miss.items():
            out.append(f"!!   {scalar:<24} {n:>14,} operations   ({meaning})")
    out.append("Not modelled (no counter and no bundle energy; NOT in the totals):")
    out += [f"  - {s}" for s in _energy.NOT_MODELLED]
    out.append("'analog core' = the bundle's operations only (integrator charge, PCM and 3T1C programming): the "
               "scope of the earlier headline; 'full' = every term. Operations: " + e0["operation_convention"] + ".")
    out.append("Timing (pycosim.timing, batch 1, no pipelining): t_read = t_rst + t_int + t_adc + t_digital per "
               "layer read, t_int the layer's derived window; update = max_pulses × the 3T1C pulse slot; "
               "transfers: training pauses, their own duration (rows serial, columns parallel) spread over the "
               "examples in the time per example.")
    out.append("GPU reference (pycosim.evaluate.gpu; no GPU measured): the same network and operation count at batch "
               "1 on an NVIDIA V100 from its datasheet — 'peak': every operation at 15.7 TFLOP/s FP32 and 300 W (the "
               "GPU's best case); 'launch': 6L − 1 dependent kernels of ≥ 5 µs each per training example at 300 W. "
               "A real batch-1 GPU lies between the two; ratios < 1 mean the accelerator is faster / uses less.")
    out.append("Lifetime: one RESET = one endurance cycle; the run's per-device RESET rate extrapolated linearly "
               "(relative uncertainty ≈ 1/√(RESETs of the device at that fraction); initial programming included); "
               "'>' = no RESET in the run at that quantile (lower bound). With SET stress: each device's stress "
               "rate (RESETs + w·SET pulses per example) against cycles to failure drawn from the endurance "
               "distribution (median = --endurance, σ_ln and w of the run's pcm.endurance_* settings; assumptions "
               "PCM_ENDURANCE_*), [16th–84th percentile] over Poisson resamplings of the counts and fresh draws; "
               "roles include the waiting pairs of redundant schemes.")
    return out
