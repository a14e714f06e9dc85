"""Files the user keeps (results, bundles, run directories, configs): written atomically, with the
permissions the user's umask gives new files.

A temporary file in the destination directory is written and renamed over the destination, so an
interrupted or failed write never leaves a half-written file; ``mkstemp``/``mkdtemp`` create 0600/0700
entries, which would hide results from colleagues on a shared machine, so they are re-moded first.
"""

from __future__ import annotations

import os
import re
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


# ------------------------------------------------------------------ directories in use, and what a killed process left
#: Name of the lock file of a directory in use (:func:`lock_dir`).
LOCK_NAME = ".pycosim.lock"
#: Temporary entries of our own naming: ``atomic_write``'s ``.NAME.XXXXXXXX.tmp`` and ``check_out_dir``'s
#: ``.NAME.XXXXXXXX.check`` (mkstemp/mkdtemp: 8 characters of [a-z0-9_]).
_TEMP_RE = re.compile(r"^\..+\.[a-z0-9_]{8}\.(tmp|check)$")


def is_own_temp(name: str) -> bool:
    """True for the name of a temporary file or directory pycosim itself creates (and a killed pycosim may
    leave behind): ``.NAME.XXXXXXXX.tmp`` (:func:`atomic_write`) or ``.NAME.XXXXXXXX.check``."""
    return bool(_TEMP_RE.match(name))


def clean_stale_temps(directory: str | os.PathLike) -> list[Path]:
    """Remove the temporary entries of our own naming (:func:`is_own_temp`) in *directory* and below, left by
    a process killed while writing (SIGKILL, power loss). Call it only while holding the directory's
    :func:`lock_dir`, so no live writer's temporary file is touched. Returns what was removed."""
    removed = []
    for root, dirs, names in os.walk(directory):
        for n in list(names) + list(dirs):
            if is_own_temp(n):
                p = Path(root) / n
                if p.is_dir() and not p.is_symlink():
                    shutil.rmtree(p, ignore_errors=True)
                    dirs.remove(n)
                else:
                    p.unlink(missing_ok=True)
                removed.append(p)
    return removed


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class DirLock:
    """An exclusive lock on a directory, held by this process (:func:`lock_dir`); a context manager.

    On POSIX an ``flock`` on ``DIR/.pycosim.lock``: the kernel releases it when the process dies in any way
    (kill -9 included), so a lock left by a dead process never blocks. Elsewhere the file is created
    exclusively and holds the owner's pid; a file whose pid is no longer running is a stale lock and is
    taken over."""

    def __init__(self, directory: Path, what: str):
        self.directory, self.what, self.path, self.fd = Path(directory), what, Path(directory) / LOCK_NAME, None

    def _busy(self, pid_text: str) -> ConfigError:
        pid = pid_text.strip() or "?"
        return ConfigError(f"{self.what} {self.directory}: in use by another pycosim process (pid {pid}); wait for "
                           f"it to finish or choose another directory")

    def acquire(self) -> "DirLock":
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX
            fcntl = None
        for _ in range(50):
            if fcntl is None:  # pragma: no cover
                try:
                    fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o666)
                except FileExistsError:
                    text = self.path.read_text(errors="replace") if self.path.exists() else ""
                    if text.strip().isdigit() and _pid_alive(int(text)):
                        raise self._busy(text) from None
                    self.path.unlink(missing_ok=True)          # stale: its process is gone
                    continue
            else:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666 & ~umask())
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    text = os.read(fd, 64).decode(errors="replace")
                    os.close(fd)
                    raise self._busy(text) from None
                try:
                    same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
                except FileNotFoundError:
                    same = False
                if not same:          # the previous holder removed the file as we opened it: try again
                    os.close(fd)
                    continue
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
            self.fd = fd
            return self
        raise self._busy("")  # pragma: no cover

    def release(self) -> None:
        if self.fd is not None:
            try:
                self.path.unlink(missing_ok=True)
            finally:
                os.close(self.fd)
                self.fd = None

    def __enter__(self):
        return self if self.fd is not None else self.acquire()

    def __exit__(self, *exc):
        self.release()


def lock_dir(directory: str | os.PathLike, what: str = "--out") -> DirLock:
    """Lock the existing *directory* for this process (:class:`DirLock`; use as ``with lock_dir(d): …``).
    ConfigError, one line naming the directory and the owner's pid, if another live process holds it."""
    return DirLock(Path(directory), what).acquire()
