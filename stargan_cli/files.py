"""Writing files safely: temporary names unique per process, their removal, write errors as one line, and
an exclusive lock on a destination."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

from .errors import StarganError


def temporary_name(path: str | Path) -> Path:
    """A hidden temporary name beside `path`, unique to this process and call, so that two writers of one
    folder never share one."""
    path = Path(path)
    return path.with_name(f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")


def _file_mode() -> int:
    """The mode a new file gets here (0o644 under the usual umask 022)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


# what writers that create files readable by their owner only (safetensors: 0o600) set instead
FILE_MODE = _file_mode()


def cannot_write(path, exc: OSError) -> StarganError:
    """An OSError of a write as one line naming the destination and what to do."""
    reason = exc.strerror or exc.__class__.__name__
    return StarganError(
        f"cannot write {path}: {reason}; check that its folder exists and is writable and that the disk has "
        "room, or choose another destination"
    )


def discard(path: Path) -> None:
    """Remove a temporary file if it is there; a folder that cannot hold it (a file in its way) is fine."""
    try:
        path.unlink(missing_ok=True)
    except OSError:
        pass


@contextlib.contextmanager
def replaced(path: str | Path) -> Iterator[Path]:
    """Write `path` atomically: the block writes the temporary name it is given, which then replaces
    `path`. If anything fails, the temporary file is removed and `path` is left as it was; an OSError (a
    folder missing or read-only, a full disk) becomes one line naming `path`."""
    path = Path(path)
    tmp = temporary_name(path)
    try:
        yield tmp
        os.replace(tmp, path)
    except OSError as exc:
        discard(tmp)
        raise cannot_write(path, exc) from None
    except BaseException:
        discard(tmp)
        raise


@contextlib.contextmanager
def locked(path: Path, wait: bool = True, busy: str = "", remove: bool = False, destination=None):
    """Hold an exclusive lock on the file `path` (POSIX flock) for the block. With `wait` False, a lock held
    elsewhere raises StarganError(`busy`). With `remove`, the file is deleted before the lock is released
    (safe with `wait` False: a process that opened it meanwhile finds it locked and gives up). A lock file
    that cannot be created (a read-only folder) is cannot_write(`destination`, the lock's reason for).
    Where flock does not exist the block runs unlocked."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    try:
        handle = Path(path).open("a")
    except OSError as exc:
        raise cannot_write(destination or path, exc) from None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            raise StarganError(busy or f"{path} is locked by another process") from None
        try:
            yield
        finally:
            if remove:
                Path(path).unlink(missing_ok=True)
            fcntl.flock(handle, fcntl.LOCK_UN)


def failpoint(name: str) -> None:
    """Die here at once, as `kill -9` would, when $STARGAN_FAILPOINT names this point: how the tests put a
    hard kill exactly into a window that a real one would hit only by chance."""
    if os.environ.get("STARGAN_FAILPOINT") == name:
        os._exit(137)
