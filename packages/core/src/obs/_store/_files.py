"""Keeping the store's files private, and refusing files that are not safely obs's own.

The store holds what the application recorded (captured content included), so its directory is
0700 and its files 0600 (a umask stricter than that still applies). Before writing, obs checks
that the file and its ``-wal``/``-shm`` companions are regular files owned by the current user
and not writable by group or others: another user's file, or one anybody could have edited, is
refused rather than written to. The default ``.obs`` directory is not followed when it is a
symlink (someone else may have pointed it anywhere); a path the user gives is taken as given.

A new store file is built complete (layout and WAL mode) under a temporary name and then
linked into place, so a reader polling for the file never sees it without its tables.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Callable
from pathlib import Path

COMPANIONS = ("-wal", "-shm")
DEFAULT_PATH = Path(".obs") / "spans.db"


class StoreRefused(Exception):
    """The store cannot be used as it is; the message (one line) says why and what to do."""


def resolve_path(path: str | os.PathLike[str] | None) -> Path:
    """The store file: the one given, else ``$OBS_STORE_PATH``, else ``.obs/spans.db``."""
    if path is not None:
        return Path(path)
    return Path(os.environ.get("OBS_STORE_PATH") or DEFAULT_PATH)


def companions(path: Path) -> list[Path]:
    return [path.with_name(path.name + suffix) for suffix in COMPANIONS]


def prepare_directory(directory: Path, *, follow_symlink: bool) -> None:
    """Create the store's directory 0700, or check an existing one."""
    try:
        info = os.lstat(directory)
    except FileNotFoundError:
        os.makedirs(directory, mode=0o700, exist_ok=True)
        return
    if stat.S_ISLNK(info.st_mode):
        if not follow_symlink:
            raise StoreRefused(
                f"its directory {directory} is a symlink, which obs does not follow by "
                "default; pass that exact path (store=... or OBS_STORE_PATH) to use it"
            )
        info = os.stat(directory)
    if not stat.S_ISDIR(info.st_mode):
        raise StoreRefused(f"{directory} is not a directory")


def tighten_default_directory(directory: Path) -> None:
    """``.obs`` made 0755 by an older obs becomes 0700 (only ours, only the default one)."""
    with contextlib.suppress(OSError):
        info = os.lstat(directory)
        if stat.S_ISDIR(info.st_mode) and info.st_uid == os.geteuid() and info.st_mode & 0o077:
            os.chmod(directory, stat.S_IMODE(info.st_mode) & 0o700)


def check_file(path: Path, *, follow_symlink: bool) -> None:
    """Refuse a store file obs must not write; make an older obs's 0644 file 0600."""
    for candidate in (path, *companions(path)):
        try:
            info = os.lstat(candidate)
        except FileNotFoundError:
            continue
        if stat.S_ISLNK(info.st_mode):
            if not follow_symlink or candidate != path:
                raise StoreRefused(f"{candidate} is a symlink; obs does not follow it")
            info = os.stat(candidate)
        if not stat.S_ISREG(info.st_mode):
            raise StoreRefused(f"{candidate} is not a regular file")
        if info.st_uid != os.geteuid():
            raise StoreRefused(
                f"{candidate} belongs to another user (uid {info.st_uid}); obs writes only its "
                "user's own store (use another path, or fix the owner)"
            )
        if info.st_mode & 0o022:
            raise StoreRefused(
                f"{candidate} is writable by group or others (mode "
                f"{stat.S_IMODE(info.st_mode):o}), so anyone may have changed it; obs will not "
                "write to it (chmod 600 it if you trust it, or move it away)"
            )
        if info.st_mode & 0o044:
            os.chmod(candidate, stat.S_IMODE(info.st_mode) & 0o600)


def remove_orphan_companions(path: Path) -> None:
    """Remove ``-wal``/``-shm`` files whose store file is gone."""
    for candidate in companions(path):
        with contextlib.suppress(OSError):
            if stat.S_ISREG(os.lstat(candidate).st_mode) and not os.path.lexists(path):
                os.unlink(candidate)


def identity(path: Path) -> tuple[int, int] | None:
    """(device, inode) of the file at ``path`` now, or None if there is none."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_dev, info.st_ino


def file_size(path: Path) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def on_disk_bytes(path: Path) -> int:
    """The store file plus its WAL, as the filesystem counts them."""
    total = 0
    for candidate in (path, path.with_name(path.name + "-wal")):
        with contextlib.suppress(OSError):
            total += os.stat(candidate).st_size
    return total


def create_complete(path: Path, build: Callable[[Path], None]) -> None:
    """Build a new store under a temporary name, then link it into place atomically.

    ``build(tmp)`` creates the layout in ``tmp`` (a 0600 file). If another process created the
    store meanwhile, its file wins and ours is discarded. A filesystem without hard links gets
    a rename, which can only replace a file created in the same instant.
    """
    import tempfile  # here: the obs command's read path imports this module, never writes

    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".new", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        build(tmp)
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        except OSError:
            if not os.path.lexists(path):
                os.replace(tmp, path)
    finally:
        for leftover in (tmp, *companions(tmp)):
            with contextlib.suppress(OSError):
                os.unlink(leftover)
