"""Worker process for :mod:`pycosim.spice.pool`: runs jobs sent over a pipe.

Started as ``python -m pycosim.spice.worker``. Protocol on stdin/stdout: 8-byte big-endian
length + pickle. Request ``(netlist, params, seed, keep)``; reply ``("ok", Result)`` or
``("err", message)``. The worker's real stdout/stderr are sent to /dev/null so that nothing
ngspice prints can corrupt the protocol. A fresh interpreter (not ``fork``) is used because
forking a process that holds a loaded ngspice library can deadlock inside the library.
"""

from __future__ import annotations

import os
import pickle
import signal
import struct
import sys


def send(stream, obj) -> None:
    """Write one length-prefixed pickle to a binary stream."""
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(struct.pack(">Q", len(data)) + data)
    stream.flush()


def receive(stream):
    """Read one length-prefixed pickle; raises EOFError when the stream is closed."""
    head = stream.read(8)
    if len(head) < 8:
        raise EOFError
    (n,) = struct.unpack(">Q", head)
    data = stream.read(n)
    if len(data) < n:
        raise EOFError
    return pickle.loads(data)


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
        try:
            send(out, ("ok", execute(net, params, seed, keep)))
        except PycosimError as exc:
            send(out, ("err", str(exc)))
        except Exception as exc:  # report, never die silently
            send(out, ("err", f"{type(exc).__name__}: {exc}"))


if __name__ == "__main__":
    main()
    sys.exit(0)
