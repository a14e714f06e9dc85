"""Energy of a training run from its hardware counters and the bundle's per-operation energies.

A stand-in until a dedicated energy model exists: every counted event costs the energy the calibration
bundle measured for one such operation in SPICE,

    E = e_set_J · (update SET + reprogram SET + transfer SET pulses)
      + e_reset_J · (update RESETs + transfer RESETs)
      + e_up_J · (3T1C up pulses) + e_down_J · (3T1C down pulses)
      + e_read_J · (forward + backward integrations + transfer verify reads)

(J; scalars pcm.e_set_J, pcm.e_reset_J, lsp.e_up_J, lsp.e_down_J, integrator.e_read_J). The counters of a
run cover the whole run — initial weight programming, training, transfers and the per-epoch test-set
evaluations — so the energy per example is that total divided by the training examples seen. Not
counted: row drivers, the ADCs, digital periphery, 3T1C resets, leakage, static power.
"""

from __future__ import annotations

SET_COUNTERS = ("pcm_update_set_pulses", "pcm_update_reprogram_set_pulses", "transfer_set_pulses")
RESET_COUNTERS = ("pcm_update_resets", "transfer_resets")
READ_COUNTERS = ("integrations_forward", "integrations_backward", "transfer_verify_reads")


def pcm_pulses(counters: list[dict]) -> int:
    """PCM programming pulses (SET and RESET, updates and transfers) of all layers' counter dicts
    (``metrics.json["counters"]``, one :meth:`pycosim.array.counters.Counters.as_dict` per layer)."""
    return int(sum(c.get(k, 0) for c in counters for k in SET_COUNTERS + RESET_COUNTERS))


def run_energy_J(counters: list[dict], scalars: dict) -> dict:
    """Energy (J) of a run by operation: {'pcm_set', 'pcm_reset', 'lsp_up', 'lsp_down', 'reads', 'total'}.

    counters: one dict per layer (``metrics.json["counters"]``); scalars: the bundle's ``scalars``
    (section → name → value). A missing per-operation energy counts as 0 for its term."""
    pcm, lsp, integ = scalars.get("pcm", {}), scalars.get("lsp", {}), scalars.get("integrator", {})

    def total(keys) -> int:
        return sum(int(c.get(k, 0)) for c in counters for k in keys)

    e = {
        "pcm_set": total(SET_COUNTERS) * float(pcm.get("e_set_J", 0.0)),
        "pcm_reset": total(RESET_COUNTERS) * float(pcm.get("e_reset_J", 0.0)),
        "lsp_up": total(("lsp_up_pulses",)) * float(lsp.get("e_up_J", 0.0)),
        "lsp_down": total(("lsp_down_pulses",)) * float(lsp.get("e_down_J", 0.0)),
        "reads": total(READ_COUNTERS) * float(integ.get("e_read_J", 0.0)),
    }
    e["total"] = sum(e.values())
    return e


def energy_per_example_J(metrics: dict, scalars: dict) -> float | None:
    """Energy per training example (J) of a finished run: :func:`run_energy_J` total over
    ``metrics["examples_seen"]``; None for runs without hardware (the float baseline) or examples."""
    counters, n = metrics.get("counters") or [], metrics.get("examples_seen") or 0
    if not counters or not n or not scalars:
        return None
    return run_energy_J(counters, scalars)["total"] / n
