"""Peripheral current-integrator characterisation: bench runs → transfer table and scalars.

Bench ``integrator_transfer``: a constant current into the virtual-ground input after the reset
opens, so the input charge Q(t) = ∫ I_in dt grows linearly through the linear range into the
rail. Run with positive and negative current (both rails), over Monte Carlo instances (op-amp
offset and C_int spread).

Extracted: V_out = offset + gain·Q on the linear range (gain ≈ −1/C_int, Ambrogio et al.,
Nature 2018, Methods: column currents integrated on a capacitor), the charge where the
deviation from that line exceeds 1 % of the rail-to-rail swing (end of the linear range), the
rails, and the energy per read.

Energy per read: the op-amp is behavioural (no supply current in the netlist), so the energy is
estimated from the physics of any integrator with a supply V_DD: swinging the output by ΔV on
C_int draws charge C_int·ΔV from the supply, E_read = C_int·ΔV_fs·V_DD with ΔV_fs the
full-scale (linear-range) swing. This is stated in the bundle as ``e_read_model``.

Column read (``integrator_diff``): the mirrors' supply energy ``e_read_mirrors_J`` of a full-input read (every
row driven for the whole PWM window: an upper bound for a real input) is split by two more nominal runs, at zero
input and with half the rows driven (:func:`mirror_energy_split`), into ``e_read_idle_J`` (independent of the
input) and ``e_read_mirror_J_per_C`` (J per coulomb of plus-line charge), so the array's counted line charge
prices a read (:mod:`pycosim.evaluate.energy`).

Bench ``integrator_noise`` (noise sources on, ``noise=1`` of ``netlists/integrator.lib``): the reset
closes and opens ``ncyc`` times in one transient; after each opening a small constant column
current (conductance ``gcol`` biased at ``vread``) is integrated for ``t_int``. Over
N_NOISE_INSTANCES seeds × ``ncyc`` reads, per read (deviations from the instance's mean, so the
per-instance offset is not counted as noise):

* ``ktc_noise_V``: σ of the capacitor voltage V(in) − V(out) 1 ns after the reset opens, i.e. the
  kT/C charge the reset switch's thermal noise leaves on C_int (expected √(kT/C_int));
* ``noise_in_rms_V``: σ of the op-amp's input-referred noise averaged over the integration window,
  ē_n = (1/t_int)∫(V(in) − mean) dt (expected e_n/√(2·t_int), e_n white). A column of total
  conductance G turns it into an output error G·t_int/C_int·ē_n;
* ``noise_opamp_out_V``: σ of V(in) at the read instant: the op-amp noise that reaches the output
  directly through the closed loop (bandwidth ≈ GBW);
* ``noise_out_rms_V``: σ of V_out at the read instant, everything included:
  σ_out² ≈ ktc² + opamp_out² + (G·t_int/C_int)²·noise_in².

``offset_source`` says where the 1 mV σ of the op-amp offset comes from (OFFSET_SOURCE).
"""

from __future__ import annotations

import numpy as np

from pycosim.spice.netlist import spice_number

