"""The SPICE netlists of ``pycosim validate`` (issue 11), by concern:

* :mod:`~pycosim.validation.netlists.levels` — the circuit levels, read from the benches' ``.param`` lines;
* :mod:`~pycosim.validation.netlists.library` — library surgery: ``<cell>_fx`` cells with their Monte Carlo
  draws as parameters, the read-only PCM;
* :mod:`~pycosim.validation.netlists.probes` — read back the draws of a bench instance;
* :mod:`~pycosim.validation.netlists.instance_set` — :class:`CrossbarInstances`, the devices of a crossbar;
* :mod:`~pycosim.validation.netlists.crossbar` — crossbar reads with line integrators;
* :mod:`~pycosim.validation.netlists.sequences` — 3T1C cell and PCM programming sequences;
* :mod:`~pycosim.validation.netlists.common` — number text, instance lines, waveforms.
"""

from pycosim.validation.netlists.crossbar import write_crossbar, write_read_sequence
from pycosim.validation.netlists.instance_set import PCM_C2C_DRAWS, CrossbarInstances
from pycosim.validation.netlists.levels import bench_params, lsp_levels, pcm_pulses
from pycosim.validation.netlists.library import FX_CELLS, fixed_draw_library
from pycosim.validation.netlists.probes import probe_netlist, probe_values
from pycosim.validation.netlists.sequences import PCM_NONE, PCM_RESET, PCM_SET, write_cell_sequence, write_pcm_program

__all__ = ["write_crossbar", "write_read_sequence", "CrossbarInstances", "PCM_C2C_DRAWS", "bench_params", "lsp_levels",
           "pcm_pulses", "FX_CELLS", "fixed_draw_library", "probe_netlist", "probe_values", "PCM_NONE", "PCM_SET",
           "PCM_RESET", "write_cell_sequence", "write_pcm_program"]
