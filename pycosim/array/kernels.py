"""Fused per-cell kernels of the update hot path (numba), the single implementation the crossbar uses.

Why numba: an update of a 784×250 '2pcm+3t1c' layer touches ~10³–10⁴ cells (realistic MNIST δ, lr 0.1);
in NumPy each of the ~90 array operations of the per-cell chain (pulse closed form, two table
interpolations, g(V_C), weight and noise-density updates, counters) costs a few µs of call overhead on
arrays of that size, ≈ 0.5 ms per update in total, which alone exceeds the 2× budget against a float32
SGD step (benchmarks/array_ops.py). The kernel runs the same equations as
:func:`pycosim.devices.lsp.step_signed` and :func:`pycosim.devices.lsp.g_of_vc` (checked equal in
tests/array/test_kernels.py) in one pass over the touched cells. Random numbers are drawn by the
caller's numpy Generator and passed in (drawing them inside numba from the Generator measured slower:
≈ 14 µs of dispatch per call plus a slower per-draw path), so runs stay reproducible from the seed.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, inline="always")
def _interp(tab, n_g, row, x, x0, inv):
    pos = (x - x0) * inv
    top = np.float32(n_g - 1) * np.float32(1 - 1e-6)
    if pos < 0:
        pos = np.float32(0)
    elif pos > top:
        pos = top
    i0 = np.int32(pos)
    fr = pos - np.float32(i0)
    a = tab[row * n_g + i0]
    return a + (tab[row * n_g + i0 + 1] - a) * fr


@njit(cache=True)
def lsp_update(flat, n, V, g, W, S, V_inst, pol, n_out, n_inst,
               step_tab, step_n, step_x0, step_inv, g_tab, g_n, g_x0, g_inv, v_min, v_max,
               sig_up, sig_dn, z, scale, var_tab, leak_seg):
    """Apply signed pulse counts n (weight direction; × pol_j gives up/down) to the 3T1C cells at flat
    indices with the closed form of :func:`pycosim.devices.lsp.step_signed`; update V, g, W in place, and S
    when var_tab is non-empty (S += var_k(V_new) − var_k(V_old), var_k(V) = scale²·t_bench·(rel(V)·g_k(V))²
    tabulated on the g grid). z: one N(0, 1) per cell for the c2c term (empty: no c2c). Marks the cells'
    leakage segment stale (leak_seg = −1) when leak_seg is non-empty. Returns (up pulses, down pulses).
    One monolithic loop body: splitting it into a helper function measured 2–4× slower."""
    up_tot = 0
    dn_tot = 0
    use_z = z.shape[0] > 0
    use_s = var_tab.shape[0] > 0
    use_seg = leak_seg.shape[0] > 0
    for t in range(flat.shape[0]):
        f = flat[t]
        p = pol[f % n_out]
        s = n[t] * np.int32(p)
        k = V_inst[f]
        if s > 0:
            row = k
            nf = np.float32(s)
            sig = sig_up
            up_tot += s
        else:
            row = k + n_inst
            nf = np.float32(-s)
            sig = sig_dn
            dn_tot -= s
        v = V[f]
        d1 = _interp(step_tab, step_n, row, v, step_x0, step_inv)
        vm = v + np.float32(0.5) * (nf - np.float32(1)) * d1
        vn = v + nf * _interp(step_tab, step_n, row, vm, step_x0, step_inv)
        if use_z:
            vn += sig * np.sqrt(nf) * z[t]
        if vn < v_min:
            vn = v_min
        elif vn > v_max:
            vn = v_max
        gn = _interp(g_tab, g_n, k, vn, g_x0, g_inv)
        W[f] += scale * p * (gn - g[f])
        if use_s:
            S[f] += _interp(var_tab, g_n, k, vn, g_x0, g_inv) - _interp(var_tab, g_n, k, v, g_x0, g_inv)
        V[f] = vn
        g[f] = gn
        if use_seg:
            leak_seg[f] = -1
    return up_tot, dn_tot

@njit(cache=True)
def trains_counts(x, d, rows, cols, k, u_r, u_c, n_out, ws, out_flat, out_n):
    """Coincidences of stochastic pulse trains (the 'trains' update, :meth:`Crossbar.pulse_counts`).

    rows, cols: ascending indices with x_i ≠ 0 and δ_j ≠ 0; k = lr/(Δw_pulse·BL). Probabilities
    p_i = min(1, |x_i|·s_x), q_j = min(1, |δ_j|·s_δ) with s_x·s_δ = k and s_x/s_δ = max|δ|/max|x|
    (balanced). In slot b column j fires if u_c[b, j] < q_j and row i if u_r[i, b] < p_i (u ~ U[0, 1),
    drawn by the caller's Generator); every coincidence adds −sign(x_i)·sign(δ_j) to the count of synapse
    rows[i]·n_out + cols[j]. ws: int32 work array of n_in·n_out zeros (left zeroed on return). Writes the
    touched synapses and their signed counts to out_flat/out_n in ascending synapse index (a scan of the
    fired rows × fired columns, so that the update pass walks memory in order); returns how many."""
    bl = u_r.shape[1]
    nr = rows.shape[0]
    nc = cols.shape[0]
    mx = np.float32(0)
    for i in range(nr):
        mx = max(mx, abs(x[rows[i]]))
    md = np.float32(0)
    for j in range(nc):
        md = max(md, abs(d[cols[j]]))
    sx = np.float32(np.sqrt(k * md / mx))
    sd = np.float32(np.sqrt(k * mx / md))
    p_r = np.empty(nr, np.float32)
    s_r = np.empty(nr, np.int32)
    for i in range(nr):
        v = x[rows[i]]
        p_r[i] = abs(v) * sx
        s_r[i] = 1 if v > 0 else -1
    p_c = np.empty(nc, np.float32)
    s_c = np.empty(nc, np.int32)
    for j in range(nc):
        v = d[cols[j]]
        p_c[j] = abs(v) * sd
        s_c[j] = -1 if v > 0 else 1
    fire = np.empty(nc, np.int64)
    row_any = np.zeros(nr, np.bool_)
    col_any = np.zeros(nc, np.bool_)
    for b in range(bl):
        nf = 0
        for j in range(nc):
            if u_c[b, j] < p_c[j]:
                fire[nf] = j
                nf += 1
                col_any[j] = True
        if nf == 0:
            continue
        for i in range(nr):
            if u_r[i, b] < p_r[i]:
                row_any[i] = True
                base = rows[i] * n_out
                for q in range(nf):
                    j = fire[q]
                    ws[base + cols[j]] += s_r[i] * s_c[j]
    m = 0
    for i in range(nr):
        if not row_any[i]:
            continue
        base = rows[i] * n_out
        for j in range(nc):
            if col_any[j]:
                f = base + cols[j]
                c = ws[f]
                if c != 0:
                    ws[f] = 0
                    out_flat[m] = f
                    out_n[m] = c
                    m += 1
    return m
