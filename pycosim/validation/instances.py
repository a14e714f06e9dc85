"""Device instances shared by the array model and SPICE: the same bench Monte Carlo instance on both sides.

The array model (:class:`pycosim.array.Crossbar`) gives every device the index k of a SPICE Monte Carlo
instance of the calibration bundle (``Crossbar.devices()['pcm_instance']``, the 3T1C cells' and the column references' instances); row k
of every bundle table is the device that the benches simulated with seed ``S + k`` (``S`` =
``bundle.provenance['seed']``, docs/calibration.md). The SPICE crossbar of the validation uses exactly
those devices: :func:`probe_draws` runs :func:`pycosim.validation.netlists.probes.probe_netlist` with seed S + k and
reads the Monte Carlo values the bench instance drew (FET V_th shifts and mobility factors; the PCM's
G_c, G_a, z (drift exponents), R_th, k_g, G_b and its access FET), which the ``_fx`` cells of
:func:`pycosim.validation.netlists.library.fixed_draw_library` then take as parameters.

Not matched instance by instance (drawn statistically instead, and said so in the report): the PCM's
cycle-to-cycle factors (``zc``, a B-source expression that cannot be read back; the array model draws its
own c2c residuals from the bundle anyway) and the integrators (the array model draws per-line gain and
offset from Gaussians; both sides run nominal integrators here).
"""

from __future__ import annotations

import numpy as np

from pycosim.errors import CalibrationError
from pycosim.spice import iter_many
from pycosim.validation import netlists as xbar


def reference_instances(xb) -> np.ndarray:
    """Instance index of the reference cell of every column of *xb* (int64, (n_out,)): the crossbar's
    devices()['ref_instance']."""
    from pycosim.validation.model_side import ref_instances

    return ref_instances(xb)


def bundle_seed(bundle) -> int:
    """First Monte Carlo seed of the bundle's benches (instance k was simulated with seed + k)."""
    seed = (bundle.provenance or {}).get("seed")
    if seed is None:
        raise CalibrationError("calibration bundle: provenance has no Monte Carlo seed; the device instances "
                               "cannot be re-created in SPICE (regenerate it with pycosim characterize)")
    return int(seed)


def probe_draws(bundle, lsp_instances, pcm_instances, *, workers: int | None = None,
                progress: bool | str = False) -> tuple[dict[int, dict], dict[int, dict]]:
    """Monte Carlo values of the given 3T1C and PCM bench instances, read from ngspice.

    Returns ({k: lsp_3t1c_fx values}, {k: pcm_1t1r_fx values without zc}) for the distinct instance
    indices given. One small ``.op`` run per instance (cached by the engine)."""
    seed0 = bundle_seed(bundle)
    mc = (bundle.provenance or {}).get("mc") or {}
    jobs, keys = [], []
    for kind, insts in (("lsp", lsp_instances), ("pcm", pcm_instances)):
        text = xbar.probe_netlist(kind)
        for k in sorted({int(v) for v in np.ravel(insts)}):
            if kind in mc and k >= int(mc[kind]):
                raise CalibrationError(f"{kind} instance {k} is beyond the bundle's {mc[kind]} Monte Carlo instances")
            jobs.append({"netlist": text, "seed": seed0 + k})
            keys.append((kind, k))
    out: dict[str, dict[int, dict]] = {"lsp": {}, "pcm": {}}
    for i, res in iter_many(jobs, workers=workers, progress=progress, total=len(jobs)):
        kind, k = keys[i]
        try:
            out[kind][k] = xbar.probe_values(kind, res)
        except ValueError as exc:
            raise CalibrationError(f"{kind} instance {k} (seed {seed0 + k}): {exc}") from None
    return out["lsp"], out["pcm"]


def crossbar_instances(P_inst, V_inst, ref_inst, lsp_draws: dict, pcm_draws: dict, *, xc, age_s, vc, pol,
                       zc) -> xbar.CrossbarInstances:
    """The SPICE twin of a crossbar whose devices are the bench instances P_inst (2, R, C) (PCM), V_inst (R, C)
    (3T1C cells) and ref_inst (C,) (the column references).

    xc, age_s: (2, R, C) PCM crystalline fraction (-) and drift clock (s); vc: (R, C) V_C (V); pol (C,) ±1;
    zc: (2, R, C, 24) the PCM cycle-to-cycle draws (standard normal, drawn by the caller)."""
    _, names = xbar.fixed_draw_library()
    pcm = {}
    for n in names["pcm_dev"]:
        if n.startswith("zc"):
            pcm[n] = np.asarray(zc)[..., int(n[2:])]
        else:
            pcm[n] = np.vectorize(lambda k, n=n: pcm_draws[int(k)][f"xpcm_{n}"], otypes=[float])(P_inst)
    cell = {n: np.vectorize(lambda k, n=n: lsp_draws[int(k)][n], otypes=[float])(V_inst) for n in names["lsp_3t1c"]}
    ref = {n: np.array([lsp_draws[int(k)][n] for k in ref_inst]) for n in names["lsp_ref"]}
    return xbar.CrossbarInstances(xc=np.asarray(xc, float), age_s=np.asarray(age_s, float), pcm=pcm,
                                  vc=np.asarray(vc, float), cell=cell, ref=ref, pol=np.asarray(pol, float))


def pcm_1t1r_draws(inst: xbar.CrossbarInstances, pcm_draws: dict, P_inst, flat: np.ndarray, events=None) -> dict:
    """``pcm_1t1r_fx`` values of the PCM devices at flat indices *flat* of (2, R, C): the device's own
    draws, its access FET's, and its cycle-to-cycle draws rotated by its programming-event count
    (``events``, default 0) so that a device continued in a new netlist uses the draw of its next event
    (netlists/pcm.lib: event n uses zc(n mod 24))."""
    _, names = xbar.fixed_draw_library()
    flat = np.asarray(flat, np.int64)
    ev = np.zeros(flat.size, np.int64) if events is None else np.asarray(events, np.int64)
    kk = np.asarray(P_inst).reshape(-1)[flat]
    out = {}
    for n in names["pcm_1t1r"]:
        if n.startswith("xpcm_zc"):
            m = int(n[len("xpcm_zc"):])
            src = (m + ev) % xbar.PCM_C2C_DRAWS
            out[n] = np.array([inst.pcm[f"zc{s}"].reshape(-1)[f] for s, f in zip(src, flat)])
        elif n.startswith("xpcm_"):
            out[n] = inst.pcm[n[len("xpcm_"):]].reshape(-1)[flat].astype(float)
        else:
            out[n] = np.array([pcm_draws[int(k)][n] for k in kk])
    return out
