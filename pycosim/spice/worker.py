"""Worker process for :mod:`pycosim.spice.pool`: runs jobs sent over a pipe.

Started as ``python -m pycosim.spice.worker``. Protocol on stdin/stdout: 8-byte big-endian
length + one :mod:`pycosim.statefile` (kind ``pycosim.worker``: an uncompressed ``.npz`` with a JSON
skeleton, read with ``allow_pickle=False`` — nothing received is executed, no pickle). Python side
(:func:`send`/:func:`receive`): request ``(netlist, params, seed, keep)``; reply ``("ok", Result)`` or
``("err", message)``. The worker's real stdout/stderr are sent to /dev/null so that nothing
ngspice prints can corrupt the protocol. A fresh interpreter (not ``fork``) is used because
forking a process that holds a loaded ngspice library can deadlock inside the library.
"""

from __future__ import annotations

import os
import signal
import struct
import sys

#: Statefile kind and schema version of the messages.
KIND = "pycosim.worker"
VERSION = 1


def _to_tree(obj) -> dict:
    from pycosim.spice.netlist import Netlist
    from pycosim.spice.result import Result

    if isinstance(obj, tuple) and len(obj) == 4 and isinstance(obj[0], Netlist):
        net, params, seed, keep = obj
        return {"type": "request", "netlist": {"text": net.text, "source": net.source,
                                               "files": [str(f) for f in net.files], "params": dict(net.params)},
                "params": params, "seed": seed, "keep": None if keep is None else list(keep)}
    if isinstance(obj, tuple) and len(obj) == 2 and obj[0] == "ok" and isinstance(obj[1], Result):
        r = obj[1]
        return {"type": "ok", "analysis": r.analysis, "meas": r.meas, "meta": r.meta, "analyses": r.analyses,
                "last_plot": r._last_plot()}
    if isinstance(obj, tuple) and len(obj) == 2 and obj[0] == "err":
        return {"type": "err", "message": str(obj[1])}
    raise TypeError(f"worker message: cannot send a {type(obj).__name__}")


#: Netlists received by this worker, by text (a bench's instances differ only in parameters and seed,
#: so a worker parses each bench's lines once).
_NETLISTS: dict = {}


def _from_tree(tree):
    from pathlib import Path

    from pycosim.spice.netlist import Netlist
    from pycosim.spice.result import Result

    kind = tree.get("type") if isinstance(tree, dict) else None
    if kind == "request":
        n = tree["netlist"]
        files = tuple(Path(f) for f in n["files"])
        net = _NETLISTS.get(n["text"])
        if net is None or (net.source, net.files, net.params) != (n["source"], files, n["params"]):
            net = Netlist(text=n["text"], source=n["source"], files=files, params=n["params"])
            if len(_NETLISTS) >= 64:
                _NETLISTS.clear()
            _NETLISTS[n["text"]] = net  # the same bench again: its parsed lines are reused
        keep = tree["keep"]
        return net, tree["params"], tree["seed"], None if keep is None else tuple(keep)
    if kind == "ok":
        analyses = tree["analyses"]
        return "ok", Result(analysis=tree["analysis"], vectors=analyses.get(tree["last_plot"], {}),
                            meas=tree["meas"], meta=tree["meta"], analyses=analyses)
    if kind == "err":
        return "err", tree["message"]
    raise ValueError(f"worker message of unknown type {kind!r}")


def send(stream, obj) -> None:
    """Write one length-prefixed message (a request, ``("ok", Result)`` or ``("err", text)``) to a binary
    stream. SpiceError if a request's parameters are not plain values (numbers, text, arrays)."""
    from pycosim import statefile

    try:
        data = statefile.dumps(_to_tree(obj), KIND, version=VERSION)
    except TypeError as exc:
        if isinstance(obj, tuple) and obj and obj[0] not in ("ok", "err"):
            from pycosim.errors import SpiceError

            raise SpiceError(f"{getattr(obj[0], 'source', '<netlist>')}: cannot send the job to a worker "
                             f"process ({exc})") from None
        raise
    stream.write(struct.pack(">Q", len(data)) + data)
    stream.flush()


def receive(stream):
    """Read one length-prefixed message (the inverse of :func:`send`); EOFError when the stream is closed,
    ValueError for a message that is not a valid state file of kind :data:`KIND` (never executed)."""
    from pycosim import statefile
    from pycosim.errors import ConfigError

    head = stream.read(8)
    if len(head) < 8:
        raise EOFError
    (n,) = struct.unpack(">Q", head)
    data = stream.read(n)
    if len(data) < n:
        raise EOFError
    try:
        tree = statefile.loads(data, KIND, version=VERSION, name="worker message")
        return _from_tree(tree)
    except ConfigError as exc:
        raise ValueError(str(exc)) from None
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"worker message: {type(exc).__name__}: {exc}") from None


def main() -> None:
    out = os.fdopen(os.dup(1), "wb")
    inp = os.fdopen(os.dup(0), "rb")
    # Ctrl-C in a terminal reaches the whole process group: the parent decides (it kills its
    # workers), a worker must not die half-way through a reply
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):  # ngspice must neither read the protocol nor write into it
        os.dup2(null, fd)
    from pycosim.errors import PycosimError
    from pycosim.spice.engine import execute

    while True:
        try:
            net, params, seed, keep = receive(inp)
        except EOFError:
            return
        except ValueError as exc:   # an undecodable request: answer it, keep serving
            send(out, ("err", f"{type(exc).__name__}: {exc}"))
            continue
        try:
            send(out, ("ok", execute(net, params, seed, keep)))
        except PycosimError as exc:
            send(out, ("err", str(exc)))
        except Exception as exc:  # report, never die silently
            send(out, ("err", f"{type(exc).__name__}: {exc}"))


if __name__ == "__main__":
    main()
    sys.exit(0)