BENCHES = ("integrator_transfer", "integrator_noise", "integrator_diff")
N_INSTANCES = 8
#: Integration capacitor of the column read (F), DERIVED for the window (netlists/integrator.lib, C_INT):
#: C_int = (Q_fs + Q_cm + Q_off)/ΔV_lin, Q_fs = G_fs·V_read·T_w = 1.01 mS·0.1 V·256 ns = 25.86 pC, the 3σ
#: common-mode and conveyor-offset errors of the bench line 3.73 + 0.65 pC, ΔV_lin = 0.611 V → 49.5 pF → 50 pF.
CINT_F = 50e-12
#: Errors the range must hold besides the net signal (the C_INT rule): this many σ of the mirror common-mode
#: error and of the conveyor offsets at the bench's line.
HEADROOM_SIGMAS = 3.0
#: Transfer-bench current (A): 1 µA per pF, so the 1 µs ramp (50 pC) runs through the 30.5 pC linear range.
CURRENT_A = 1e-6 * CINT_F / 1e-12
#: Net full-scale pair conductance of the array's default forward read (S): y_fs·F·ΔG/w_max = 16·3·21.0 µS
#: (pycosim.array.config.PeripheryConfig.forward_full_scale, F, weight_max; ΔG = g_max − g_reset of the
#: shipped PCM population); the bench default gnet of circuits/integrator_diff.cir.
G_FS_S = 1.01e-3
N_DIFF_INSTANCES = 32          # mismatch instances of the column read (σ of 32 draws: ±13 % statistical)
N_DIFF_NOISE = 24              # noise runs of the column read (nominal, one read each)
DIFF_KEEP = ("out",)
#: Driven rows of the intermediate-input energy run (``energy_part``): half the bench's 785-row line, so its line
#: charge is about half the full-input one (the linearity check of the mirror energy, :func:`extract_diff`).
ENERGY_PART_ROWS = 392
DIFF_WAVES = ("v.xcr.vipo#branch", "v.xcr.vino#branch", "vvdd#branch", "linp", "vref")
SETTLE_TOL = 1e-3              # window: the net charge is within 0.1 % of its final value
N_NOISE_INSTANCES = 4          # seeds of the noise bench (× ncyc = 25 reads each = 100 reads)
K_BOLTZMANN = 1.380649e-23     # J/K
KTC_DELAY_S = 1e-9             # V_C sampled this long after the reset opens
# σ(V_os) = 1 mV: Pelgrom estimate of the op-amp input stage, see netlists/integrator.lib (MISMATCH)
OFFSET_SOURCE = ("Pelgrom estimate (Pelgrom et al., IEEE JSSC 24, 1433 (1989)) with the A_VT of "
                 "netlists/cmos.lib (3.5 mV*um NMOS, 3.0 mV*um PMOS, per device) for an OTA input "
                 "stage: NMOS pair W/L = 28u/1u, PMOS mirror 14u/2u, gm_load/gm_in = 0.5 -> 1.02 mV; "
                 "offset_std_V is the spread of the fitted offsets of N_INSTANCES = 8 instances")


def jobs(mc: int, seed: int) -> dict[str, list[dict]]:
    """Runs: N_INSTANCES seeds × (positive, negative) input current at C_int = CINT_F; N_NOISE_INSTANCES
    integrator-noise runs; the column-read runs of :func:`diff_jobs`."""
    return {"integrator_transfer": [{"seed": seed + k, "params": {"iamp": sgn * CURRENT_A, "cint": CINT_F},
                                     "keep": ("out", "vq#branch")}
                                    for sgn in (1.0, -1.0) for k in range(N_INSTANCES)],
            "integrator_noise": [{"seed": seed + k, "keep": ("out", "in")} for k in range(N_NOISE_INSTANCES)],
            "integrator_diff": diff_jobs(seed)}


def diff_jobs(seed: int) -> list[dict]:
    """Runs of ``circuits/integrator_diff.cir`` (the column read, subckt ``colread``), tagged by ``case``:

    * ``half``, ``cm``, ``idle``: N_DIFF_INSTANCES mismatch instances (seeds seed + k, mc = 1), each at
      half the net full scale (gnet = G_FS_S/2), at zero net signal (gnet = 0, equal lines: the output is
      the mirror mismatch and the offsets) and undriven (vread = 0: the offsets only);
    * ``full``: one nominal run (mc = 0) at the net full scale, waveforms kept (window, energy, hold);
    * ``noise``: N_DIFF_NOISE nominal runs with the noise sources on (the spread of dv is the read noise);
    * ``energy_idle``, ``energy_part``: the supply energy of a nominal read (mc = 0, net full scale) at zero input
      (vread = 0: no row driven) and with ENERGY_PART_ROWS of the line's rows driven (the others at zero input):
      with ``full`` they split the mirror energy into an idle part and a part per coulomb of line charge
      (:func:`extract_diff`).
    The case of a result is read back from its parameters (:func:`diff_case`)."""
    out = []
    for k in range(N_DIFF_INSTANCES):
        for case, p in (("half", {"gnet": G_FS_S / 2}), ("cm", {"gnet": 0.0}), ("idle", {"gnet": G_FS_S / 2, "vread": 0.0})):
            out.append({"seed": seed + k, "params": {"mc": 1, **p}, "keep": DIFF_KEEP})
    out.append({"seed": seed, "params": {"mc": 0, "gnet": G_FS_S}, "keep": DIFF_KEEP + DIFF_WAVES})
    out += [{"seed": seed + 1000 + k, "params": {"mc": 0, "noise": 1, "gnet": G_FS_S / 2}, "keep": DIFF_KEEP}
            for k in range(N_DIFF_NOISE)]
    out.append({"seed": seed, "params": {"mc": 0, "gnet": G_FS_S, "vread": 0.0}, "keep": DIFF_KEEP})
    out.append({"seed": seed, "params": {"mc": 0, "gnet": G_FS_S, "rows": ENERGY_PART_ROWS}, "keep": DIFF_KEEP})
    return out


