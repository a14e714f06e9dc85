"""The experiments of ``pycosim validate``, one module each, every one returning a frozen result:

* :mod:`~pycosim.validation.experiments.reads` — (a) forward and transposed reads, the initial 3T1C state;
* :mod:`~pycosim.validation.experiments.cell` — (b) one coincident update, (d) hold and transmission-gate reset;
* :mod:`~pycosim.validation.experiments.transfer` — (c) PCM drift to 1 s and one closed-loop column transfer,
  both sides driven by the shared transfer engine;
* :mod:`~pycosim.validation.experiments.effects` — physical effects measured one at a time.
"""

import numpy as np


def labels(shape, *names) -> list[str]:
    """Element labels 'row 0, column 1', … of an array of *shape* (one name per axis)."""
    return [", ".join(f"{n} {k}" for n, k in zip(names, idx)) for idx in np.ndindex(*shape)]


US, MV = 1e6, 1e3          # display scales: S → µS, V → mV
