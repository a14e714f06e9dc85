"""The set-up of one validation: the array-model crossbars, the random states and inputs, and the SPICE
twin of the crossbar (the same bench instances), as one frozen :class:`Setup`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pycosim.validation import instances, model_side
from pycosim.validation.netlists import CrossbarInstances
from pycosim.validation.netlists.levels import pcm_pulses

UPDATE_A, UPDATE_B = 2, 4          # slot grid of the coincident update: n_ij = a_i·b_j ≤ 8 = UpdateConfig.max_pulses
EFFECT_CASES = 5                   # inputs of the extra forward reads that measure left-out effects
VC_SPAN_V = 0.15                   # initial V_C ~ U(vc_init ± VC_SPAN_V): the cells' range around their operating point


@dataclass(frozen=True)
class DrawnState:
    """The random states and inputs of a validation (:func:`draw_state`).

    xc: (2, R, C) PCM crystalline fractions ~ U(0, 1) (-); vc: (R, C) 3T1C V_C ~ U(vc_init ± VC_SPAN_V) (V);
    pol: (C,) ±1; zc: (2, R, C, 24) PCM cycle-to-cycle draws ~ N(0, 1); x: (N, R) forward inputs on the 8-bit
    PWM grid in [0, 1] (activations); d: (N, C) transposed inputs on the grid in [−1, 1] with max|d| = 1 (so
    the array model's normalisation by max|δ| is exact); a: (R,) ∈ {0, 1, 2}, b: (C,) ∈ {0 … 4}, sigma: (C,)
    ±1 — the update's counts n_ij = a_i·b_j·σ_j; col: the transferred column.
    """

    xc: np.ndarray
    vc: np.ndarray
    pol: np.ndarray
    zc: np.ndarray
    x: np.ndarray
    d: np.ndarray
    a: np.ndarray
    b: np.ndarray
    sigma: np.ndarray
    col: int


def draw_state(rows: int, cols: int, cases: int, seed: int, vc_init_V: float = 0.8) -> DrawnState:
    """The random states and inputs of a validation (numpy Generator seeded with (seed, 11)); vc_init_V: the
    3T1C operating point, the reset line and reference gate voltage of the bundle (:class:`DrawnState`)."""
    rng = np.random.default_rng([seed, 11])
    d = rng.integers(-255, 256, (cases, cols)) / 255.0
    k = rng.integers(0, cols, cases)
    d[np.arange(cases), k] = rng.choice([-1.0, 1.0], cases)
    xc = rng.uniform(0.0, 1.0, (2, rows, cols))
    vc = rng.uniform(vc_init_V - VC_SPAN_V, vc_init_V + VC_SPAN_V, (rows, cols))
    pol = rng.choice([-1, 1], cols)
    zc = rng.standard_normal((2, rows, cols, 24))
    x = rng.integers(0, 256, (cases, rows)) / 255.0
    a = rng.integers(0, UPDATE_A + 1, rows)
    b = rng.integers(0, UPDATE_B + 1, cols)
    sigma = rng.choice([-1, 1], cols)
    col = int(rng.integers(0, cols))
    return DrawnState(xc=xc, vc=vc, pol=pol, zc=zc, x=x, d=d, a=a, b=b, sigma=sigma, col=col)


@dataclass(frozen=True)
class Setup:
    """Everything the experiments share.

    rows, cols, cases, seed, workers, progress: the run's arguments; bundle: the calibration bundle;
    hold_s: hold time of the leakage experiment (s); r_wire_ohm: line resistance per cell pitch of the IR-drop
    measurement (Ω; 0 = skipped);
    xb: the array model as in training (drift off); xbc: the same with PCM drift (transfer); xbi: ideal
    virtual grounds (the model's own lag); all three hold the same device instances;
    vc_init_V: the 3T1C operating point (V; the bundle's lsp.vc_init_V); state: :class:`DrawnState`;
    pcm_instance (2, R, C), lsp_instance (R, C), ref_instance (C,): the bench instances of every device;
    lsp_draws, pcm_draws: their probed Monte Carlo values by instance; inst: the SPICE twin (:class:`CrossbarInstances`);
    gain_V_per_C: the bundle's integrator gain (V/C); read_kw: the read netlists' settings (keyword arguments
    of :func:`pycosim.validation.netlists.write_read_sequence`: F, v_read_V (V), cint_F (F), a0, gbw_Hz (Hz),
    t_step_s, t_reset_s (s), drive_t0_V, vref_gate_V (V)); v_line_V: the 3T1C reset line (V);
    v_pcm_V: the bias at which the bundle's PCM G is read (V; pcm.read_v_V, else pcm_set_staircase's vread);
    non_ohmic: that bias differs from the crossbar's V_read; t_x1_forward_s, t_x1_transposed_s: the model's read
    windows (s); t_prog_s: the drift law's programming time t_p (s); n_eff: inputs of the effect reads.
    """

    rows: int
    cols: int
    cases: int
    seed: int
    bundle: object
    workers: int
    progress: bool
    hold_s: float
    r_wire_ohm: float
    xb: object
    xbc: object
    xbi: object
    vc_init_V: float
    state: DrawnState
    pcm_instance: np.ndarray
    lsp_instance: np.ndarray
    ref_instance: np.ndarray
    lsp_draws: dict
    pcm_draws: dict
    inst: CrossbarInstances
    gain_V_per_C: float
    read_kw: dict
    v_line_V: float
    v_pcm_V: float
    non_ohmic: bool
    t_x1_forward_s: float
    t_x1_transposed_s: float
    t_prog_s: float
    n_eff: int


def prepare(rows: int, cols: int, cases: int, seed: int, bundle, workers: int, hold_s: float | None,
            r_wire_ohm: float, progress: bool) -> Setup:
    """Build the crossbars, draw the state, probe the bench instances and build their SPICE twin."""
    R, C = rows, cols
    xb = model_side.build(R, C, bundle, seed)
    xbc = model_side.build(R, C, bundle, seed, drift=True)
    xbi = model_side.build(R, C, bundle, seed, lag=False)       # ideal virtual grounds
    model_side.same_instances(xb, xbc)
    model_side.same_instances(xb, xbi)
    vc_init = float(bundle.scalars["lsp"]["vc_init_V"])
    st = draw_state(R, C, cases, seed, vc_init)
    P_inst, V_inst = xb.devices()["pcm_instance"], model_side.lsp_instances(xb)
    ref_inst = instances.reference_instances(xb)
    lsp_d, pcm_d = instances.probe_draws(bundle, np.concatenate([np.ravel(V_inst), ref_inst]), P_inst, workers=workers,
                                         progress="instances" if progress else False)
    inst = instances.crossbar_instances(P_inst, V_inst, ref_inst, lsp_d, pcm_d, xc=st.xc, age_s=np.ones((2, R, C)),
                                        vc=st.vc, pol=st.pol, zc=st.zc)
    integ = bundle.scalars["integrator"]
    gain = float(integ["gain_V_per_C"])
    read_kw = dict(F=float(xb.cfg.F), v_read_V=model_side.read_v_V(xb), cint_F=float(integ.get("cint_F", -1 / gain)),
                   a0=float(integ.get("a0", 1e5)), gbw_Hz=float(integ.get("gbw_Hz", 1e9)), t_step_s=1e-9, t_reset_s=5e-9)
    read_kw["drive_t0_V"] = read_kw["v_read_V"]     # V_C states in the benches' convention (drain at V_read)
    read_kw["vref_gate_V"] = float(xb.devices()["v_ref_gate_V"])   # the reference FET's gate: g_shared = g_k(V_ref)
    # the bias at which the bundle's PCM G is read (pcm_set_staircase's vread): the model's G is that value
    v_pcm = float(bundle.scalars["pcm"].get("read_v_V", pcm_pulses().vread_V))
    t_f, t_b = model_side.read_windows_s(xb)
    return Setup(
        rows=R, cols=C, cases=cases, seed=seed, bundle=bundle, workers=workers, progress=progress,
        hold_s=float(hold_s if hold_s is not None else bundle.scalars["lsp"]["t_hold_transfer_s"]),
        r_wire_ohm=float(r_wire_ohm), xb=xb, xbc=xbc, xbi=xbi, vc_init_V=vc_init, state=st,
        pcm_instance=np.asarray(P_inst), lsp_instance=np.asarray(V_inst), ref_instance=np.asarray(ref_inst),
        lsp_draws=lsp_d, pcm_draws=pcm_d, inst=inst, gain_V_per_C=gain, read_kw=read_kw,
        v_line_V=float(bundle.scalars["lsp"].get("reset_target_V", vc_init)), v_pcm_V=v_pcm,
        non_ohmic=not np.isclose(v_pcm, read_kw["v_read_V"], rtol=0, atol=1e-9),
        t_x1_forward_s=t_f, t_x1_transposed_s=t_b, t_prog_s=model_side.drift_t_prog_s(xbc, bundle),
        n_eff=min(cases, EFFECT_CASES))
