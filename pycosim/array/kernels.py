"""Fused per-cell kernels of the update hot path (numba), the single implementation the crossbar uses.

Why numba: an update of a 784×250 '2pcm+3t1c' layer touches ~10³–10⁴ cells (realistic MNIST δ, lr 0.1);
in NumPy each of the ~90 array operations of the per-cell chain (pulse closed form, two table
interpolations, g(V_C), weight and noise-density updates, counters) costs a few µs of call overhead on
arrays of that size, ≈ 0.5 ms per update in total, which alone exceeds the 2× budget against a float32
SGD step (benchmarks/array_ops.py). The kernels call the device laws themselves
(:func:`pycosim.devices.lsp.step_cell`, :func:`pycosim.devices.lerp_row`), so each law is written once; the
kernels only fuse them with the array's bookkeeping (W, Wf, S, counters) in one pass over the touched cells. Random numbers are drawn by the
caller's numpy Generator and passed in (drawing them inside numba from the Generator measured slower:
≈ 14 µs of dispatch per call plus a slower per-draw path), so runs stay reproducible from the seed.
"""

from __future__ import annotations

import numpy as np
from numba import njit, uint64

from pycosim.devices import lerp_row
from pycosim.devices.lsp import step_cell


@njit(cache=True, fastmath=True, error_model="numpy", inline="always")
def _set_cell(f, col, vn, V, g, W, Wf, kg, S, V_inst, pol, g_tab, g_n, g_x0, g_inv, g_top, scale, var_tab,
              use_f, use_s):
    """Cell f (column col) to V_C = vn: g' = g_k(vn) (:func:`pycosim.devices.lerp_row` on row k of the g
    table), W += scale·pol_j·(g' − g), Wf += that·κ_j (use_f), S += var_k(vn) − var_k(V) (use_s)."""
    fu = uint64(f)                        # unsigned indices: no wrap-around checks
    cu = uint64(col)
    gb = uint64(V_inst[fu]) * uint64(g_n)
    gn = lerp_row(vn, g_tab, gb, g_x0, g_inv, g_top)
    dw = scale * pol[cu] * (gn - g[fu])
    W[fu] += dw
    if use_f:
        Wf[fu] += dw * kg[cu]
    if use_s:
        S[fu] += lerp_row(vn, var_tab, gb, g_x0, g_inv, g_top) - lerp_row(V[fu], var_tab, gb, g_x0, g_inv, g_top)
    V[fu] = vn
    g[fu] = gn


@njit(cache=True, fastmath=True, error_model="numpy", inline="always")
def _cells_loop(flat, cols, vnew, V, g, W, Wf, kg, S, V_inst, pol, g_tab, g_n, g_x0, g_inv, g_top, scale, var_tab,
                use_f, use_s):
    for t in range(flat.shape[0]):
        _set_cell(flat[t], cols[t], vnew[t], V, g, W, Wf, kg, S, V_inst, pol, g_tab, g_n, g_x0, g_inv, g_top, scale,
                  var_tab, use_f, use_s)


@njit(cache=True, fastmath=True, error_model="numpy")
def _cells_pass(flat, cols, vnew, V, g, W, Wf, kg, S, V_inst, pol, g_tab, g_n, g_x0, g_inv, g_top, scale, var_tab):
    """:func:`_set_cell` of cells flat[t] (column cols[t]) to V_C = vnew[t]; Wf and S are updated when
    non-empty. One loop per combination, so that the choice is a compile-time constant inside the loop
    (a run-time flag there measured 5× slower)."""
    if Wf.shape[0] > 0:
        if var_tab.shape[0] > 0:
            _cells_loop(flat, cols, vnew, V, g, W, Wf, kg, S, V_inst, pol, g_tab, g_n, g_x0, g_inv, g_top, scale, var_tab,
                        True, True)
        else:
            _cells_loop(flat, cols, vnew, V, g, W, Wf, kg, S, V_inst, pol, g_tab, g_n, g_x0, g_inv, g_top, scale, var_tab,
                        True, False)
    elif var_tab.shape[0] > 0:
        _cells_loop(flat, cols, vnew, V, g, W, Wf, kg, S, V_inst, pol, g_tab, g_n, g_x0, g_inv, g_top, scale, var_tab,
                        False, True)
    else:
        _cells_loop(flat, cols, vnew, V, g, W, Wf, kg, S, V_inst, pol, g_tab, g_n, g_x0, g_inv, g_top, scale, var_tab,
                        False, False)