def _param(all_params: dict, name: str) -> float:
    value = spice_number(all_params[name])
    if value is None:
        raise ValueError(f"integrator bench: parameter {name}={all_params[name]!r} is not a number")
    return value


def noise_reads(res) -> dict[str, np.ndarray]:
    """The ``ncyc`` reads of one ``integrator_noise`` transient (each array has shape (ncyc,)).

    Returns ``vc0_V`` (V(in) − V(out) 1 ns after the reset opens), ``ebar_V`` (mean of V(in) over
    the window), ``vin_read_V`` (V(in) at the read instant) and ``vout_read_V`` (V(out) at the read
    instant); the read of cycle k is at t_open_k + t_int, t_open_k = t_rst + 0.05 ns + k·tper.
    """
    p = res.meta["all_params"]
    t_int, t_rst, ncyc = _param(p, "t_int"), _param(p, "t_rst"), int(round(_param(p, "ncyc")))
    tper = spice_number(p["tper"]) or (t_rst + t_int + 1.2e-9)
    t = np.real(res.axis)
    v_in, v_out = np.real(res.v("in")), np.real(res.v("out"))
    t_open = t_rst + 0.05e-9 + tper * np.arange(ncyc)

    def at(v, times):
        return v[np.clip(np.searchsorted(t, times - 1e-15), 0, len(t) - 1)]

    vc0 = at(v_in, t_open + KTC_DELAY_S) - at(v_out, t_open + KTC_DELAY_S)
    ebar = np.empty(ncyc)
    for k, a in enumerate(t_open):
        m = (t >= a) & (t <= a + t_int)
        ebar[k] = np.trapezoid(v_in[m], t[m]) / (t[m][-1] - t[m][0])
    return {"vc0_V": vc0, "ebar_V": ebar, "vin_read_V": at(v_in, t_open + t_int),
            "vout_read_V": at(v_out, t_open + t_int)}


def pooled_std(groups: list[np.ndarray]) -> float:
    """σ of the deviations from each group's own mean (pooled, ddof = 1 per group)."""
    ss = sum(float(np.sum((g - g.mean()) ** 2)) for g in groups)
    return float(np.sqrt(ss / sum(len(g) - 1 for g in groups)))


def extract_noise(res: list, tk: float = 300.15) -> dict:
    """Noise scalars (see the module docstring) from the ``integrator_noise`` runs; *tk* (K) is the noise
    temperature of the library (``tk`` of netlists/integrator.lib, 300.15 K unless overridden)."""
    reads = [noise_reads(r) for r in res]
    p = res[0].meta["all_params"]
    cint, t_int, gcol = _param(p, "cint"), _param(p, "t_int"), _param(p, "gcol")
    return {
        "ktc_noise_V": pooled_std([r["vc0_V"] for r in reads]),
        "noise_in_rms_V": pooled_std([r["ebar_V"] for r in reads]),
        "noise_opamp_out_V": pooled_std([r["vin_read_V"] for r in reads]),
        "noise_out_rms_V": pooled_std([r["vout_read_V"] for r in reads]),
        "t_int_s": t_int,
        "noise_cint_F": cint,
        "noise_gcol_S": gcol,
        "noise_reads": int(sum(len(r["vc0_V"]) for r in reads)),
        "noise_en_V_per_rtHz": _param(p, "en"),
        "ktc_analytic_V": float(np.sqrt(K_BOLTZMANN * tk / cint)),
        "noise_in_analytic_white_V": float(_param(p, "en") / np.sqrt(2 * t_int)),
    }


