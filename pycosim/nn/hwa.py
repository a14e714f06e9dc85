"""Hardware-aware (HWA) training: float weights, a forward pass that sees the deployment's noise.

After Rasch et al., "Hardware-aware training for large-scale and diverse deep learning inference workloads
using in-memory computing-based accelerators", Nat. Commun. 14, 5282 (2023) (the recipe of IBM's aihwkit
``InferenceRPUConfig``): the network is trained in floating point, and only its *forward* pass is made
non-ideal — noise on the weights, quantised inputs and outputs, clipped weight and output ranges — while
the backward pass and the update stay ideal, so the weights learn to tolerate what programming them into
analog arrays will do. Rasch et al. inject a generic programming-like weight noise, output noise and
8-bit input/output quantisation with a weight clip; they do not inject drift, and evaluate with global
drift compensation. Here every amount comes from the calibration bundle, through the array model of the
scheme the network will be deployed into (``hwa.scheme``; its pcm, periphery and transfer sections are
those of the run's configuration), one source per class (:data:`SOURCES`):

    weight_clip   W ← clip(W, −w_r, w_r), w_r = weight_max of the layer (its MSP range, fan-in scaled):
                  in the forward pass and after every update.
    programming   W₁ = W + m_P(|W|)·sign W + σ_P(|W|)·z₁: the closed-loop programming error. m_P and σ_P
                  (network units, per bin of |W|/w_r) are *measured*: a probe array of the deployment
                  scheme (hwa.probe_synapses synapses, the bundle's devices) is programmed from RESET to
                  targets spread over the range by the transfer engine (pycosim.array.transfer), exactly
                  as ``pycosim deploy`` programs, and its noise-free weights compared with the targets.
    drift         W₂ = W₁·r/α, r ~ (μ_r(|W|), σ_r(|W|)): G(t_eval)/G_prog of the device that carries the
                  weight (the other sits at RESET), mean and device-to-device spread over the bundle's
                  devices of the circuit's own drift curves (pycosim.devices.pcm.drift_with) at the level
                  G = g_reset + (|W|/w_r)·(ḡ_max − ḡ_reset); α = Σ|W|·μ_r/Σ|W| over the rows of the read
                  (an ideal global drift compensation, hwa.drift_compensation 'global') or 1 ('none').
    read_noise    W₃ = W₂ + σ_R(|W|)·z₃, σ_R² = S·κ(t_x1)·g(t_eval)²: the read-noise variance density S =
                  scale²·Σ_devices σ²(G)·t_b of the *programmed* probe synapses (both PCM devices as the
                  closed loop left them, the bundle's read-noise table pcm/read_noise_rel_sigma via
                  pycosim.devices.pcm.read_sigma; the 3T1C's own), averaged per bin of |W|, for one forward
                  read of window t_x1 (the 1/f law of the array model, AnalogCrossbar.noise_factor), grown
                  to the age t_eval by pcm.age_growth when pcm.read_noise_growth; a read of pulse fraction
                  x contributes x²·σ_R².
    periphery     inputs x̂ = round(min(x, 1)·L)/L, L = 2^input_bits − 1 (PWM); outputs through the ADC of
                  the forward read with its bundle rails and nominal gain (quantisation and clipping;
                  pycosim.array.periphery.ReadChannel, no mismatch and no integrator noise).

The forward read of a layer, y_j = Σ_i x̂_i·W₃,ij with fresh independent z per weight and example, is drawn
in its exact per-example distribution at the output (the sum of independent Gaussians is Gaussian):

    y = x̂·M + √(x̂²·V) ⊙ z,   M = E[W₃],  V = Var[W₃],  z ~ N(0, 1)^{n_out}   (per example)
    M = (W + m_P)·μ_r/α,  V = ((μ_r² + σ_r²)·σ_P² + (W + m_P)²·σ_r²)/α² + σ_R²

(a source switched off contributes nothing: m_P = σ_P = σ_R = 0, μ_r = α = 1, σ_r = 0), then the ADC. Only
the rows with x̂_i ≠ 0 are formed (the sparse MNIST inputs). With every source off no layer is wrapped and
training is float training, bit for bit. The noise draws come from their own generator (spawned from the
run's seed after the network's and the example order's) and are part of the checkpoint.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from pycosim.errors import ConfigError

#: Points of the |W|/w_r grid the tables are held on (0 … 1).
GRID = 256
#: Bins of |W|/w_r in which the probe's programming error is averaged.
PROG_BINS = 16


def grid_index(W: np.ndarray, w_range: float) -> np.ndarray:
    """Index (int32) of the nearest grid point of a = |W|/w_r, k = round(a·(GRID − 1)) clipped to GRID − 1."""
    k = np.abs(W) * np.float32((GRID - 1) / w_range) + np.float32(0.5)
    return np.minimum(k.astype(np.int32), GRID - 1)


def grid() -> np.ndarray:
    """The grid a_k = k/(GRID − 1) of |W|/w_r (float64)."""
    return np.linspace(0.0, 1.0, GRID)


# ------------------------------------------------------------------ the noise sources
class NoiseSource:
    """One non-ideality of the deployment, applied in the forward pass of :class:`HWALayer`.

    Hooks (defaults: no effect): :meth:`weights` (the weights a read uses), :meth:`moments` (mean and
    variance of each weight seen by a read), :meth:`inputs`, :meth:`outputs`, :meth:`after_update`
    (the stored float weights after an update); :meth:`table` the numbers it injects (metrics.json)."""

    name = ""

    def weights(self, W: np.ndarray) -> np.ndarray:
        return W

    def moments(self, k: np.ndarray, W: np.ndarray, M: np.ndarray, V):
        """(M, V) after this source, for weights W with grid indices k; V None = no variance yet."""
        return M, V

    def inputs(self, x: np.ndarray) -> np.ndarray:
        return x

    def outputs(self, y: np.ndarray) -> np.ndarray:
        return y

    def after_update(self, W: np.ndarray) -> None:
        """Act on the stored weights W (in place) after an update."""

    def table(self) -> dict:
        return {}


def _add(V, v):
    return v if V is None else V + v


class WeightClip(NoiseSource):
    """W clipped to ±w_r, the layer's programmable MSP range (module docstring)."""

    name = "weight_clip"

    def __init__(self, w_range: float):
        self.w_range = np.float32(w_range)

    def weights(self, W):
        return np.clip(W, -self.w_range, self.w_range)

    def after_update(self, W):
        np.clip(W, -self.w_range, self.w_range, out=W)

    def table(self):
        return {"w_range": float(self.w_range)}


