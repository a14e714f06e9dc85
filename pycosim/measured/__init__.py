"""Measured device data → calibration bundle ("bring your own device").

Owns the CSV formats of measured pulse responses, drift and read noise (:mod:`pycosim.measured.csvdata`:
reading and validation, one-line errors naming file, line and problem), the construction of a bundle
of the ordinary schema from them (:mod:`pycosim.measured.build`: the PCM pair's role ``msp`` or the
lower-significance role ``lsp``; what the data do not give comes from a base bundle and is marked as
such), the figures of the per-device fits, and the export of a bundle's own SPICE pulse responses in
the same CSV format (the round trip). It reuses the extraction functions of
:mod:`pycosim.characterize.pcm` (one piece of code per idea) and never runs SPICE.
"""

from pycosim.measured.build import DataWarning, calibrate_data, export_pulses

__all__ = ["calibrate_data", "export_pulses", "DataWarning"]
