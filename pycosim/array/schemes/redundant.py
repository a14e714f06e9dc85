"""Redundant conductance pairs: k PCM pairs at one significance level, one connected at a time.

'2pcm+3t1c-kpairs' (the PCM pair of Ambrogio et al., Nature 558, 60 (2018), k-fold) and '4pcm-kpairs' (the
PCM-only lower pair of Cristiano et al., J. Appl. Phys. 124, 151901 (2018), k-fold) — the redundancy that
Cristiano et al. propose to carry the PCM lifetime "to the order of years" ("building redundancy through
multiple conductance pairs"). k = pcm.redundant_pairs. The weight equation is the plain scheme's, with the
connected pair's devices:

    W = scale·[F·(G⁺_a − G⁻_a) + pol_j·(g − g_shared,j)]          ('2pcm+3t1c-kpairs', a = connected pair)
    W = scale·[F·(G⁺ − G⁻) + (g⁺_a − g⁻_a)]                        ('4pcm-kpairs')

The other k − 1 pairs wait at their RESET floor behind a select switch (one per pair, a per-synapse pointer of
⌈log₂ k⌉ bits selects the connected one: the periphery cost of :func:`pycosim.evaluate.energy.redundancy_cost`).

Layout: the device arrays (P, P_inst, P_since, P_stuck, P_tprog, Pe, P_drift, the endurance arrays and the
per-device counters) have N_PCM + 2(k − 1) rows; rows RING_BASE, RING_BASE + 1 are the connected pair (what
the plain scheme's code reads, updates and programs, unchanged), rows N_PCM + 2i, N_PCM + 2i + 1 the waiting
pair at ring position i + 1. Switching pairs (:meth:`KPairs._rotate`) moves the device records between the rows
(a relabelling: each device keeps its instance, conductance, drift clock and counters), so a row of the counters
is always one physical device. The waiting pairs drift like the others (they are re-evaluated at every drift
refresh, a cost ∝ the rows) and are neither read nor programmed until they are connected.

When the connected pair is switched (pcm.redundancy), always right after a RESET of that pair — the common-mode
refresh and saturation restarts of the closed loop ('2pcm+3t1c-kpairs'), the transfer RESET of moved lower pairs
and their saturation refresh ('4pcm-kpairs') — so that the pair that leaves is at its floor and the one that
comes in is too (it was RESET when it left):

* 'rotate' (wear levelling): the next pair of the ring, always: each pair takes every k-th RESET, so each
  device's RESET count (and SET pulses) is divided by ≈ k;
* 'spare': only when the connected pair has a stuck device (yield or worn), to the next healthy pair — inside
  the closed loop this is where it routes around a failed device (a stuck device is handled as saturated,
  :mod:`pycosim.array.transfer`, which RESETs the pair, and the spare takes over and is programmed to the target);
* 'rotate+spare': the next healthy pair (rotation skipping pairs with a stuck device).

With no healthy pair left the synapse stays on its pair. k = 1 is the plain scheme, bit for bit.
"""

from __future__ import annotations

import numpy as np

from pycosim.array.schemes.pcm4 import Pcm4
from pycosim.array.schemes.pcm_3t1c import Pcm3T1C

_PER_DEVICE = ("P", "P_since", "P_inst", "P_stuck", "P_tprog", "Pe", "P_drift", "_drift_dirty", "P_life",
               "P_fail_hi")
_PER_DEVICE_COUNTERS = ("pcm_resets_per_device", "pcm_sets_per_device", "pcm_worn_per_device",
                        "pcm_worn_at_s_per_device")


