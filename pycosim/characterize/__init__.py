"""Characterisation: run the benches of ``circuits/`` and extract the tables of a calibration bundle.

Device extractors (pure functions from bench results to scalars and tables):
:mod:`.pcm` (PCM pair), :mod:`.lsp` (3T1C cell), :mod:`.integrator` (periphery);
:mod:`.runner` runs everything and writes the bundle.
"""
