"""A measured bidirectional device as the lower-significance pair (role ``lsp`` of ``pycosim calibrate-data``).

The 3T1C model (:mod:`pycosim.devices.lsp`) is a state-variable device: per instance k, a tabulated step
ΔX_up,k(X) and ΔX_down,k(X) per pulse on a uniform grid of the state X, a Gaussian cycle-to-cycle σ per
direction, a read conductance g_k(X), a relaxation dX/dt, a reset X ← f_k(X) and a relative read noise. A
measured device whose state *is* its conductance (an ECRAM, RRAM or other bidirectional cell seen through
its pulse responses) is the same law with

    X = G (S),   g_k(X) = X,   ΔX_up,k = ΔG_up,k(G),   ΔX_down,k = ΔG_down,k(G)   (tables lsp_data/dg_up_S, dg_down_S),
    σ_up, σ_down = lsp_data.dg_up_c2c_sigma_S, dg_down_c2c_sigma_S,   dX/dt = 0 (no retention data),
    f_k(X) = G_reset,k (lsp_data/g_reset_S: mid-range; the data give no reset error),
    read noise σ/G(G) = lsp_data/read_noise_rel_sigma on lsp_data/read_noise_g_S,

so :func:`as_3t1c` rewrites a bundle's ``lsp_data/…`` tables into the table vocabulary of the 3T1C model (the
``_V`` names then hold siemens) and :func:`population` returns the ordinary
:class:`pycosim.devices.lsp.LSPPopulation`; the fused update kernels of the array apply the law unchanged
(one piece of code per law). Per-device fits: :func:`pycosim.measured.build.lsp_tables`.
"""

from __future__ import annotations

import copy

import numpy as np

from pycosim.devices import lsp, require_scalar, require_table


def as_3t1c(bundle):
    """A shallow copy of *bundle* whose ``lsp/…`` tables and LSP model scalars describe the measured device in the
    3T1C state convention (module docstring); every other table and scalar (PCM, integrator, LSP energies and
    timing) is the bundle's own. CalibrationError naming the table if the bundle has no measured LSP device
    (make one with ``pycosim calibrate-data --role lsp``)."""
    feature = "the measured LSP device (pycosim calibrate-data --role lsp)"
    grid = require_table(bundle, "lsp_data/g_grid_S", feature)
    up = require_table(bundle, "lsp_data/dg_up_S", feature)
    dn = require_table(bundle, "lsp_data/dg_down_S", feature)
    g_reset = require_table(bundle, "lsp_data/g_reset_S", feature)
    n = up.shape[0]
    ends = np.array([grid[0], grid[-1]])
    tables = dict(bundle.tables) | {
        "lsp/vc_grid_V": grid, "lsp/g_of_vc_S": np.broadcast_to(grid, (n, grid.size)).copy(),
        "lsp/step_vc_V": grid, "lsp/dv_up_V": up, "lsp/dv_down_V": dn,
        "lsp/leak_vc_V": ends, "lsp/leak_dvdt_V_per_s": np.zeros((n, 2)),
        "lsp/reset_vstart_V": ends, "lsp/reset_vfinal_V": np.repeat(g_reset[:, None], 2, axis=1),
        "lsp/read_noise_vc_V": require_table(bundle, "lsp_data/read_noise_g_S", feature),
        "lsp/read_noise_rel_sigma": require_table(bundle, "lsp_data/read_noise_rel_sigma", feature)}
    scalars = dict(bundle.scalars)
    scalars["lsp"] = dict(bundle.scalars["lsp"]) | {
        "dv_up_c2c_sigma_V": float(require_scalar(bundle, "lsp_data", "dg_up_c2c_sigma_S", feature)),
        "dv_down_c2c_sigma_V": float(require_scalar(bundle, "lsp_data", "dg_down_c2c_sigma_S", feature)),
        "vc_init_V": float(np.mean(g_reset)),
        "read_noise_t_int_s": float(require_scalar(bundle, "lsp_data", "read_noise_t_int_s", feature))}
    view = copy.copy(bundle)
    view.tables, view.scalars = tables, scalars
    return view


def population(bundle, **kw) -> lsp.LSPPopulation:
    """The measured device's population: :func:`pycosim.devices.lsp.population` of :func:`as_3t1c` (same keyword
    arguments: c2c, reset, read_noise, d2d_scale)."""
    return lsp.population(as_3t1c(bundle), **kw)