def diff_case(res) -> str:
    """Case of an ``integrator_diff`` result (see :func:`diff_jobs`) from its parameters."""
    p = res.meta["params"]
    if float(p.get("noise", 0)) > 0:
        return "noise"
    if float(p.get("mc", 1)) == 0:
        if float(p.get("vread", 1)) == 0:
            return "energy_idle"
        return "energy_part" if "rows" in p else "full"
    if float(p.get("vread", 1)) == 0:
        return "idle"
    return "cm" if float(p.get("gnet", 1)) == 0 else "half"


def pelgrom_mirror_sigma(avt_Vm: float, wl_m2: float, vov_V: float, abeta_m: float) -> float:
    """σ of the current gain of one mirror (two devices of area W·L at overdrive V_ov; Pelgrom et al., IEEE JSSC
    24, 1433 (1989)): σ_ε² = 2·((2/V_ov)²·A_VT² + A_β²)/(W·L), gm/I_D = 2/V_ov in strong inversion."""
    return float(np.sqrt(2.0 * ((2.0 / vov_V) ** 2 * avt_Vm ** 2 + abeta_m ** 2) / wl_m2))


#: Mirror sizing of subckt colread (netlists/integrator.lib defaults): NMOS and PMOS W·L (m²), V_ov (V),
#: A_VT (V·m) and A_β (m) of netlists/cmos.lib.
MIRROR = {"wln": 1000e-12, "wlp": 2000e-12, "vov": 0.2, "avtn": 3.5e-9, "avtp": 3.0e-9, "abeta": 1e-8}
#: σ of each conveyor's residual offset after auto-zero (V), vosc_sig of netlists/integrator.lib (ASSUMED there).
VOS_LINE_SIGMA_V = 30e-6
EPS_MINUS_SIGMA = pelgrom_mirror_sigma(MIRROR["avtn"], MIRROR["wln"], MIRROR["vov"], MIRROR["abeta"])
EPS_PLUS_SIGMA = float(np.hypot(EPS_MINUS_SIGMA, pelgrom_mirror_sigma(MIRROR["avtp"], MIRROR["wlp"], MIRROR["vov"],
                                                                       MIRROR["abeta"])))


def settle_time(res, tol: float = SETTLE_TOL) -> tuple[float, float]:
    """(t_settle (s), Q_net (C)) of a full-scale ``integrator_diff`` run: Q_net(t) = ∫(I_plus copy − I_minus copy) dt
    from the reset opening; t_settle is the time after the end of the read pulses (t0 + tpw) from which
    |Q_net(t) − Q_net(t_read)| ≤ tol·|Q_net(t_read)| (the mirror and conveyor poles delay the charge)."""
    p = res.meta["all_params"]
    t0, tpw, trst, tset = (_param(p, k) for k in ("t0", "tpw", "trst", "tset"))
    tread = t0 + tpw + tset
    t = np.real(res.axis)
    i_net = np.real(res.i("v.xcr.vipo")) - np.real(res.i("v.xcr.vino"))
    m = (t >= trst) & (t <= tread + 1e-15)
    t, i_net = t[m], i_net[m]
    q = np.concatenate([[0.0], np.cumsum(0.5 * (i_net[1:] + i_net[:-1]) * np.diff(t))])
    bad = np.nonzero(np.abs(q - q[-1]) > tol * abs(q[-1]))[0]
    t_last = t[bad[-1] + 1] if bad.size and bad[-1] + 1 < t.size else t[-1]
    return float(max(t_last - (t0 + tpw), 0.0)), float(q[-1])


