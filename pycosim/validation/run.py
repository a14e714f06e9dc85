"""One validation from start to end: set-up, SPICE runs, the experiments in order, the document."""

from __future__ import annotations

from dataclasses import dataclass

from pycosim.validation import spice_runs
from pycosim.validation.compare import Quantity
from pycosim.validation.document import document
from pycosim.validation.experiments import cell, effects, reads, transfer
from pycosim.validation.setup import Setup


@dataclass(frozen=True)
class Outcome:
    """doc: the report dict (validate.json without wall_time_s); quantities: every compared quantity, in table
    order (for the parity plots); the experiments' results."""

    doc: dict
    quantities: tuple[Quantity, ...]
    reads: reads.ReadsResult
    cell: cell.CellResult
    transfer: transfer.TransferResult
    effects: effects.Effects


def execute(s: Setup) -> Outcome:
    """Run the SPICE netlists, place the model's devices in SPICE's states, run (a) reads, (b)+(d) the 3T1C cells,
    (c) the transfer and the effects, and assemble the document."""
    sp = spice_runs.run(s)
    s.xb.set_devices(P=sp.G_1s_S, V=s.state.vc, pol=s.state.pol)
    r = reads.run(s, sp)
    c = cell.run(s, sp)
    t = transfer.run(s, sp)
    e = effects.run(s, sp, r, c)
    qs = r.quantities + c.quantities + t.quantities
    return Outcome(document(s, list(qs), t.checks, e), qs, r, c, t, e)
