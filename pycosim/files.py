"""Files the user keeps (results, bundles, run directories, configs): written atomically, with the
permissions the user's umask gives new files.

A temporary file in the destination directory is written and renamed over the destination, so an
interrupted or failed write never leaves a half-written file; ``mkstemp``/``mkdtemp`` create 0600/0700
entries, which would hide results from colleagues on a shared machine, so they are re-moded first.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable, IO

from pycosim.errors import ConfigError


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


def check_out_dir(path: str | os.PathLike, what: str = "--out", *, allow_existing: bool | str = False,
                  parents: bool = True, create: bool = False, hint: str = "choose a new directory",
                  error: type[Exception] = ConfigError) -> Path:
    """Check, before any work, that the directory *path* can receive a command's output; return it as a Path.

    *what* names it in the messages (the option, e.g. ``"--out"``); every failure is one line
    ``f"{what} {path}: …"`` raised as *error* (ConfigError; CalibrationError for bundles):

    * it exists and is not a directory;
    * it is a non-empty directory and *allow_existing* is False (a new run's directory), or is a file name
      that the directory does not hold (only a previous output of the same command, marked by that file,
      may be replaced or resumed); True accepts any existing directory (files are added or overwritten).
      *hint* ends that message (what to do instead);
    * its parent does not exist and *parents* is False (the directory is created without parents);
    * no directory can be created in it (if it exists) or in its nearest existing ancestor.

    With *create*, the directory (and its parents) is made now; otherwise nothing is created.
    """
    d = Path(path).expanduser()
    if d.exists() and not d.is_dir():
        raise error(f"{what} {d}: is a file, not a directory")
    if allow_existing is not True and d.is_dir() and any(d.iterdir()):
        if allow_existing is False:
            raise error(f"{what} {d}: directory is not empty; {hint}")
        if not (d / allow_existing).is_file():
            raise error(f"{what} {d}: directory is not empty and holds no {allow_existing}; refusing to replace it, "
                        f"{hint}")
    parent = d.resolve().parent
    if not parents and not parent.is_dir():
        raise error(f"{what} {d}: directory {parent} does not exist")
    if create:
        try:
            d.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise error(f"{what} {d}: cannot create it ({exc.strerror or exc})") from None
    probe = d
    while not probe.exists():
        probe = probe.parent
    try:
        shutil.rmtree(tempfile.mkdtemp(prefix=f".{d.name}.", suffix=".check", dir=probe))
    except OSError as exc:
        raise error(f"{what} {d}: cannot write in {probe} ({exc.strerror or exc})") from None
    return d
