"""One crossbar layer of circuit-calibrated synapses, as plain arrays (no object per synapse).

:class:`Crossbar` is the narrow API every layer above ``pycosim.array`` uses (training, evaluation,
validation, energy):

    forward(x) · backward(delta) · update(x, delta, lr)       analog reads and the coincident-pulse update
    advance(dt_s)                                              hardware time: 3T1C leakage, PCM drift
    weights() · set_weights(W) · transfer(cols)                noise-free W; programming; LSP → MSP transfer
    state() · set_state(d)                                     the layer's mutable state as plain data
    counters · scheme · devices() · lsp_contribution()         event counts; what the scheme has; device copies

``Crossbar(n_in, n_out, config, bundle, rng)`` builds the class of the configured synapse scheme, chosen
once in the registry (:mod:`pycosim.array.schemes`): a subclass per scheme implements the small protocol
of hooks below (``_forward``, ``_backward``, ``_update``, ``_advance``, ``_set_weights``, ``_transfer``,
``_STATE_ARRAYS``). Weights are in network units (scale = network units per siemens); the equations of
each scheme are in its module docstring and docs/array.md.
"""

from __future__ import annotations

import numpy as np

from pycosim.array.config import ArrayConfig
from pycosim.array.counters import Counters
from pycosim.errors import ConfigError


def _as_vector(x, n: int, name: str) -> np.ndarray:
    a = np.asarray(x, dtype=np.float32)
    if a.shape != (n,):
        raise ConfigError(f"{name}: expected shape ({n},), got {a.shape}")
    if not np.isfinite(a.sum(dtype=np.float64)):
        raise ConfigError(f"{name}: contains NaN or infinity")
    return a


def _as_config(config) -> ArrayConfig:
    if isinstance(config, dict):
        config = ArrayConfig.from_dict(config)
    config = config or ArrayConfig()
    if not isinstance(config, ArrayConfig):
        raise ConfigError(f"config: expected ArrayConfig or dict, got {type(config).__name__}")
    return config


