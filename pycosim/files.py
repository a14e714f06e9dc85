"""Files the user keeps (results, bundles, run directories, configs): written atomically, with the
permissions the user's umask gives new files.

A temporary file in the destination directory is written and renamed over the destination, so an
interrupted or failed write never leaves a half-written file; ``mkstemp``/``mkdtemp`` create 0600/0700
entries, which would hide results from colleagues on a shared machine, so they are re-moded first.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable, IO


def umask() -> int:
    """The process's file-creation mask (read without changing it for long)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def chmod_like_new(path: str | os.PathLike, directory: bool = False) -> None:
    """Give *path* the permissions a plainly created file (0666) or directory (0777) would have
    under the umask."""
    os.chmod(path, (0o777 if directory else 0o666) & ~umask())


def atomic_write(path: str | os.PathLike, write: Callable[[IO[bytes]], None]) -> Path:
    """Call ``write(fh)`` on a temporary binary file beside *path*, then rename it onto *path*.

    Raises whatever *write* or the file system raises (OSError for a full disk), with no file left.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
        chmod_like_new(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """:func:`atomic_write` of a bytes object."""
    return atomic_write(path, lambda fh: fh.write(data))
