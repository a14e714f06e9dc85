"""The synapse schemes: the one registry that maps a scheme's name to its class and its facts.

A scheme is a :class:`pycosim.array.crossbar.Crossbar` subclass in its own module here, implementing the
small protocol of the base class (device state, weight of the state, update, LSP reset at a transfer,
its state arrays). Everything outside this package asks the registry (``info(name)``) or the layer
(``xb.scheme``) what a scheme has, never compares its name:

    from pycosim.array import schemes
    schemes.info("4pcm").has_lsp        # True: its LSP pair is transferred
    schemes.names()                     # ('2pcm+3t1c', '4pcm', '2pcm', 'ideal')

Adding a scheme: a module with the class, and one :class:`SchemeInfo` line in ``_REGISTRY``.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from pycosim.errors import ConfigError


@dataclass(frozen=True)
class SchemeInfo:
    """What a synapse scheme is (no device numbers: those come from the calibration bundle).

    name: the configuration value (``synapse.kind`` / ``ArrayConfig.synapse``);
    equation: W in terms of its devices (network units = scale·siemens);
    citation: where the scheme was built or proposed;
    analog: it has simulated devices and a periphery, so it needs a calibration bundle ('ideal': False);
    has_lsp: it has a less-significant part that updates write and transfers move into the PCM pair;
    polarity: it has a per-column polarity bit that transfers invert;
    has_3t1c: its LSP is a 3T1C cell (capacitor voltage, leakage, transmission-gate reset);
    device_roles: one label per PCM device of a synapse, in the order of the layer's device arrays;
    module, cls: where its class lives (imported on first use);
    bundle_tables: tables it needs beyond the schema's required ones (a bundle made for it, e.g. by
        ``pycosim calibrate-data --role lsp``); empty for schemes that run on every bundle.
    """

    name: str
    equation: str
    citation: str
    analog: bool
    has_lsp: bool
    polarity: bool
    has_3t1c: bool
    device_roles: tuple[str, ...]
    module: str
    cls: str
    bundle_tables: tuple[str, ...] = ()


_REGISTRY = {s.name: s for s in (
    SchemeInfo("2pcm+3t1c", "W = scale·[F·(G⁺ − G⁻) + pol_j·(g − g_shared,j)]",
               "Ambrogio et al., Nature 558, 60 (2018)", True, True, True, True, ("G+", "G-"),
               "pycosim.array.schemes.pcm_3t1c", "Pcm3T1C"),
    SchemeInfo("4pcm", "W = scale·[F·(G⁺ − G⁻) + (g⁺ − g⁻)]",
               "Cristiano et al., J. Appl. Phys. 124, 151901 (2018)", True, True, False, False,
               ("G+", "G-", "g+", "g-"),
               "pycosim.array.schemes.pcm4", "Pcm4"),
    SchemeInfo("2pcm", "W = scale·F·(G⁺ − G⁻)", "Burr et al., IEEE TED 62, 3498 (2015)", True, False, False, False,
               ("G+", "G-"), "pycosim.array.schemes.pcm2", "Pcm2"),
    SchemeInfo("ideal", "W stored as float32, exact arithmetic (the software reference)", "—", False, False, False, False,
               (), "pycosim.array.schemes.ideal", "Ideal"),
    SchemeInfo("2pcm+meas", "W = scale·[F·(G⁺ − G⁻) + pol_j·(g − g_shared,j)], g a measured device",
               "Ambrogio et al., Nature 558, 60 (2018), LSP from pycosim calibrate-data --role lsp", True, True, True,
               False, ("G+", "G-"), "pycosim.array.schemes.pcm_meas", "PcmMeasured",
               ("lsp_data/g_grid_S", "lsp_data/dg_up_S", "lsp_data/dg_down_S", "lsp_data/g_reset_S")),
    SchemeInfo("4pcm-kpairs", "W = scale·[F·(G⁺ − G⁻) + (g⁺_a − g⁻_a)], a = the connected of k lower pairs",
               "Cristiano et al., J. Appl. Phys. 124, 151901 (2018) (redundancy through multiple pairs)", True, True,
               False, False, ("G+", "G-", "g+", "g-"), "pycosim.array.schemes.redundant", "Pcm4KPairs"),
    SchemeInfo("2pcm+3t1c-kpairs", "W = scale·[F·(G⁺_a − G⁻_a) + pol_j·(g − g_shared,j)], a = the connected of k pairs",
               "Ambrogio et al., Nature 558, 60 (2018); redundancy: Cristiano et al., J. Appl. Phys. 124, 151901 (2018)",
               True, True, True, True, ("G+", "G-"), "pycosim.array.schemes.redundant", "Pcm3T1CKPairs"),
)}


def names() -> tuple[str, ...]:
    """The registered scheme names, in registry order."""
    return tuple(_REGISTRY)


def info(name: str) -> SchemeInfo:
    """The :class:`SchemeInfo` of scheme *name*; ConfigError (one line, listing the names) if unknown."""
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise ConfigError(f"synapse={name!r}: allowed values are {', '.join(map(repr, _REGISTRY))}") from None


def scheme_class(name: str) -> type:
    """The Crossbar subclass implementing scheme *name*."""
    i = info(name)
    return getattr(importlib.import_module(i.module), i.cls)