class ProgrammingError(NoiseSource):
    """W + m_P(|W|)·sign W + σ_P(|W|)·z, tables measured on a probe array (module docstring)."""

    name = "programming"

    def __init__(self, mean: np.ndarray, sigma: np.ndarray, measured: dict):
        self.mean = np.asarray(mean, np.float32)
        self.var = np.asarray(sigma, np.float32) ** 2
        self.measured = measured

    def moments(self, k, W, M, V):
        return M + self.mean[k] * np.sign(W), _add(V, self.var[k])

    def table(self):
        return {"mean": self.mean.tolist(), "sigma": np.sqrt(self.var).tolist(), **self.measured}


class Drift(NoiseSource):
    """W·r/α with the drift ratio r of the bundle's devices at t_eval (module docstring)."""

    name = "drift"

    def __init__(self, mu: np.ndarray, sd: np.ndarray, t_eval_s: float, compensate: bool):
        self.mu = np.asarray(mu, np.float32)
        self.sd2 = np.asarray(sd, np.float32) ** 2
        self.t_eval_s, self.compensate = float(t_eval_s), bool(compensate)

    def alpha(self, k, W) -> np.float32:
        """Global compensation factor α = Σ|W|·μ_r/Σ|W| of the weights W (1 without compensation)."""
        if not self.compensate:
            return np.float32(1)
        a = np.abs(W)
        s = float(a.sum(dtype=np.float64))
        return np.float32(float((a * self.mu[k]).sum(dtype=np.float64)) / s) if s > 0 else np.float32(1)

    def moments(self, k, W, M, V):
        al = self.alpha(k, W)
        mu, sd2 = self.mu[k] / al, self.sd2[k] / (al * al)
        Vn = M * M * sd2
        if V is not None:
            Vn = Vn + V * (mu * mu + sd2)
        return M * mu, Vn

    def table(self):
        return {"t_eval_s": self.t_eval_s, "compensated": self.compensate, "mu": self.mu.tolist(),
                "sd": np.sqrt(self.sd2).tolist()}


