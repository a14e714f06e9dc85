"""2PCM+3T1C synapse (netlists/synapse.lib); the crossbar generator is tested in tests/validation/test_netlists.py.

Physics checked with the real ngspice (Ambrogio et al., Nature 558, 60-67 (2018)):

* DC read (.op, row at V_read = 0.1 V, columns at 0 V): I(colp) - I(coln) of the synapse equals
  V_read * W, W = F*(G+ - G-) + pol*(g - g_shared), where G+, G-, g, g_shared come from the four
  devices each read ALONE (own source, same bias), within 1 %, for pol = +1 and pol = -1;
"""

from __future__ import annotations

import numpy as np

from pycosim.spice import run_many

VREAD = 0.1       # V, row read voltage (columns at 0 V) -- the design point of synapse.lib
F = 3.0
VREF_GATE = 0.5   # V, gate voltage of the shared reference FET

# (xcp, xcm, vc0) per synapse: positive, negative and mixed-sign weights
STATES = np.array([
    [0.8, 0.2, 0.65],
    [0.1, 0.7, 0.40],
    [0.5, 0.3, 0.35],
    [0.3, 0.6, 0.75],
])


def _synapse_deck(states: np.ndarray, pol: int, head: str) -> str:
    lines = [head.format(title=f"synapse DC read, pol={pol}")]
    lines += [
        f"vrow{k} row{k} 0 {VREAD}\nvcp{k} colp{k} 0 0\nvcn{k} coln{k} 0 0\n"
        f"xs{k} row{k} colp{k} coln{k} upb dn vp vn vdd 0 synapse F={F} xcp={xp} xcm={xm} vc0={vc} "
        f"vref={VREF_GATE} pol={pol} mc=0"
        for k, (xp, xm, vc) in enumerate(states)
    ]
    return "\n".join(lines) + "\n.op\n.end\n"


def test_synapse_dc_read_matches_devices_alone(synapse_decks):
    n = len(STATES)
    dev, pos, neg = run_many([dict(netlist=synapse_decks.devices_deck(STATES)),
                              dict(netlist=_synapse_deck(STATES, +1, synapse_decks.HEAD)),
                              dict(netlist=_synapse_deck(STATES, -1, synapse_decks.HEAD))], workers=2)
    gp, gm, g, gsh = synapse_decks.device_conductances(dev, n)
    print(f"device reads at V_read = {VREAD} V: G+ = {np.round(gp*1e6, 3)} uS, G- = {np.round(gm*1e6, 3)} uS, "
          f"g = {np.round(g*1e6, 3)} uS, g_shared = {gsh*1e6:.3f} uS")
    assert np.all(gp > 0) and np.all(gm > 0) and np.all(g > 0) and gsh > 0
    for pol, res in ((+1, pos), (-1, neg)):
        ip = np.array([res.i(f"vcp{k}")[0] for k in range(n)])   # current the synapse drives into colp
        im = np.array([res.i(f"vcn{k}")[0] for k in range(n)])
        w_spice = (ip - im) / VREAD
        w_dev = F * (gp - gm) + pol * (g - gsh)                   # W = F(G+ - G-) + pol(g - g_shared)
        rel = (w_spice - w_dev) / np.abs(w_dev)
        print(f"pol={pol:+d}: W_spice = {np.round(w_spice*1e6, 4)} uS, W_devices = {np.round(w_dev*1e6, 4)} uS, "
              f"max |error| = {np.abs(rel).max()*100:.2e} %")
        assert np.abs(rel).max() < 0.01
        # the individual column currents follow the steering equations too
        ip_exp = F * gp * VREAD + np.where(pol > 0, g, gsh) * VREAD
        im_exp = F * gm * VREAD + np.where(pol > 0, gsh, g) * VREAD
        np.testing.assert_allclose(ip, ip_exp, rtol=0.01)
        np.testing.assert_allclose(im, im_exp, rtol=0.01)