class KPairs:
    """Mixin over an :class:`pycosim.array.schemes.analog.AnalogCrossbar` scheme: k pairs at the significance
    whose G⁺ is device row RING_BASE (module docstring)."""

    RING_BASE = 0

    @property
    def pairs(self) -> int:
        """k, the conductance pairs at the redundant significance (pcm.redundant_pairs)."""
        return int(self.cfg.pcm.redundant_pairs)

    def _bank_rows(self) -> int:
        return 2 * (self.pairs - 1)

    def device_roles(self) -> tuple[str, ...]:
        base = tuple(self.scheme.device_roles)
        return base + base[self.RING_BASE:self.RING_BASE + 2] * (self.pairs - 1)

    def ring_rows(self) -> np.ndarray:
        """(k, 2) int64: the device rows of ring position i (0 = the connected pair)."""
        rb, n = self.RING_BASE, self.N_PCM
        rows = [[rb, rb + 1]] + [[n + 2 * i, n + 2 * i + 1] for i in range(self.pairs - 1)]
        return np.asarray(rows, np.int64)

    def healthy_pairs(self) -> np.ndarray:
        """(k, n_in, n_out) bool: ring position i (0 = the connected pair) of each synapse has no stuck device
        (the periphery's failed-device table seen per pair)."""
        return self._healthy(np.arange(self.W.size)).reshape((self.pairs,) + self.shape)

    def _healthy(self, flat: np.ndarray) -> np.ndarray:
        """(k, m) bool: ring position i of synapses *flat* has neither device stuck."""
        k = self.pairs
        if self.P_stuck is None:
            return np.ones((k, flat.size), bool)
        s = self.P_stuck.reshape(self.P_stuck.shape[0], -1)
        rows = self.ring_rows()
        return ~(s[rows[:, 0][:, None], flat[None, :]] | s[rows[:, 1][:, None], flat[None, :]])

    def _next_pair(self, flat: np.ndarray) -> np.ndarray:
        """Ring shift p (int64 (m,), 0 = stay) of synapses *flat* by pcm.redundancy (module docstring)."""
        mode = self.cfg.pcm.redundancy
        if mode == "rotate":
            return np.ones(flat.size, np.int64)
        h = self._healthy(flat)
        later = h[1:]
        first = np.where(later.any(axis=0), np.argmax(later, axis=0) + 1, 0).astype(np.int64)
        if mode == "spare":
            return np.where(h[0], 0, first)
        return first

    def _rotate(self, flat: np.ndarray, shift: np.ndarray) -> None:
        """Connect ring position shift[j] of synapse flat[j]: every per-device record moves from ring position
        (i + shift) mod k to i (a roll of the ring, in place); W, Wf, S of the synapses are refreshed."""
        rows = self.ring_rows()
        k, m = rows.shape[0], flat.size
        src = (np.arange(k)[:, None] + shift[None, :]) % k                       # (k, m)
        r = rows[:, :, None]                                                      # (k, 2, 1)
        f = flat[None, None, :]
        seen = set()
        arrays = [getattr(self, a) for a in _PER_DEVICE] + [getattr(self.counters, a) for a in _PER_DEVICE_COUNTERS]
        for a in arrays:
            if a is None or id(a) in seen or a.ndim == 0 or a.shape[0] != self.P.shape[0]:
                continue
            seen.add(id(a))
            a2 = a.reshape(a.shape[0], -1)
            old = a2[r, f]                                                        # (k, 2, m)
            a2[r, f] = old[src[:, None, :], np.arange(2)[None, :, None], np.arange(m)[None, None, :]]
        self.counters.redundancy_switches += int(m)
        self._refresh(flat)

    def _reset(self, dev: np.ndarray, counter: str) -> None:
        """:meth:`AnalogCrossbar._reset`, then the pair switch of the synapses whose connected pair at the
        redundant significance was just RESET (:meth:`_next_pair`, :meth:`_rotate`)."""
        super()._reset(dev, counter)
        if self.pairs == 1:
            return
        N = self.W.size
        lo = self.RING_BASE * N
        f = dev[(dev >= lo) & (dev < lo + N)] - lo
        if f.size == 0:
            return
        f = np.unique(f)
        p = self._next_pair(f)
        go = p > 0
        if go.any():
            self._rotate(f[go], p[go])

    def devices(self) -> dict:
        """The plain scheme's :meth:`devices` for the connected pairs (rows 0 … N_PCM − 1), plus 'bank_G_S',
        'bank_G_prog_S', 'bank_instance' (2(k − 1), n_in, n_out) of the waiting pairs and 'bank_stuck'."""
        d = super().devices()
        n = self.N_PCM
        out = {}
        for key, v in d.items():
            if isinstance(v, np.ndarray) and v.ndim == 3 and v.shape[0] == self.P.shape[0]:
                out[key] = v[:n].copy()
                out["bank_" + key] = v[n:].copy()
            else:
                out[key] = v
        return out


class Pcm3T1CKPairs(KPairs, Pcm3T1C):
    """'2pcm+3t1c-kpairs': k PCM pairs F·(G⁺ − G⁻) per synapse, one connected, plus the 3T1C cell (module
    docstring)."""

    RING_BASE = 0
    _STATE_ARRAYS = Pcm3T1C._STATE_ARRAYS + ("P_inst",)     # the switches move the instances between rows


class Pcm4KPairs(KPairs, Pcm4):
    """'4pcm-kpairs': one upper PCM pair and k lower PCM pairs per synapse, one lower pair connected (module
    docstring)."""

    RING_BASE = 2
    _STATE_ARRAYS = Pcm4._STATE_ARRAYS + ("P_inst",)