class ReadNoise(NoiseSource):
    """Additive read noise of variance σ_R²(|W|) per full-width read (module docstring)."""

    name = "read_noise"

    def __init__(self, var: np.ndarray):
        self.var = np.asarray(var, np.float32)

    def moments(self, k, W, M, V):
        return M, _add(V, self.var[k])

    def table(self):
        return {"sigma": np.sqrt(self.var).tolist()}


class Periphery(NoiseSource):
    """PWM input quantisation and the forward ADC's quantisation and clipping (module docstring)."""

    name = "periphery"

    def __init__(self, input_levels: int, channel):
        self.levels = np.float32(input_levels)
        self.channel = channel

    def inputs(self, x):
        if not self.levels:
            return x
        return np.sign(x) * np.rint(np.minimum(np.abs(x), 1) * self.levels) / self.levels

    def outputs(self, y):
        if self.channel is None:
            return y
        return self.channel.convert(np.ascontiguousarray(y, np.float32), None)

    def adc_range(self) -> tuple[float, float, float]:
        """(lowest, highest output, LSB) of the ADC in network units (nominal gain and offset)."""
        c = self.channel
        lo, hi = (c.v_lo_V - c.off_nom) / c.a_nom, (c.v_hi_V - c.off_nom) / c.a_nom
        lsb = (c.v_hi_V - c.v_lo_V) / ((1 << c.bits) - 1) / abs(c.a_nom) if c.bits else 0.0
        return min(lo, hi), max(lo, hi), lsb

    def table(self):
        out = {"input_levels": int(self.levels)}
        if self.channel is not None and self.channel.bits:
            lo, hi, lsb = self.adc_range()
            out.update(adc_bits=int(self.channel.bits), adc_lo=lo, adc_hi=hi, adc_lsb=lsb)
        return out


#: The sources in the order a read applies them (HWAConfig field name → class).
SOURCES = {c.name: c for c in (WeightClip, ProgrammingError, Drift, ReadNoise, Periphery)}


# ------------------------------------------------------------------ tables from the bundle
@dataclass(frozen=True)
class LayerTables:
    """Everything the sources of one layer inject, from the bundle (units in names; arrays on the grid).

    w_range: the layer's MSP range (network units); prog_mean, prog_sigma: programming error (network
    units); drift_mu, drift_sd: G(t_eval)/G_prog (dimensionless); read_var: σ_R² (network units²);
    input_levels: PWM levels (0 = exact); channel: the nominal forward ADC (ReadChannel) or None;
    prog_measured: the probe's own summary (err_rms, frac_within_tol, n)."""

    w_range: float
    prog_mean: np.ndarray
    prog_sigma: np.ndarray
    drift_mu: np.ndarray
    drift_sd: np.ndarray
    read_var: np.ndarray
    input_levels: int
    channel: object
    prog_measured: dict


def deployment_config(cfg):
    """The configuration of the deployment of an HWA run: *cfg* with synapse.kind = hwa.scheme."""
    return replace(cfg, synapse=replace(cfg.synapse, kind=cfg.hwa.scheme))


