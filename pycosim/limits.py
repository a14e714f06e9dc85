"""Size limits: refuse, before any work, inputs whose memory cannot fit the machine, and cap file reads.

:func:`check_fits` compares an estimate of the memory a request needs with the memory available now and
raises :class:`pycosim.errors.ConfigError` with both numbers; :func:`read_capped` reads a text file (a
configuration, a sweep file) of at most :data:`MAX_TEXT_BYTES`, so ``--config /dev/zero`` is one line,
not a MemoryError.
"""

from __future__ import annotations

import os
from pathlib import Path

from pycosim.errors import ConfigError

#: Largest configuration or sweep file read (bytes): real ones are a few kB.
MAX_TEXT_BYTES = 4 * 2**20


def available_memory() -> int:
    """Bytes of memory available to a new allocation now (Linux: MemAvailable; else the physical memory)."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover
        return 2**40


def gib(n: float) -> str:
    """*n* bytes as GiB text ("12.3 GiB"; MiB below one GiB)."""
    return f"{n / 2**30:,.1f} GiB" if n >= 2**30 else f"{n / 2**20:,.1f} MiB"


def check_fits(nbytes: float, what: str, how: str = "") -> None:
    """ConfigError "*what*: needs about X GiB of memory (*how*), more than the Y GiB available" if the
    estimate *nbytes* exceeds the memory available now."""
    avail = available_memory()
    if nbytes > avail:
        raise ConfigError(f"{what}: needs about {gib(nbytes)} of memory{f' ({how})' if how else ''}, more than the "
                          f"{gib(avail)} available on this machine")


def read_capped(path: str | os.PathLike, what: str, limit: int = MAX_TEXT_BYTES) -> str:
    """The text of *path*, at most *limit* bytes; ConfigError naming *what* and the path if larger (or not a
    regular file that ends, such as /dev/zero). FileNotFoundError, OSError and UnicodeDecodeError propagate."""
    path = Path(path)
    with open(path, "rb") as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise ConfigError(f"{what} {path}: larger than {limit // 2**20} MiB; not a {what}")
    return data.decode("utf-8")