def mirror_energy_split(full, idle, part, t_open_s: float) -> dict:
    """Split the supply energy of a column read (``e_vdd`` of ``integrator_diff``, nominal runs) into a part
    independent of the input and a part per coulomb of plus-line charge (``q_lp``), from the runs at full input
    (*full*), zero input (*idle*, vread = 0) and ENERGY_PART_ROWS driven rows (*part*):

        E_vdd = E_idle + k·Q⁺_line,   E_idle = E_vdd(idle),   k = (E_vdd(full) − E_idle)/Q⁺_line(full)

    (netlists/integrator.lib, colread: the plus chain's PMOS mirror draws I_vdd = 2·(1 + ε⁺/2)·I⁺ from V_DD,
    so k ≈ 2·V_DD; the conveyor and integrator amplifiers' bias is not in this behavioural supply pin).
    The linearity error is that of the *part* run against the line: (E_vdd(part) − E_idle − k·Q⁺(part))/E_vdd(part).
    *t_open_s*: the time E_vdd is integrated over (reset opening to the sample), over which E_idle accrues.

    Returns {"e_read_idle_J", "e_read_idle_t_s", "e_read_mirror_J_per_C", "e_read_mirror_linearity_error",
    "e_read_full_line_charge_C", "e_read_part_line_charge_C", "e_read_part_J"}."""
    e_f, e_i, e_p = (float(r.meas["e_vdd"]) for r in (full, idle, part))
    q_f, q_p = float(full.meas["q_lp"]), float(part.meas["q_lp"])
    if not q_f > 0:
        raise ValueError(f"integrator_diff: full-input plus-line charge q_lp={q_f} must be > 0")
    k = (e_f - e_i) / q_f
    return {"e_read_idle_J": e_i, "e_read_idle_t_s": float(t_open_s), "e_read_mirror_J_per_C": k,
            "e_read_mirror_linearity_error": (e_p - e_i - k * q_p) / e_p if e_p else 0.0,
            "e_read_full_line_charge_C": q_f, "e_read_part_line_charge_C": q_p, "e_read_part_J": e_p}