@njit(cache=True, fastmath=True, error_model="numpy")
def lsp_update(flat, n, V, g, W, Wf, kg, S, V_inst, pol, n_out, n_inst,
               step_tab, step_n, step_x0, step_inv, g_tab, g_n, g_x0, g_inv, v_min, v_max,
               sig_up, sig_dn, z, scale, var_tab, leak_seg):
    """Apply signed pulse counts n (weight direction; × pol_j gives up/down) to the 3T1C cells at flat
    indices (ascending): V' = clip(:func:`pycosim.devices.lsp.step_cell`(V, |n|) + σ·√|n|·z, v_min, v_max) (the
    law of :func:`pycosim.devices.lsp.step_signed`), then :func:`_set_cell` (g, W, Wf when non-empty, S when
    var_tab is non-empty, var_k(V) = scale²·t_bench·(rel(V)·g_k(V))² tabulated on the g grid). z: one N(0, 1)
    per cell for the c2c term (empty: no c2c). Marks the cells' leakage segment stale (leak_seg = −1) when
    leak_seg is non-empty. Returns (up pulses, down pulses).

    Two passes (new V_C of every cell, then g, W, S): each pass keeps a short dependency chain per cell, so
    the CPU overlaps more cells (measured 1.8× faster than one fused pass, benchmarks/array_ops.py)."""
    up_tot = 0
    dn_tot = 0
    m = flat.shape[0]
    use_z = z.shape[0] > 0
    use_seg = leak_seg.shape[0] > 0
    s_top = np.float32(step_n - 1) * np.float32(1 - 1e-6)
    g_top = np.float32(g_n - 1) * np.float32(1 - 1e-6)
    vnew = np.empty(m, np.float32)
    rb = np.int64(0)      # first synapse of the current row: columns without a division for ascending flat
    cols = np.empty(m, np.int64)
    for t in range(m):
        fi = flat[t]
        if fi < rb or fi >= rb + n_out:
            rb = (fi // n_out) * n_out
        cols[t] = fi - rb
        f = uint64(fi)
        s = n[t]
        if pol[uint64(cols[t])] < 0:
            s = -s
        k = uint64(V_inst[f])
        if s > 0:
            row = k
            sig = sig_up
            up_tot += s
        else:
            row = k + uint64(n_inst)
            s = -s
            sig = sig_dn
            dn_tot += s
        nf = np.float32(s)
        vn = step_cell(V[f], nf, step_tab, row * uint64(step_n), step_x0, step_inv, s_top)
        if use_z:
            vn += sig * np.sqrt(nf) * z[t]
        vnew[t] = min(max(vn, v_min), v_max)
    _cells_pass(flat, cols, vnew, V, g, W, Wf, kg, S, V_inst, pol, g_tab, g_n, g_x0, g_inv, g_top, scale, var_tab)
    if use_seg:
        for t in range(m):
            leak_seg[flat[t]] = -1
    return up_tot, dn_tot


@njit(cache=True, error_model="numpy", inline="always")
def _leak_loop(V, g, W, Wf, kg, S, V_inst, pol, n_out, seg, e, a, E, A, lv, g_tab, g_n, g_x0, g_inv, scale, var_tab, v_min, v_max, moved, use_f, use_s):
    n_seg = lv.shape[0] - 1
    g_top = np.float32(g_n - 1) * np.float32(1 - 1e-6)
    m = 0
    col = 0
    for f in range(V.shape[0]):
        j = np.int64(seg[f])
        if j < 0:
            v0 = V[f]
            j = 0
            while j < n_seg - 1 and v0 >= lv[j + 1]:
                j += 1
            seg[f] = j
            idx = np.int64(V_inst[f]) * n_seg + j
            e[f] = np.float32(E[idx])
            a[f] = np.float32(A[idx])
        vn = V[f] * e[f] + a[f]
        if (j > 0 and vn < lv[j]) or (j < n_seg - 1 and vn >= lv[j + 1]):
            moved[m] = f
            m += 1
        else:
            _set_cell(f, col, min(max(vn, v_min), v_max), V, g, W, Wf, kg, S, V_inst, pol, g_tab, g_n, g_x0,
                      g_inv, g_top, scale, var_tab, use_f, use_s)
        col += 1
        if col == n_out:
            col = 0
    return m


@njit(cache=True, error_model="numpy")
def lsp_leak(V, g, W, Wf, kg, S, V_inst, pol, n_out, seg, e, a, E, A, lv, g_tab, g_n, g_x0, g_inv, scale, var_tab, v_min, v_max, moved):
    """One leakage step of every 3T1C cell (the closed form of :func:`pycosim.devices.lsp.leak` for a cell
    that stays in its rate segment j): V' = e·V + a, e = E_kj, a = A_kj (:func:`pycosim.devices.lsp.leak_tables`
    for this dt), then :func:`_set_cell`. seg: each cell's cached segment (int16; −1 = stale: found again,
    lv[j] ≤ V < lv[j+1] with the end segments open, and its e, a taken from E, A (flattened (n_inst, n_seg)
    float64)). A cell whose V' leaves its segment is left unchanged and listed in moved (the caller applies
    the exact crossing solution); returns how many. All arrays flattened (n_in·n_out,)."""
    if Wf.shape[0] > 0:
        if var_tab.shape[0] > 0:
            return _leak_loop(V, g, W, Wf, kg, S, V_inst, pol, n_out, seg, e, a, E, A, lv, g_tab, g_n, g_x0, g_inv, scale, var_tab, v_min, v_max, moved, True, True)
        return _leak_loop(V, g, W, Wf, kg, S, V_inst, pol, n_out, seg, e, a, E, A, lv, g_tab, g_n, g_x0, g_inv, scale, var_tab, v_min, v_max, moved, True, False)
    if var_tab.shape[0] > 0:
        return _leak_loop(V, g, W, Wf, kg, S, V_inst, pol, n_out, seg, e, a, E, A, lv, g_tab, g_n, g_x0, g_inv, scale, var_tab, v_min, v_max, moved, False, True)
    return _leak_loop(V, g, W, Wf, kg, S, V_inst, pol, n_out, seg, e, a, E, A, lv, g_tab, g_n, g_x0, g_inv, scale, var_tab, v_min, v_max, moved, False, False)


@njit(cache=True, error_model="numpy")
def lsp_set_cells(flat, vnew, V, g, W, Wf, kg, S, V_inst, pol, n_out, g_tab, g_n, g_x0, g_inv, scale, var_tab):
    """:func:`_set_cell` of the cells at flat indices to V_C = vnew (float32)."""
    g_top = np.float32(g_n - 1) * np.float32(1 - 1e-6)
    _cells_pass(flat, flat % n_out, vnew, V, g, W, Wf, kg, S, V_inst, pol, g_tab, g_n, g_x0, g_inv, g_top, scale,
                var_tab)


@njit(cache=True, inline="always")
def _popcount(v):
    """Set bits of a uint64 (SWAR)."""
    v = v - ((v >> uint64(1)) & uint64(0x5555555555555555))
    v = (v & uint64(0x3333333333333333)) + ((v >> uint64(2)) & uint64(0x3333333333333333))
    v = (v + (v >> uint64(4))) & uint64(0x0F0F0F0F0F0F0F0F)
    return (v * uint64(0x0101010101010101)) >> uint64(56)


@njit(cache=True, inline="always")
def _fire_mask(u, p, bl):
    """The BL-bit firing mask of one row or column: bit b set when its slot uniform u[b] < p."""
    mk = uint64(0)
    for b in range(bl):
        if u[b] < p:
            mk |= uint64(1) << uint64(b)
    return mk


@njit(cache=True)
def trains_counts(x, d, rows, cols, k, u_r, u_c, n_out, ws, out_flat, out_n, gamma=0.5):
    """Coincidences of stochastic pulse trains (the 'trains' update, :meth:`AnalogCrossbar._counts`).

    rows, cols: ascending indices with x_i ≠ 0 and δ_j ≠ 0; k = lr/(Δw_pulse·BL). Probabilities
    p_i = min(1, |x_i|·s_x), q_j = min(1, |δ_j|·s_δ) with s_x·s_δ = k, split by gamma (γ, the
    ArrayConfig's update.trains_split): with P = k·max|x|·max|δ|, s_δ·max|δ| = min(1, P^γ) and
    s_x·max|x| = P/min(1, P^γ); γ = 0.5 is the balanced s_x/s_δ = max|δ|/max|x| (computed as before). In slot b column j fires if u_c[b, j] < q_j and row i if u_r[i, b] < p_i (u ~ U[0, 1),
    drawn by the caller's Generator); every coincidence adds −sign(x_i)·sign(δ_j) to the count of synapse
    rows[i]·n_out + cols[j], so n_ij = −sign(x_i)·sign(δ_j)·popcount(r_i ∧ c_j) with r_i, c_j the BL-bit
    firing masks of row i and column j. Writes the touched synapses and their signed counts to
    out_flat/out_n in ascending synapse index (so that the update pass walks memory in order); returns how
    many. BL ≤ 64 uses the masks (one AND and popcount per row × column pair); longer trains accumulate
    the coincidences slot by slot in ws, an int32 work array of n_in·n_out zeros (left zeroed)."""
    bl = u_r.shape[1]
    nr = rows.shape[0]
    nc = cols.shape[0]
    mx = np.float32(0)
    for i in range(nr):
        mx = max(mx, abs(x[rows[i]]))
    md = np.float32(0)
    for j in range(nc):
        md = max(md, abs(d[cols[j]]))
    if gamma == 0.5:
        sx = np.float32(np.sqrt(k * md / mx))
        sd = np.float32(np.sqrt(k * mx / md))
    else:
        pq = np.float64(k) * mx * md                       # P = p_max·q_max: desired largest count / BL
        qm = min(1.0, pq ** gamma)
        sd = np.float32(qm / md)
        sx = np.float32(pq / qm / mx)
    if bl <= 64:
        cmask = np.empty(nc, np.uint64)
        ccol = np.empty(nc, np.int64)
        csgn = np.empty(nc, np.int32)
        na = 0
        for j in range(nc):
            v = d[cols[j]]
            mk = _fire_mask(u_c[:, j], abs(v) * sd, bl)
            if mk != uint64(0):
                cmask[na] = mk
                ccol[na] = cols[j]
                csgn[na] = -1 if v > 0 else 1
                na += 1
        m = 0
        for i in range(nr):
            v = x[rows[i]]
            rk = _fire_mask(u_r[i], abs(v) * sx, bl)
            if rk == uint64(0):
                continue
            si = 1 if v > 0 else -1
            base = rows[i] * n_out
            for q in range(na):
                c = _popcount(rk & cmask[q])
                if c != uint64(0):
                    out_flat[m] = base + ccol[q]
                    out_n[m] = np.int32(c) * (si * csgn[q])
                    m += 1
        return m
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


@njit(cache=True, fastmath=True, error_model="numpy", inline="always")
def _pwm(v, levels):
    """Signed PWM encoding of one activation: x̂ = sign(x)·round(min(|x|, 1)·L)/L, L = 2^bits − 1 read-pulse
    levels (L = 0: clip only) — the pulse-width input of Ambrogio et al. (2018), Methods."""
    one = np.float32(1)
    v = min(max(v, -one), one)
    if levels > 0:
        v = np.float32(np.rint(v * levels)) / levels
    return v


@njit(cache=True, fastmath=True, error_model="numpy")
def adc_convert(y, a, off, noise_V, z, bits, v_lo, v_hi, inv_lsb, levels, lsb_over_a, y0, off_nom, inv_a_nom):
    """Line sums y (network units) → digitised result in place (:meth:`ReadChannel.convert`):
    V = clip(off + a·y + σ_out·z, V_lo, V_hi); with an ADC (bits > 0) ŷ = clip(rint((V − V_lo)/LSB), 0, L)·LSB/a_nom
    + (V_lo − V_off,nom)/a_nom, without ŷ = (V − V_off,nom)/a_nom. z: one N(0, 1) per line (empty: no noise)."""
    use_z = z.shape[0] > 0
    zero = np.float32(0)
    for j in range(y.shape[0]):
        v = off[j] + a[j] * y[j]
        if use_z:
            v += noise_V * z[j]
        if bits > 0:
            c = np.float32(np.rint((v - v_lo) * inv_lsb))
            c = min(max(c, zero), levels)
            y[j] = c * lsb_over_a + y0
        else:
            v = min(max(v, v_lo), v_hi)
            y[j] = (v - off_nom) * inv_a_nom
    return y


@njit(cache=True, fastmath=True, error_model="numpy")
def read_rows(x, levels, W, S, square, kappa, z, y, var, ks):
    """Forward read of a crossbar: x̂ = PWM(x) (see _pwm), y_j = Σ_i x̂_i·W_ij over driven rows (x̂_i ≠ 0) and,
    when S is non-empty, y_j += √(κ·Σ_i w(x̂_i)·S_ij)·z_j with w = x̂² (square, 1/f law) or |x̂| (white law)
    (read-noise model of :meth:`Crossbar.noise_factor`), × ks_j when ks is non-empty (the line's
    integrator-lag gain, which scales the device noise current as it scales the signal). x: (n_in,), W, S:
    (n_in, n_out) float32; y, var, ks: (n_out,) float32 (var a work array), y holds the result."""
    use_s = S.shape[0] > 0
    n_out = W.shape[1]
    for j in range(n_out):
        y[j] = 0
        var[j] = 0
    for i in range(x.shape[0]):
        xi = _pwm(x[i], levels)
        if xi == 0:
            continue
        wr = W[i]
        for j in range(n_out):
            y[j] += xi * wr[j]
        if use_s:
            wi = xi * xi if square else abs(xi)
            sr = S[i]
            for j in range(n_out):
                var[j] += wi * sr[j]
    if use_s:
        use_k = ks.shape[0] > 0
        for j in range(n_out):
            e = np.sqrt(max(var[j], np.float32(0)) * kappa) * z[j]
            y[j] += e * ks[j] if use_k else e
    return y


@njit(cache=True, fastmath=True, error_model="numpy")
def read_cols(d, levels, W, S, square, kappa, z, y):
    """Transposed read: d̂ = PWM(d) (see _pwm), y_i = Σ_j W_ij·d̂_j (+ √(κ·Σ_j w(d̂_j)·S_ij)·z_i when S is
    non-empty, w as in :func:`read_rows`). d: (n_out,), y: (n_in,) float32 result."""
    use_s = S.shape[0] > 0
    n_out = W.shape[1]
    dq = np.empty(n_out, np.float32)
    wq = np.empty(n_out, np.float32)
    for j in range(n_out):
        v = _pwm(d[j], levels)
        dq[j] = v
        wq[j] = v * v if square else abs(v)
    for i in range(W.shape[0]):
        wr = W[i]
        acc = np.float32(0)
        for j in range(n_out):
            acc += wr[j] * dq[j]
        if use_s:
            sr = S[i]
            va = np.float32(0)
            for j in range(n_out):
                va += sr[j] * wq[j]
            acc += np.sqrt(max(va, np.float32(0)) * kappa) * z[i]
        y[i] = acc
    return y


@njit(cache=True, fastmath=True, error_model="numpy")
def read_forward(x, levels, W, S, square, kappa, z, ks, comp, y, var, a, off, noise_V, bits, v_lo, v_hi, inv_lsb,
                 adc_levels, lsb_over_a, y0, off_nom, inv_a_nom, qw, qout):
    """A whole forward read in one call: :func:`read_rows` (device read noise from z[:n_out] when S is
    non-empty, line gains ks when non-empty), :func:`adc_convert` (integrator output noise from the next
    n_out of z when noise_V > 0; a … inv_a_nom: :attr:`pycosim.array.periphery.ReadChannel.kernel_args`), then
    the digital lag compensation y_j ×= comp_j when comp is non-empty. When qw (n_in,) is non-empty, qout[0] =
    Σ_i |x̂_i|·qw_i (float64): the read's line charge with qw_i the charge of a full-width pulse on row i
    (:meth:`pycosim.array.schemes.analog.AnalogCrossbar._refresh_line_q`). Returns y (n_out,) float32."""
    if qw.shape[0] > 0:
        q = 0.0
        for i in range(x.shape[0]):
            q += abs(_pwm(x[i], levels)) * qw[i]
        qout[0] = q
    n = y.shape[0]
    kd = n if S.shape[0] > 0 else 0
    read_rows(x, levels, W, S, square, kappa, z[:kd], y, var, ks)
    adc_convert(y, a, off, noise_V, z[kd:kd + n] if noise_V > 0 else z[:0], bits, v_lo, v_hi, inv_lsb, adc_levels,
                lsb_over_a, y0, off_nom, inv_a_nom)
    if comp.shape[0] > 0:
        for j in range(n):
            y[j] *= comp[j]
    return y


@njit(cache=True, fastmath=True, error_model="numpy")
def read_backward(d, normalize, levels, W, S, square, kappa, z, kr, comp, y, a, off, noise_V, bits, v_lo, v_hi,
                  inv_lsb, adc_levels, lsb_over_a, y0, off_nom, inv_a_nom, qw, qout):
    """A whole transposed read in one call: m = max|δ| (normalize; else 1; 1 when δ = 0), :func:`read_cols`
    of δ/m (device read noise from z[:n_in] when S is non-empty), the row gains y_i ×= kr_i when kr is
    non-empty, :func:`adc_convert` (output noise from the next n_in of z), y_i ×= comp_i when comp is
    non-empty, then y ×= m. When qw (n_out,) is non-empty, qout[0] = Σ_j |PWM(δ_j/m)|·qw_j (float64), the
    read's line charge as in :func:`read_forward`. Returns y (n_in,) float32."""
    n = y.shape[0]
    m = np.float32(1)
    if normalize:
        m = np.float32(0)
        for j in range(d.shape[0]):
            m = max(m, abs(d[j]))
        if m == 0:
            m = np.float32(1)
    dn = np.empty(d.shape[0], np.float32)
    inv_m = np.float32(1) / m
    for j in range(d.shape[0]):
        dn[j] = d[j] * inv_m
    if qw.shape[0] > 0:
        q = 0.0
        for j in range(d.shape[0]):
            q += abs(_pwm(dn[j], levels)) * qw[j]
        qout[0] = q
    kd = n if S.shape[0] > 0 else 0
    read_cols(dn, levels, W, S, square, kappa, z[:kd], y)
    if kr.shape[0] > 0:
        for i in range(n):
            y[i] *= kr[i]
    adc_convert(y, a, off, noise_V, z[kd:kd + n] if noise_V > 0 else z[:0], bits, v_lo, v_hi, inv_lsb, adc_levels,
                lsb_over_a, y0, off_nom, inv_a_nom)
    if comp.shape[0] > 0:
        for i in range(n):
            y[i] *= comp[i]
    for i in range(n):
        y[i] *= m
    return y


@njit(cache=True)
def _nonzero(a):
    """Ascending indices i with a[i] ≠ 0 (int64), as np.flatnonzero."""
    out = np.empty(a.shape[0], np.int64)
    m = 0
    for i in range(a.shape[0]):
        if a[i] != 0:
            out[m] = i
            m += 1
    return out[:m]


@njit(cache=True)
def lsp_trains_update(x, d, k, bl, ubuf, upos, ws, out_flat, out_n, zbuf, zpos, use_z,
                      V, g, W, Wf, kg, S, V_inst, pol, n_out, n_inst,
                      step_tab, step_n, step_x0, step_inv, g_tab, g_n, g_x0, g_inv, v_min, v_max,
                      sig_up, sig_dn, scale, var_tab, leak_seg, gamma=0.5):
    """One 'trains' update of a '2pcm+3t1c' layer in a single call: the driven rows (x_i ≠ 0) and columns
    (δ_j ≠ 0), their slot uniforms taken in order from ubuf at upos (rows·BL, then BL·columns, as
    :meth:`Crossbar._counts` takes them), the coincidences of :func:`trains_counts`, then
    :func:`lsp_update` on the touched cells with the c2c normals taken from zbuf at zpos (if use_z). The
    caller guarantees room in both buffers (n_in·BL + BL·n_out uniforms, n_in·n_out normals).
    Returns (up pulses, down pulses, new upos, new zpos)."""
    rows = _nonzero(x)
    cols = _nonzero(d)
    nr, nc = rows.shape[0], cols.shape[0]
    if nr == 0 or nc == 0:
        return 0, 0, upos, zpos
    u_r = ubuf[upos:upos + nr * bl].reshape((nr, bl))
    upos += nr * bl
    u_c = ubuf[upos:upos + bl * nc].reshape((bl, nc))
    upos += bl * nc
    m = trains_counts(x, d, rows, cols, k, u_r, u_c, n_out, ws, out_flat, out_n, gamma)
    if use_z:
        z = zbuf[zpos:zpos + m]
        zpos += m
    else:
        z = zbuf[:0]
    up, dn = lsp_update(out_flat[:m], out_n[:m], V, g, W, Wf, kg, S, V_inst, pol, n_out, n_inst,
                        step_tab, step_n, step_x0, step_inv, g_tab, g_n, g_x0, g_inv, v_min, v_max,
                        sig_up, sig_dn, z, scale, var_tab, leak_seg)
    return up, dn, upos, zpos


# ---------------------------------------------------------------------------------------------- normal deviates
def _ziggurat_tables(n: int = 128, m: float = 2.0 ** 24) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Layer tables (k, w, f) of the 128-layer ziggurat for N(0, 1) (Marsaglia & Tsang, J. Stat. Softw. 5(8),
    2000, 'RNOR'), scaled to 25-bit signed draws (|h| < 2^24): a draw h in layer i is accepted at once when
    |h| < k_i, giving x = h·w_i; f_i = exp(−x_i²/2) at the layer edges x_i. r = 3.442619855899 is the
    base-strip edge, v = 9.91256303526217e-3 the common layer area."""
    dn = 3.442619855899
    tn, vn = dn, 9.91256303526217e-3
    k, w, f = np.zeros(n), np.zeros(n), np.zeros(n)
    q = vn / np.exp(-0.5 * dn * dn)
    k[0], k[1] = dn / q * m, 0.0
    w[0], w[n - 1] = q / m, dn / m
    f[0], f[n - 1] = 1.0, np.exp(-0.5 * dn * dn)
    for i in range(n - 2, 0, -1):
        dn = np.sqrt(-2.0 * np.log(vn / dn + np.exp(-0.5 * dn * dn)))
        k[i + 1] = dn / tn * m
        tn = dn
        f[i] = np.exp(-0.5 * dn * dn)
        w[i] = dn / m
    return k, w, f


ZIG_K, ZIG_W, ZIG_F = _ziggurat_tables()
# integer thresholds ⌊k_i⌋: a draw at |h| = ⌊k_i⌋ takes the slow path, whose wedge test accepts it (exact)
ZIG_K = np.floor(ZIG_K).astype(np.int64)
ZIG_R = 3.442619855899


@njit(cache=True, inline="always")
def _unit(u):
    """A 32-bit word → U(0, 1), never 0 or 1: (u + ½)·2⁻³²."""
    return (np.float64(u) + 0.5) * 2.3283064365386963e-10


@njit(cache=True)
def fill_normals(words, out, zk, zw, zf):
    """Fill out (float32) with N(0, 1) deviates from 32-bit random words (uint32, from the run's Generator:
    ``rng.bit_generator.random_raw(n).view(np.uint32)``) by the ziggurat of :func:`_ziggurat_tables`
    (Marsaglia & Tsang 2000): a word gives layer i = its 7 low bits and h = its 25 high bits − 2^24; accepted at
    once (≈ 98.8 %) when |h| < k_i, x = h·w_i; otherwise the wedge test f_i + U·(f_{i−1} − f_i) < exp(−x²/2)
    with a fresh word, or, in the base strip, Marsaglia's tail x = r + (−ln U₁)/r accepted when −2·ln U₂ ≥ x'²
    (x' = x − r). Layer and value come from disjoint bits (Doornik, 'An improved ziggurat method', 2005).
    Returns (deviates written, words used): fewer than out.size only if the words ran out (the caller then
    supplies more and continues; a deviate whose words ran out is not written)."""
    nw = words.shape[0]
    n = out.shape[0]
    p = 0
    i = 0
    while i < n:
        if p >= nw:
            return i, p
        u = words[p]
        p += 1
        iz = np.int64(u & np.uint32(127))
        hz = np.int64(u >> np.uint32(7)) - 16777216
        if abs(hz) < zk[iz]:
            out[i] = hz * zw[iz]
            i += 1
            continue
        while True:
            x = hz * zw[iz]
            if iz == 0:
                while True:
                    if p + 2 > nw:
                        return i, nw
                    xt = -np.log(_unit(words[p])) / ZIG_R
                    yt = -np.log(_unit(words[p + 1]))
                    p += 2
                    if yt + yt >= xt * xt:
                        break
                x = ZIG_R + xt if hz > 0 else -ZIG_R - xt
                break
            if p + 2 > nw:
                return i, nw
            if zf[iz] + _unit(words[p]) * (zf[iz - 1] - zf[iz]) < np.exp(-0.5 * x * x):
                p += 1
                break
            u = words[p + 1]
            p += 2
            iz = np.int64(u & np.uint32(127))
            hz = np.int64(u >> np.uint32(7)) - 16777216
            if abs(hz) < zk[iz]:
                x = hz * zw[iz]
                break
        out[i] = x
        i += 1
    return i, p


def standard_normal(rng: np.random.Generator, n: int) -> np.ndarray:
    """n N(0, 1) deviates (float32) drawn with :func:`fill_normals` from rng's bit generator: the same
    distribution as ``rng.standard_normal(n, dtype=np.float32)``, about 3× faster (the training hot path draws
    one per pulsed 3T1C cell and one per read line). Reproducible from rng's state."""
    out = np.empty(n, np.float32)
    done = 0
    while done < n:
        need = n - done
        words = rng.bit_generator.random_raw((need + need // 16 + 66) // 2).view(np.uint32)
        k, _ = fill_normals(words, out[done:], ZIG_K, ZIG_W, ZIG_F)
        done += k
    return out
