"""Instance sets: an R×C crossbar's device states and every device's Monte Carlo values, as the netlist
writers of :mod:`pycosim.validation.netlists` take them (issue 11)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pycosim.validation.netlists.library import fixed_draw_library

PCM_C2C_DRAWS = 24   # cycle-to-cycle draws per PCM device (netlists/pcm.lib: zc0 … zc23, event n uses zc(n mod 24))


@dataclass(frozen=True)
class CrossbarInstances:
    """An R×C crossbar of 2PCM+3T1C synapses: device states and every device's Monte Carlo values.

    Attributes (SI units):
        xc: (2, R, C) crystalline fraction of the G⁺ (index 0) and G⁻ (1) PCM devices (-).
        age_s: (2, R, C) drift clock of each PCM device at t = 0 (s).
        pcm: ``pcm_dev_fx`` parameter name → (2, R, C) values (G_c, G_a, z of the drift exponents, r_th, k_g, G_b, zc0 … zc23).
        vc: (R, C) 3T1C capacitor voltages (V).
        cell: ``lsp_3t1c_fx`` parameter name → (R, C) values (read FET, pull-up, pull-down draws).
        ref: ``lsp_ref_fx`` parameter name → (C,) values: the reference FET of column j (every row's
            reference of that column is this device).
        pol: (C,) polarity ±1 of the 3T1C pair of each column.
    """

    xc: np.ndarray
    age_s: np.ndarray
    pcm: dict
    vc: np.ndarray
    cell: dict
    ref: dict
    pol: np.ndarray

    def __post_init__(self):
        r, c = np.shape(self.vc)
        _, names = fixed_draw_library()
        checks = [("xc", self.xc, (2, r, c)), ("age_s", self.age_s, (2, r, c)), ("pol", self.pol, (c,))]
        checks += [(f"pcm[{n}]", self.pcm.get(n), (2, r, c)) for n in names["pcm_dev"]]
        checks += [(f"cell[{n}]", self.cell.get(n), (r, c)) for n in names["lsp_3t1c"]]
        checks += [(f"ref[{n}]", self.ref.get(n), (c,)) for n in names["lsp_ref"]]
        for what, a, shape in checks:
            if a is None or np.shape(a) != shape:
                raise ValueError(f"CrossbarInstances.{what}: expected shape {shape}, got "
                                 f"{'nothing' if a is None else np.shape(a)}")
        if not np.all(np.isin(self.pol, (1, -1))):
            raise ValueError("CrossbarInstances.pol must be ±1")

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(np.shape(self.vc))