def extract_diff(res: list) -> tuple[dict, dict]:
    """Scalars and tables of the column read (``integrator_diff``; module docstring, :func:`diff_jobs`).

    Per instance k (mc = 1): ε⁺ = q_mp/q_lp − 1, ε⁻ = q_mn/q_ln − 1 (mirror gains, from the copies'
    charges); the integrator gain −ΔV/(q_mp − q_mn) (C_int spread only); the common-mode error
    Q_cm = C·(dv_cm − dv_idle) as a fraction of the line charge (expected ε⁺ − ε⁻); the conveyor
    offsets from the idle run: dv_idle = −(V_os⁺·G⁺ − V_os⁻·G⁻)·t_open/C, so
    σ(V_os,c) = σ(dv_idle)·C/(t_open·√(G⁺² + G⁻²)), t_open = t_read − t0. Nominal full-scale run: the window (settling),
    the net charge, the energy from vdd, the line hold error and the conveyor's input conductance.
    Noise runs: σ of dv over the runs."""
    by = {}
    for r in res:
        by.setdefault(diff_case(r), []).append(r)
    full = by["full"][0]
    p = full.meta["all_params"]
    cint, vread, vdd, tpw = (_param(p, k) for k in ("cint", "vread", "vdd", "tpw"))
    gcm = _param(p, "rows") * _param(p, "grow")
    t0, trst = _param(p, "t0"), _param(p, "trst")
    tread = t0 + tpw + _param(p, "tset")
    m = lambda rs, k: np.array([float(r.meas[k]) for r in rs])  # noqa: E731
    seeds = lambda rs: [r.meta.get("seed") for r in rs]  # noqa: E731
    half = sorted(by["half"], key=lambda r: r.meta.get("seed"))
    cm = sorted(by["cm"], key=lambda r: r.meta.get("seed"))
    idle = sorted(by["idle"], key=lambda r: r.meta.get("seed"))
    if not (seeds(half) == seeds(cm) == seeds(idle)):
        raise ValueError("integrator_diff: the half, cm and idle runs must use the same seeds")
    g_half = float(half[0].meta["params"]["gnet"])
    gp, gn = gcm + g_half / 2, gcm - g_half / 2
    eps_p = m(half, "q_mp") / m(half, "q_lp") - 1.0
    eps_n = m(half, "q_mn") / m(half, "q_ln") - 1.0
    q_int = m(half, "q_mp") - m(half, "q_mn")
    gains = -m(half, "dv") / q_int
    c_inst = -1.0 / gains
    q_line_cm = 0.5 * (m(cm, "q_lp") + m(cm, "q_ln"))
    cm_rel = c_inst * (m(cm, "dv") - m(idle, "dv")) / q_line_cm       # = ε⁺ − ε⁻ (charge into C_int)
    t_open = tread - t0                     # dv = V_out(t0) − V_out(t_read): the offset current over t_open
    vos_c = float(np.std(m(idle, "dv"), ddof=1) * cint / (t_open * np.hypot(gp, gn)))
    t_set, q_net_fs = settle_time(full)
    i_line = float(full.meas["q_lp"]) / tpw
    g_in = i_line / float(full.meas["vh_p"])
    q_fs = float(full.meas["q_exp"])
    dv_noise = m(by["noise"], "dv")
    e_vdd = float(full.meas["e_vdd"])
    e_int = cint * min(abs(q_fs) / cint, 0.6) * vdd
    energy = mirror_energy_split(full, by["energy_idle"][0], by["energy_part"][0], tread - trst) \
        if by.get("energy_idle") and by.get("energy_part") else {}
    scalars = {
        "read_circuit": "colread (netlists/integrator.lib): regulated current conveyor per line, mirror copies "
                        "subtracted at the integrator's virtual ground, C_int sized for the PWM window",
        "t_pwm_s": tpw,
        "t_settle_s": t_set,
        "t_window_s": tpw + t_set,
        "g_fs_S": float(_param(p, "gnet")),
        "q_fs_net_C": q_net_fs,
        "q_fs_expected_C": q_fs,
        "bench_rows": int(round(_param(p, "rows"))),
        "bench_g_line_S": gcm,
        "cm_line_to_fs": gcm / float(_param(p, "gnet")),
        "mirror_eps_plus_std": float(np.std(eps_p, ddof=1)),
        "mirror_eps_minus_std": float(np.std(eps_n, ddof=1)),
        "mirror_eps_plus_pelgrom": EPS_PLUS_SIGMA,
        "mirror_eps_minus_pelgrom": EPS_MINUS_SIGMA,
        "cm_error_rel_std": float(np.std(cm_rel, ddof=1)),
        "cm_error_fs_std": float(np.std(cm_rel, ddof=1) * gcm / float(_param(p, "gnet"))),
        "conveyor_vos_std_V": vos_c,
        "conveyor_g_in_S": g_in,
        "hold_error_V": float(full.meas["vh_p"]),
        "read_gain_std_V_per_C": float(np.std(gains)),
        "noise_read_rms_V": float(np.std(dv_noise, ddof=1)),
        "noise_read_runs": int(dv_noise.size),
        "noise_t_open_s": t_open,
        "q_headroom_C": HEADROOM_SIGMAS * (float(np.hypot(EPS_PLUS_SIGMA, EPS_MINUS_SIGMA)) * gcm * vread * tpw
                                           + VOS_LINE_SIGMA_V * float(np.hypot(gcm, gcm)) * t_open),
        "e_read_mirrors_J": e_vdd,
        "e_read_cint_J": e_int,
        "e_read_diff_J": e_vdd + e_int,
        **energy,
    }
    tables = {"eps_plus": eps_p, "eps_minus": eps_n, "cm_error_rel": cm_rel, "read_gain_V_per_C": gains,
              "noise_dv_V": dv_noise}
    return scalars, tables


def transfer_curve(res) -> tuple[np.ndarray, np.ndarray]:
    """(Q_in in C, V_out in V) from one transient: Q(t) = ∫_{t_start} I_in dt (trapezoid)."""
    t = np.real(res.axis)
    tstart = float(res.meta["all_params"]["tstart"])
    i_in = np.real(res.i("vq"))
    v = np.real(res.v("out"))
    m = t >= tstart
    t, i_in, v = t[m], i_in[m], v[m]
    q = np.concatenate([[0.0], np.cumsum(0.5 * (i_in[1:] + i_in[:-1]) * np.diff(t))])
    return q, v


def linear_fit(q: np.ndarray, v: np.ndarray, v_lo: float, v_hi: float) -> tuple[float, float, float, float]:
    """Fit V = offset + gain·Q inside the central 10–90 % of the rails; return
    (gain V/C, offset V, |Q| end of linear range in C, max relative error on the fitted span)."""
    span = v_hi - v_lo
    inside = (v > v_lo + 0.1 * span) & (v < v_hi - 0.1 * span)
    gain, offset = np.polyfit(q[inside], v[inside], 1)
    err = np.abs(v - (offset + gain * q)) / span
    bad = np.nonzero(err > 0.01)[0]
    bad = bad[np.abs(q[bad]) > 0]
    q_lin = float(np.abs(q[bad[0]])) if bad.size else float(np.abs(q).max())
    return float(gain), float(offset), q_lin, float(err[inside].max())


