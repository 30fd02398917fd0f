"""Writing a model file atomically: to a temporary file in the same folder, named
``.<name>.xpnn-tmp-<pid>-<random>``, renamed over the target, so an interrupted save leaves any
previous file intact; a later save of the same name removes temporaries left by processes that no
longer run (a kill -9 mid-save). Part of :mod:`xpnn.persistence`."""

from __future__ import annotations

import contextlib
import glob
import os
import tempfile

import numpy as np


def write_atomically(path, arrays):
    """Through a symlink to its target; the file keeps the mode an existing one had (a new one
    gets 0o666 less the umask, as open() would give it)."""
    path = os.path.realpath(path)
    folder, name = os.path.split(path)
    try:
        mode = os.stat(path).st_mode & 0o7777
    except FileNotFoundError:
        mode = 0o666 & ~_umask()
    prefix = f".{name}.xpnn-tmp-{os.getpid()}-"
    _remove_stale_temporaries(folder, name)
    fd, tmp = tempfile.mkstemp(prefix=prefix, dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fchmod(f.fileno(), mode)
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):  # already renamed: the save is complete
            os.unlink(tmp)
        raise


def _umask():
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _remove_stale_temporaries(folder, name):
    """Delete ``.<name>.xpnn-tmp-<pid>-*`` files whose writing process no longer runs."""
    for tmp in glob.glob(os.path.join(glob.escape(folder), f".{glob.escape(name)}.xpnn-tmp-*")):
        try:
            pid = int(os.path.basename(tmp)[len(name) + 11:].split("-", 1)[0])
        except ValueError:
            continue
        if pid != os.getpid() and not _running(pid):
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def _running(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True
