"""(c) PCM drift to 1 s after programming, then one closed-loop transfer of a column on both sides.

Both sides run the same algorithm, :func:`pycosim.array.transfer.closed_loop`, with the same options (the
model's TransferConfig and PCMConfig.saturation_frac, :func:`pycosim.validation.programmer.loop_options`):
the array model through :meth:`Crossbar.transfer`, the circuit through
:class:`pycosim.validation.programmer.SpiceProgrammer` (bench SET/RESET pulses, one per 1-µs period, the
devices continued between netlists). Target read, 3T1C reset and polarity inversion: the model does them in
``transfer``; on the SPICE side the target is the noise-free read of the circuit's G and cell, and the 3T1C
part after the reset is the cell's g after the SPICE reset (rows at V_read), polarity inverted as configured.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pycosim.validation.compare import Check, Quantity
from pycosim.validation.experiments import US, labels
from pycosim.validation.programmer import LoopResult, SpiceProgrammer, closed_loop, loop_options
from pycosim.validation.setup import Setup
from pycosim.validation.spice_runs import SpiceResults


@dataclass(frozen=True)
class TransferResult:
    """quantities: pcm_drift, transfer_target, transfer_G, transfer_W (if a synapse moved on both sides);
    checks: model and SPICE within the tolerance, the same synapses moved; spice_loop: the engine's
    :class:`LoopResult` on the SPICE side (per moved row); spice_W (R,) network units, spice_G (2, R) S: the
    column after the SPICE transfer; model_W (R,), model_G (2, R): after the model's."""

    quantities: tuple[Quantity, ...]
    checks: tuple[Check, ...]
    spice_loop: LoopResult
    spice_W: np.ndarray
    spice_G: np.ndarray
    model_W: np.ndarray
    model_G: np.ndarray


def run(s: Setup, sp: SpiceResults) -> TransferResult:
    st, R, C, xbc = s.state, s.rows, s.cols, s.xbc
    col = st.col
    t = xbc.cfg.transfer
    xbc.set_devices(P=sp.G_tp_S)
    xbc.advance(1.0)                    # the devices were programmed 1 s ago (PCM drift; the LSP is set after)
    Q = [Quantity("pcm_drift", "PCM G 1 s after programming", sp.G_1s_S, xbc.devices()["G_S"].astype(float),
                  labels((2, R, C), "device", "row", "column"), 0.10, "µS", US,
                  note="SPICE: read at drift-clock age 1 s; model: drift() of G read at t_p")]
    xbc.set_devices(V=st.vc, pol=st.pol)
    c_m = xbc.lsp_contribution()[:, col].astype(float)
    target_m = xbc.weights()[:, col].astype(float)
    moved_m = np.abs(c_m) > t.threshold
    g_max = xbc.devices()["g_max_S"][:, :, col]
    stats = xbc.transfer(cols=[col])
    W_m, G_m = xbc.weights()[:, col].astype(float), xbc.devices()["G_S"][:, :, col]
    # SPICE: the same engine on the circuit's reads
    F, scale, pol = float(xbc.cfg.F), float(xbc.scale), float(st.pol[col])
    g0, gs, g_rst = sp.upd_g0_S[:, col], sp.g_shared_S[col], sp.reset_g_S[:, col]     # reset with the rows at V_read
    G0 = sp.G_1s_S[:, :, col]
    c_s = scale * pol * (g0 - gs)
    moved_s = np.abs(c_s) > t.threshold
    target_s = scale * F * (G0[0] - G0[1]) + c_s
    lsp_after = (-pol if t.invert_polarity else pol) * (g_rst - gs)
    rows = np.flatnonzero(moved_s)
    bar = None
    if s.progress:
        from tqdm import tqdm
        bar = tqdm(total=t.max_pulses + t.max_restarts + 2, desc="transfer (SPICE)", unit="period", leave=False)
    try:
        prog = SpiceProgrammer(s.inst, s.pcm_draws, s.pcm_instance, col, rows, G0=G0, G_prog=sp.G_tp_S[:, :, col],
                               g_max=g_max, lsp_S=lsp_after, scale=scale, F=F, v_read_V=s.v_pcm_V, workers=s.workers,
                               progress=bar)
        loop = closed_loop(prog, target_s[rows], loop_options(xbc.cfg))
    finally:
        if bar is not None:
            bar.close()
    W_s, G_s = prog.weights(), prog.conductances()
    both = moved_m & moved_s
    lab = labels((R,), "row")
    Q.append(Quantity("transfer_target", f"transfer target W (column {col})", target_s, target_m, lab, np.inf,
                      "network units", note="the noise-free read before the transfer: PCM G after 1 s "
                      "(circuit vs the model's drift law) and the 3T1C contribution",
                      why="its parts are checked above (PCM G 1 s after programming, 3T1C g); a target near 0 "
                          "has a large relative error"))
    Q.append(Quantity("transfer_G", f"transfer G (column {col})", G_s, G_m, labels((2, R), "device", "row"), np.inf, "µS", US,
                      note="cycle-to-cycle noise drawn independently on the two sides: informational",
                      why="each side draws its own cycle-to-cycle SET noise"))
    if both.any():
        Q.append(Quantity("transfer_W", f"transfer W (column {col}, moved)", W_s[both], W_m[both],
                          [lbl for lbl, k in zip(lab, both) if k], np.inf, "network units",
                          note="each side converges to its own target within the tolerance",
                          why="each side converges to its own target; checked as 'within ±tolerance of target' "
                              "below"))
    e_m, e_s = np.abs(W_m - target_m)[moved_m], np.abs(W_s - target_s)[moved_s]
    checks = (
        Check(f"transfer (model): moved synapses within ±{t.tolerance:g} of target", int(moved_m.sum()),
              int(np.count_nonzero(e_m <= t.tolerance)), bool(np.all(e_m <= t.tolerance)),
              max_abs_error=float(e_m.max()) if e_m.size else 0.0, set_pulses=stats.set_pulses, resets=stats.resets),
        Check(f"transfer (SPICE): moved synapses within ±{t.tolerance:g} of target", int(moved_s.sum()),
              int(np.count_nonzero(e_s <= t.tolerance)), bool(np.all(e_s <= t.tolerance)),
              max_abs_error=float(e_s.max()) if e_s.size else 0.0, set_pulses=int(loop.pulses.sum()),
              resets=int(2 * loop.resets.sum()), iterations=int(loop.iterations)),
        Check("transfer: same synapses moved in both", R, int(np.count_nonzero(moved_m == moved_s)),
              bool(np.array_equal(moved_m, moved_s))),
    )
    return TransferResult(tuple(Q), checks, loop, W_s, G_s, W_m, np.asarray(G_m, float))
