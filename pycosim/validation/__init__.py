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
Layout: :mod:`~pycosim.validation.setup` (crossbars, state, SPICE twin), :mod:`~pycosim.validation.netlists`
(the netlist writers; levels read from circuits/*.cir), :mod:`~pycosim.validation.spice_runs` and
:mod:`~pycosim.validation.spice_side` (jobs and their decoding), :mod:`~pycosim.validation.programmer` (the SPICE side
of the shared transfer engine), :mod:`~pycosim.validation.experiments` (one module per experiment, frozen results),
:mod:`~pycosim.validation.document` and :mod:`~pycosim.validation.report` (output).
See docs/validation.md for the method, the numbers and the findings.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from pycosim.errors import ConfigError
from pycosim.validation import report
from pycosim.validation.document import SCHEMA, SCHEMA_VERSION
from pycosim.validation.setup import DrawnState, draw_state

MAX_SYNAPSES = 4096


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
    from pycosim.validation.run import execute
    from pycosim.validation.setup import prepare

    t_wall = time.perf_counter()
    outcome = execute(prepare(rows, cols, cases, seed, bundle, workers, hold_s, r_wire_ohm, progress))
    doc = outcome.doc
    doc["wall_time_s"] = time.perf_counter() - t_wall
    if out_dir is not None:
        report.write(out_dir, doc, doc["table"], list(outcome.quantities))
    return doc


__all__ = ["validate", "draw_state", "DrawnState", "SCHEMA", "SCHEMA_VERSION", "MAX_SYNAPSES"]
