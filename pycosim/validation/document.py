"""The validate.json document and the report text of one validation (the table, disagreements, effects)."""

from __future__ import annotations

from pycosim.validation import compare, instances
from pycosim.validation.compare import Check, Quantity
from pycosim.validation.experiments.effects import Effects
from pycosim.validation.setup import Setup

SCHEMA = "pycosim.validate"
SCHEMA_VERSION = 1


def effects_text(eff: dict) -> str:
    """One line per measured effect (the numbers of validate.json 'effects')."""
    pct = lambda d, a="median_rel", b="max_rel": f"median {d[a]:.2%}, max {d[b]:.2%}"  # noqa: E731
    lines = ["Effects measured one at a time:"]
    if "integrator_virtual_ground_lag" in eff:
        e = eff["integrator_virtual_ground_lag"]
        lines.append(f"  integrator op-amp real vs ideal (the column read's conveyors hold the lines; hold gain in the "
                     f"array model): SPICE reads change {pct(e)}; "
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
    lines.append(f"  largest read output swing: {eff['integrator_single_ended_swing']['max_abs_V']:.2f} V")
    return "\n".join(lines)


def document(s: Setup, qs: list[Quantity], checks: tuple[Check, ...], effects: Effects) -> dict:
    """The report dict (validate.json without wall_time_s): quantities, checks, effects, 'table', 'passed'."""
    eff = effects.as_dict()
    text = compare.table(qs)
    if checks:
        text += "\n\n" + "\n".join(f"{c.check}: {c.within}/{c.n} {'ok' if c.passed else 'FAILED'}" for c in checks)
    failed = [q for q in qs if not q.passed]
    bad_checks = [c for c in checks if not c.passed]
    if failed or bad_checks:
        text += "\n\nDisagreements beyond tolerance:"
        for q in failed:
            cells = "; ".join(f"{b['element']} (SPICE {b['spice'] * q.scale:.4g}, model {b['model'] * q.scale:.4g} {q.unit})"
                              for b in q.beyond(8))
            text += f"\n  {q.name}: {q.summary()['n_beyond']} of {q.errors.size} elements: {cells}"
        for c in bad_checks:
            text += f"\n  {c.check}: {c.n - c.within} of {c.n}"
    text += "\n\n" + effects_text(eff)
    text += f"\n\nRelative error |model − SPICE| / max(|SPICE|, {compare.FLOOR_FRACTION:g}·rms(SPICE)) per element."
    xb = s.xb
    return {
        "schema": SCHEMA, "schema_version": SCHEMA_VERSION,
        "config": {"rows": s.rows, "cols": s.cols, "cases": s.cases, "seed": s.seed, "workers": s.workers,
                   "calibration": str(getattr(s.bundle, "path", "") or ""), "hold_s": s.hold_s,
                   "r_wire_ohm": s.r_wire_ohm, "transfer_column": s.state.col, "read": s.read_kw,
                   "t_x1_forward_s": s.t_x1_forward_s, "t_x1_transposed_s": s.t_x1_transposed_s,
                   "weight_scale_per_S": xb.scale, "array_config": xb.cfg.to_dict()},
        "instances": {"pcm": s.pcm_instance.tolist(), "lsp": s.lsp_instance.tolist(), "reference": s.ref_instance.tolist(),
                      "bundle_seed": instances.bundle_seed(s.bundle)},
        "quantities": {q.key: q.summary() for q in qs},
        "checks": [c.as_dict() for c in checks], "effects": eff,
        "passed": bool(not failed and not bad_checks),
        "agreement": compare.agreement(qs),
        "verdict": compare.verdict_line(qs, len(bad_checks)),
        "disagreements": [{"quantity": q.name, "elements": q.beyond()} for q in failed] + [{"check": c.check} for c in bad_checks],
        "table": text,
        "notes": [
            "Device instances: every SPICE device is the bench Monte Carlo instance the array model uses (read back "
            "with the bench seed); PCM cycle-to-cycle draws and the integrators are not matched (independent draws; "
            "nominal integrators on both sides).",
            "Noise sources off on both sides (the netlists have none): read noise, integrator noise, 3T1C shot noise.",
            f"Inputs are drawn on the 8-bit PWM grid; forward windows t_x1 = {s.t_x1_forward_s * 1e9:.3g} ns, "
            f"transposed {s.t_x1_transposed_s * 1e9:.3g} ns (the array model's).",
        ],
    }