class Crossbar:
    """A crossbar layer of n_in × n_out synapses of the configured scheme (module docstring).

    Args:
        n_in, n_out: rows (inputs) and columns (outputs).
        config: :class:`ArrayConfig` (or a dict for :meth:`ArrayConfig.from_dict`).
        bundle: calibration bundle (default: the shipped one; not used by 'ideal').
        rng: numpy Generator or seed; all randomness of the layer comes from it.

    Attributes (read only): n_in, n_out, shape, cfg, counters (:class:`Counters`), t_s (hardware time
    passed, s), scale (network units per siemens), dw_pulse (mean weight step of one update pulse,
    network units).
    """

    STATE_VERSION = 2
    _STATE_ARRAYS: tuple[str, ...] = ()       # mutable arrays of the scheme (None allowed), see state()
    _STATE_SCALARS: tuple[str, ...] = ("t_s",)

    def __new__(cls, n_in=1, n_out=1, config=None, bundle=None, rng=None):
        if cls is Crossbar:
            from pycosim.array import schemes
            cls = schemes.scheme_class(_as_config(config).synapse)
        return super().__new__(cls)

    def __init__(self, n_in: int, n_out: int, config: ArrayConfig | dict | None = None, bundle=None,
                 rng: np.random.Generator | int | None = None):
        config = _as_config(config)
        if int(n_in) < 1 or int(n_out) < 1:
            raise ConfigError(f"crossbar shape ({n_in}, {n_out}): both sizes must be ≥ 1")
        self.cfg = config
        self.n_in, self.n_out = int(n_in), int(n_out)
        self.shape = (self.n_in, self.n_out)
        self.rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        self.counters = Counters()
        self.t_s = 0.0
        self.scale = 1.0
        self.dw_pulse = 0.0
        self.trains_split = float(config.update.trains_split)
        self._build(bundle)

    # ------------------------------------------------------------------ the scheme protocol (hooks)
    def _build(self, bundle) -> None:
        """Create the scheme's device state and caches (bundle: a calibration bundle or None)."""
        raise NotImplementedError

    def _forward(self, x: np.ndarray) -> np.ndarray:
        """:meth:`forward` on a checked input (n_in,) float32."""
        raise NotImplementedError

    def _backward(self, d: np.ndarray) -> np.ndarray:
        """:meth:`backward` on a checked input (n_out,) float32."""
        raise NotImplementedError

    def _update(self, x: np.ndarray, d: np.ndarray, lr: float) -> None:
        """:meth:`update` on checked inputs."""
        raise NotImplementedError

    def _advance(self, dt_s: float, hold_lsp: bool, settle: bool) -> None:
        """The scheme's devices after dt_s more seconds (t_s is already advanced)."""

    def _set_weights(self, W: np.ndarray, mode: str | None, overrides: dict):
        """:meth:`set_weights` on a checked W (n_in, n_out) float32."""
        raise NotImplementedError

    def _set_exact(self, W: np.ndarray) -> None:
        """:meth:`set_weights` mode 'exact'."""
        raise NotImplementedError

    def _count_forward_charge(self, x: np.ndarray) -> None:
        """Add the line charge of a forward read of x to the counters (analog schemes; none here)."""

    def _transfer(self, cols: np.ndarray, overrides: dict):
        """:meth:`transfer` of checked columns."""
        raise NotImplementedError

    # ------------------------------------------------------------------ public API
    @property
    def scheme(self):
        """The :class:`pycosim.array.schemes.SchemeInfo` of this layer (what the scheme has: analog devices,
        an LSP, a polarity bit, its PCM device roles)."""
        from pycosim.array import schemes
        return schemes.info(self.cfg.synapse)

    def forward(self, x, *, checked: bool = True) -> np.ndarray:
        """y = ADC∘integrator(x̂·W + read noise) (n_out,) float32; x: (n_in,) activations, |x| ≤ 1 (larger
        values saturate the PWM). Equations: :mod:`pycosim.array.periphery`. 'ideal': y = x·W.
        checked=False skips the shape and finiteness check (the caller guarantees a finite float32 (n_in,))."""
        return self._forward(_as_vector(x, self.n_in, "forward: x") if checked else x)

    def backward(self, delta, *, checked: bool = True) -> np.ndarray:
        """Transposed read d = m·ADC∘integrator(W·δ̂ + read noise) (n_in,) float32, δ̂ = PWM(δ/m), m = max|δ|
        (periphery.normalize_backward; else m = 1, |δ| ≤ 1). 'ideal': d = W·δ. checked as in :meth:`forward`."""
        return self._backward(_as_vector(delta, self.n_out, "backward: delta") if checked else delta)

    def update(self, x, delta, lr: float, *, checked: bool = True) -> None:
        """SGD step ΔW = −lr·x⊗δ by coincident pulses on the LSP (the scheme's module docstring);
        x: (n_in,), delta: (n_out,), lr ≥ 0. checked as in :meth:`forward`."""
        if checked:
            x = _as_vector(x, self.n_in, "update: x")
            delta = _as_vector(delta, self.n_out, "update: delta")
            if not (lr >= 0 and np.isfinite(lr)):
                raise ConfigError(f"update: lr={lr} must be a finite number ≥ 0")
        self._update(x, delta, lr)

    def advance(self, dt_s: float, *, hold_lsp: bool = False, settle: bool = False) -> None:
        """Let dt_s seconds of hardware time pass: 3T1C leakage (exact piecewise-linear closed form,
        deferred up to lsp.leak_batch_s) and PCM drift (re-evaluated every pcm.drift_refresh_s).

        hold_lsp: the 3T1C capacitors are held (transmission gate on), only the PCM drifts;
        settle: apply deferred leakage and re-evaluate the drift at the new time now (evaluation),
        instead of on the training schedule. Counters: sim_time_s."""
        if not (np.isfinite(dt_s) and dt_s >= 0):
            raise ConfigError(f"advance: dt_s={dt_s} must be a finite time ≥ 0 (s)")
        self.t_s += dt_s
        self.counters.sim_time_s += dt_s
        self._advance(dt_s, hold_lsp, settle)

    def resolved_settings(self) -> dict:
        """The values this layer uses for its "auto" settings (the configuration fields left None, see
        docs/config.md): ``{dotted path: value}`` in the field's unit, only for fields that are None in
        ``cfg`` and that the scheme uses; {} for 'ideal'. A run records them in ``metrics.json`` →
        ``resolved_settings``."""
        return {}

    def weights(self, forward: bool = False) -> np.ndarray:
        """Copy of the noise-free weights (network units, float32, (n_in, n_out)); forward=True: the matrix
        the forward read applies (analog schemes: with the periphery's line gains)."""
        return self.W.copy()

    def set_weights(self, W_target, mode: str | None = None, **overrides):
        """Program the array to weights W_target ((n_in, n_out), network units).

        mode 'closed' / 'open' (default: the config's transfer.mode): tuning of the MSP pair by the transfer
        engine (:mod:`pycosim.array.transfer`; the LSP stays as it is: closed loop compensates it, open loop
        ignores it); returns its :class:`TransferStats`. 'ideal' layers store W exactly. mode 'exact': the
        read matrix becomes W_target as given and the device read noise is switched off — for inference
        models that compute the conductances themselves (:mod:`pycosim.inference`); returns None."""
        W = np.asarray(W_target, np.float32)
        if W.shape != self.shape:
            raise ConfigError(f"set_weights: W_target must have shape {self.shape}, got {W.shape}")
        if not np.isfinite(W).all():
            raise ConfigError("set_weights: W_target contains NaN or infinity")
        if mode == "exact":
            self._set_exact(np.ascontiguousarray(W.copy()))
            return None
        return self._set_weights(W, mode, overrides)

    def transfer(self, cols=None, **overrides):
        """Move the LSP contributions of columns *cols* (default all; indices or a bool mask) into the MSP
        pair (:mod:`pycosim.array.transfer`). Options override the config's TransferConfig: mode,
        threshold, tolerance, max_pulses, max_restarts, refresh_frac, invert_polarity, verify_t_read_s,
        drift_horizon_s, verify_delay_s. Returns :class:`TransferStats` (nothing moves in schemes without an LSP)."""
        from pycosim.array import transfer as tr
        return self._transfer(tr.columns(cols, self.n_out), overrides)

    def lsp_contribution(self) -> np.ndarray:
        """LSP part of W (network units, (n_in, n_out) float32): scale·pol·(g − g_shared) ('2pcm+3t1c'),
        scale·(g⁺ − g⁻) ('4pcm'), else 0."""
        return np.zeros(self.shape, np.float32)

    def devices(self) -> dict:
        """Copies of the device state (for plots, reports and validation; keys in the scheme's docstring).
        Empty for 'ideal'."""
        return {}

    def reseed(self, rng: np.random.Generator) -> None:
        """Draw every later random number of this layer from *rng*."""
        self.rng = rng

    # ------------------------------------------------------------------ run state
    def state(self) -> dict:
        """The layer's mutable state as plain data (checkpoints; no pickle): ``{'version': int, 'scheme':
        str, 'shape': [n_in, n_out], 'rng': the generator's bit_generator.state (JSON-able dict),
        'counters': {name: int | float}, 'arrays': {name: ndarray}, 'scalars': {name: int | float}}``.
        Everything else (device instances, populations, periphery mismatch) is rebuilt identically from the
        config, bundle and seed, so ``Crossbar(same args).set_state(xb.state())`` continues bit for bit."""
        arrays = {k: np.asarray(v) for k in self._STATE_ARRAYS if (v := getattr(self, k)) is not None}
        cnt = {}
        for k, v in self.counters.__dict__.items():
            if isinstance(v, np.ndarray):
                arrays["counters." + k] = v
            else:
                cnt[k] = v
        return {"version": self.STATE_VERSION, "scheme": self.cfg.synapse, "shape": [self.n_in, self.n_out],
                "rng": self.rng.bit_generator.state, "counters": cnt, "arrays": arrays,
                "scalars": {k: getattr(self, k) for k in self._STATE_SCALARS}}

    def set_state(self, state: dict) -> None:
        """Restore :meth:`state` into this layer (built with the same config, bundle and seed). ConfigError
        (one line) on another version, scheme, shape or a missing array."""
        if not isinstance(state, dict) or state.get("version") != self.STATE_VERSION:
            got = state.get("version") if isinstance(state, dict) else type(state).__name__
            raise ConfigError(f"crossbar state version {got!r} is not supported (reads version {self.STATE_VERSION})")
        if state.get("scheme") != self.cfg.synapse or list(state.get("shape", ())) != [self.n_in, self.n_out]:
            raise ConfigError(f"crossbar state of {state.get('scheme')!r} {state.get('shape')} does not fit this "
                              f"{self.cfg.synapse!r} layer ({self.n_in}, {self.n_out})")
        arrays = state["arrays"]
        keys = self._STATE_ARRAYS
        # arrays that are one object in this layer (e.g. Wf is W without a line model, Pe is P without drift)
        # stay one object: restoring them as two copies would let later updates miss the reads
        aliases = {k: j for i, k in enumerate(keys) for j in keys[:i]
                   if getattr(self, k) is not None and getattr(self, k) is getattr(self, j)}
        for k, v in arrays.items():
            if k.startswith("counters."):
                setattr(self.counters, k[len("counters."):], np.array(v))
        for k, v in state["counters"].items():
            setattr(self.counters, k, v)
        for k in self._STATE_ARRAYS:
            cur = getattr(self, k)
            if k in arrays:
                a = np.array(arrays[k])
                if cur is not None and a.shape != cur.shape:
                    raise ConfigError(f"crossbar state: array {k!r} has shape {a.shape}, the layer {cur.shape}")
                setattr(self, k, a)
            else:
                setattr(self, k, None)
        for k, j in aliases.items():
            a, b = getattr(self, k), getattr(self, j)
            if a is not None and b is not None and a.shape == b.shape and np.array_equal(a, b):
                setattr(self, k, b)
        for k in self._STATE_SCALARS:
            setattr(self, k, state["scalars"][k])
        self.rng.bit_generator.state = state["rng"]
        self._restored()

    def _restored(self) -> None:
        """Rebuild what derives from the restored arrays (aliases, caches)."""