def extract(runs: dict[str, list], lib_params: dict | None = None) -> tuple[dict, dict]:
    """Scalars and tables (``integrator/…``) from the transfer, integrator-noise and column-read runs.

    The integrator's transfer (gain, offset, rails, linear range) is measured at the column read's C_int
    (CINT_F); the read's noise (``noise_out_rms_V``) and energy per read (``e_read_J``) are those of the
    whole column read (:func:`extract_diff`); the integrator-only noise bench keeps its scalars, its total
    as ``noise_int_out_rms_V``. *lib_params*: the library overrides of the runs
    (:attr:`pycosim.characterize.runner.Options.lib_params`; the noise temperature ``integrator.tk``)."""
    res = runs["integrator_transfer"]
    tk = float(((lib_params or {}).get("integrator") or {}).get("tk", 300.15))  # --lib-param integrator.tk
    noise = extract_noise(runs["integrator_noise"], tk) if runs.get("integrator_noise") else {}
    if "noise_out_rms_V" in noise:
        noise["noise_int_out_rms_V"] = noise.pop("noise_out_rms_V")
    diff, diff_tables = extract_diff(runs["integrator_diff"]) if runs.get("integrator_diff") else ({}, {})
    pos = [r for r in res if r.meta["params"]["iamp"] > 0]
    neg = [r for r in res if r.meta["params"]["iamp"] < 0]
    p0 = pos[0].meta["all_params"]
    v_lo = min(float(np.min(r.v("out"))) for r in pos)
    v_hi = max(float(np.max(r.v("out"))) for r in neg)
    fits = np.array([linear_fit(*transfer_curve(r), v_lo, v_hi) for r in pos + neg])
    gains, offsets = fits[:, 0], fits[:, 1]
    q_pos, v_pos = transfer_curve(pos[0])
    q_neg, v_neg = transfer_curve(neg[0])
    q = np.concatenate([q_neg[::-1], q_pos[1:]])
    v = np.concatenate([v_neg[::-1], v_pos[1:]])
    order = np.argsort(q)
    q_lin = float(np.min(fits[:, 2]))
    cint = -1.0 / float(np.mean(gains))
    vdd = float(p0["vdd"])
    swing = min(q_lin / cint, v_hi - v_lo)
    scalars = {
        "gain_V_per_C": float(np.mean(gains)),
        "gain_std_V_per_C": float(np.std(gains)),
        "cint_F": cint,
        "offset_V": float(np.mean(offsets)),
        "offset_std_V": float(np.std(offsets)),
        "q_linear_max_C": q_lin,
        "v_sat_lo_V": v_lo,
        "v_sat_hi_V": v_hi,
        "linearity_error": float(np.max(fits[:, 3])),
        "e_read_J": diff.get("e_read_diff_J", cint * swing * vdd),
        "e_read_model": (f"column read at full input (every row of both lines driven for the PWM window): "
                         f"mirror supply V_DD*integral(I_vdd) + C_int*full-scale swing*V_DD (V_DD = {vdd} V), "
                         f"circuits/integrator_diff.cir; an upper bound, the energy report prices a read as "
                         f"e_read_idle_J + e_read_mirror_J_per_C*(counted plus-line charge) + e_read_cint_J"
                         if diff else
                         f"C_int * full-scale swing * V_DD (behavioural op-amp, V_DD = {vdd} V)"),
        "a0": float(p0["a0"]),
        "gbw_Hz": float(p0["gbw"]),
        "offset_source": OFFSET_SOURCE,
        **noise,
        **diff,
    }
    if diff:
        scalars["noise_out_rms_V"] = diff["noise_read_rms_V"]
        # the net signal's share of the linear range: the rest holds the 3σ common-mode and offset errors
        scalars["q_net_fs_C"] = q_lin - diff["q_headroom_C"]
    tables = {"q_in_C": q[order], "v_out_V": v[order], "gain_V_per_C": gains, "offset_V": offsets,
              **{f"read_{k}" if not k.startswith("read_") else k: v for k, v in diff_tables.items()}}
    return scalars, tables