def layer_tables(acfg, bundle, t_eval_s: float, probe_synapses: int, rng: np.random.Generator) -> LayerTables:
    """The tables of one layer deployed with the crossbar configuration *acfg* (module docstring):
    builds a probe array of the scheme from *bundle* (draws from *rng*), programs it from RESET to targets
    spread evenly over |W|/w_r ∈ (0, 1) with random signs (:func:`pycosim.deploy.program_fresh`, the
    transfer engine) and measures the error per bin; read noise, drift and ADC from the same probe."""
    from pycosim.array.crossbar import Crossbar
    from pycosim.array.periphery import ReadChannel
    from pycosim.deploy import program_fresh
    from pycosim.devices import pcm

    cols = 64
    rows = max(1, probe_synapses // cols)
    xb = Crossbar(rows, cols, acfg, bundle, rng=rng)
    w_r = float(acfg.weight_max)
    a = grid()
    # programming error: targets at the centres of m equal slices of (0, 1), random signs
    m = rows * cols
    u = (np.arange(m) + 0.5) / m
    sign = np.where(rng.random(m) < 0.5, -1.0, 1.0)
    target = (sign * u * w_r).astype(np.float32)
    order = rng.permutation(m)                     # no systematic placement of levels on lines
    tgt = target[order].reshape(rows, cols)
    stats = program_fresh(xb, tgt)
    err = ((xb.weights() - tgt).reshape(-1)[np.argsort(order)] * sign).astype(np.float64)
    edges = np.linspace(0, 1, PROG_BINS + 1)
    b = np.minimum((u * PROG_BINS).astype(int), PROG_BINS - 1)
    centres = 0.5 * (edges[1:] + edges[:-1])
    mean = np.array([err[b == i].mean() for i in range(PROG_BINS)])
    sd = np.array([err[b == i].std(ddof=1) for i in range(PROG_BINS)])
    prog_mean, prog_sigma = np.interp(a, centres, mean), np.interp(a, centres, sd)
    measured = {"n": int(m), "err_rms": float(np.sqrt(np.mean(err ** 2))), "frac_within_tol": stats.frac_within_tol,
                "tolerance": stats.tolerance, "mode": stats.mode}
    # conductance of the device that carries |W| (the other at RESET): mean device
    pp = xb.pcm_pop
    g0, g1 = float(np.mean(pp.g_reset_S)), float(np.mean(pp.g_max_S))
    G = g0 + a * (g1 - g0)
    pc = acfg.pcm
    # drift ratio over the bundle's devices (instances), at t_eval
    if pc.drift and pp.drift_ln_g is not None:
        inst = np.arange(pp.n)[None, :]
        Gk = np.broadcast_to(G[:, None], (GRID, pp.n)).astype(np.float32)
        lev = pcm.drift_params(Gk, np.broadcast_to(inst, Gk.shape), pp)
        r = pcm.drift_with(Gk, t_eval_s, lev, np.broadcast_to(inst, Gk.shape), pp) / Gk
        drift_mu, drift_sd = r.mean(axis=1, dtype=np.float64), r.std(axis=1, ddof=1, dtype=np.float64)
    else:
        drift_mu, drift_sd = np.ones(GRID), np.zeros(GRID)
    # read noise of one forward read (x = 1) of the programmed probe, per bin, grown to the age t_eval
    if xb.S is not None:
        kappa = xb.noise_factor(xb.fwd.t_x1_s)
        growth = float(pcm.age_growth(t_eval_s, pp)) if (pc.read_noise and pc.read_noise_growth and pc.drift) else 1.0
        s_tg = (xb.S.reshape(-1)[np.argsort(order)] * (kappa * growth ** 2)).astype(np.float64)
        read_var = np.interp(a, centres, [s_tg[b == i].mean() for i in range(PROG_BINS)])
    else:
        read_var = np.zeros(GRID)
    pe = acfg.periphery
    levels = (1 << pe.input_bits) - 1 if pe.input_bits else 0
    channel = None
    if pe.adc_bits:
        channel = ReadChannel.build(1, xb.integ, scale=xb.scale, read_v_V=xb.read_v_V,
                                    full_scale=pe.forward_full_scale, bits=pe.adc_bits, noise=False,
                                    mismatch_scale=0.0, rng=rng, t_read_s=pe.t_read_s)
    return LayerTables(w_r, prog_mean, prog_sigma, drift_mu, drift_sd, read_var, levels, channel, measured)


def sources_of(hwa_cfg, tables: LayerTables, n_out: int) -> list[NoiseSource]:
    """The switched-on sources of one layer, in :data:`SOURCES` order."""
    on = []
    for name in SOURCES:
        if not getattr(hwa_cfg, name):
            continue
        if name == "weight_clip":
            on.append(WeightClip(tables.w_range))
        elif name == "programming":
            on.append(ProgrammingError(tables.prog_mean, tables.prog_sigma, tables.prog_measured))
        elif name == "drift":
            on.append(Drift(tables.drift_mu, tables.drift_sd, hwa_cfg.t_eval_s,
                            hwa_cfg.drift_compensation == "global"))
        elif name == "read_noise":
            on.append(ReadNoise(tables.read_var))
        elif name == "periphery":
            ch = tables.channel
            if ch is not None:      # one line per output (the nominal channel is the same for every line)
                ch = _widen(ch, n_out)
            on.append(Periphery(tables.input_levels, ch))
    return on


def _widen(ch, n: int):
    """The nominal one-line channel *ch* as n identical lines."""
    rep = lambda v: None if v is None else np.repeat(np.asarray(v), n)  # noqa: E731
    return replace(ch, a=rep(ch.a), off=rep(ch.off), eps_p=rep(ch.eps_p), eps_n=rep(ch.eps_n), vos_p=rep(ch.vos_p),
                   vos_n=rep(ch.vos_n))


def any_on(hwa_cfg) -> bool:
    """Whether *hwa_cfg* injects anything (a scheme and at least one source)."""
    return hwa_cfg.scheme != "none" and any(getattr(hwa_cfg, n) for n in SOURCES)


# ------------------------------------------------------------------ the layer and the network hook
class HWALayer:
    """A float ('ideal') crossbar whose forward read sees the deployment's noise (module docstring);
    everything else (backward, update, state, counters) is the wrapped layer's, so the backward pass and
    the update stay ideal (Rasch et al. 2023)."""

    def __init__(self, xb, sources: list[NoiseSource], tables: LayerTables, rng: np.random.Generator):
        self._xb, self.sources, self.tables, self.hwa_rng = xb, sources, tables, rng
        self._var = any(isinstance(s, (ProgrammingError, Drift, ReadNoise)) for s in sources)

    def __getattr__(self, name):
        return getattr(self._xb, name)

    @property
    def inner(self):
        """The wrapped float layer."""
        return self._xb

    def forward(self, x, *, checked: bool = True) -> np.ndarray:
        """y = x̂·M + √(x̂²·V)⊙z, then the ADC (module docstring)."""
        x = np.asarray(x, np.float32)
        for s in self.sources:
            x = s.inputs(x)
        rows = np.flatnonzero(x)
        xr = x[rows].astype(np.float32)
        W = self._xb.W[rows]
        for s in self.sources:
            W = s.weights(W)
        k = grid_index(W, self.tables.w_range)
        M, V = W, None
        for s in self.sources:
            M, V = s.moments(k, W, M, V)
        y = xr @ M
        z = self.hwa_rng.standard_normal(y.shape[0], dtype=np.float32) if self._var else None
        if V is not None:
            y = y + np.sqrt(np.maximum((xr * xr) @ V, 0)) * z
        y = y.astype(np.float32)
        for s in self.sources:
            y = s.outputs(y)
        self._xb.counters.reads_forward += 1
        self._xb._count_forward_charge(x)
        return y

    def update(self, x, delta, lr: float, *, checked: bool = True) -> None:
        self._xb.update(x, delta, lr, checked=checked)
        for s in self.sources:
            s.after_update(self._xb.W)

    def state(self) -> dict:
        """The wrapped layer's state plus 'hwa_rng' (the noise generator's state)."""
        return dict(self._xb.state(), hwa_rng=self.hwa_rng.bit_generator.state)

    def set_state(self, state: dict) -> None:
        st = dict(state)
        r = st.pop("hwa_rng", None)
        self._xb.set_state(st)
        if r is not None:
            self.hwa_rng.bit_generator.state = r

    def summary(self) -> dict:
        """{source name: its table} of this layer (metrics.json → hwa)."""
        return {s.name: s.table() for s in self.sources}


def attach(net, cfg, bundle, rng: np.random.Generator) -> None:
    """Wrap every layer of the float network *net* of the run *cfg* in an :class:`HWALayer` (in place),
    with the tables of the deployment (:func:`deployment_config`) from *bundle* (None: the shipped one).
    Does nothing when :func:`any_on` is False. ConfigError if the run is not float (synapse.kind 'ideal')."""
    if not any_on(cfg.hwa):
        return
    if cfg.synapse.scheme.analog:
        raise ConfigError(f"hwa.scheme={cfg.hwa.scheme!r}: hardware-aware training trains float weights; "
                          f"synapse.kind must be 'ideal', not {cfg.synapse.kind!r} (use --preset hwa)")
    from pycosim import calibration
    from pycosim.nn import config as ncfg

    if bundle is None:
        bundle = calibration.load()
    acfgs = ncfg.array_configs(deployment_config(cfg), net.sizes)
    probe_rngs = rng.spawn(len(net.layers) + 1)
    noise_rng = probe_rngs.pop()
    noise_rngs = noise_rng.spawn(len(net.layers))
    for l, (xb, acfg, pr, nr) in enumerate(zip(list(net.layers), acfgs, probe_rngs, noise_rngs)):
        tables = layer_tables(acfg, bundle, cfg.hwa.t_eval_s, cfg.hwa.probe_synapses, pr)
        net.layers[l] = HWALayer(xb, sources_of(cfg.hwa, tables, xb.n_out), tables, nr)


def summary(net) -> list[dict] | None:
    """Per layer {source: table} of an HWA network (None for a network without HWA layers)."""
    if not net.layers or not isinstance(net.layers[0], HWALayer):
        return None
    return [xb.summary() for xb in net.layers]
