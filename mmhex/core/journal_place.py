"""Where a save's journal lives: named after the file's device and inode, not after its name.

A file with several hard links has several names, possibly in several folders; a save through
one name must be found by recovery through any other. So every journal (the rollback journal,
the fallocate shift journal, the in-place tail-move journal: one suffix each) is named
``.mmhex-DEV-INODE.SUFFIX`` (hexadecimal) in the folder of the real file the save went through
(symbolic links resolved). A name in the same folder finds it by its own device and inode; for a
name in another folder, a save of a file with more than one link also leaves an entry in a small
per-user index, ``$XDG_STATE_HOME/mmhex/journal-index/DEV-INODE.SUFFIX`` holding the journal's
path. The index is only a hint, trusted under the journal rules (a directory of ours, mode 0700,
never a link; entries regular, ours, 0600, one link, small, opened O_NOFOLLOW | O_NONBLOCK
relative to that directory), and what it points to must bear the device-and-inode name, sit on
the file's device and then pass every check a journal passes.

Journals of earlier versions, named ``.NAME.SUFFIX`` beside the real file, are still found.
Nothing here imports Qt; nothing raises for a bad index: it is reported as ``refused``.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import time
from dataclasses import dataclass

# A file name may hold NAME_MAX bytes (255 on Linux file systems).
NAME_MAX = 255
INDEX_FOLDER = os.path.join("mmhex", "journal-index")
# An index entry is one path; more than this is not ours.
_ENTRY_LIMIT = 4096
# Entries whose journal is gone are removed when this old (a save registers its entry right
# before it creates its journal, so a younger one may belong to a save that is starting).
STALE_ENTRY_AGE = 3600.0
_IDENTITY_PREFIX = ".mmhex-"


def short_name(name: str, prefix: str, suffix: str, limit: int = NAME_MAX) -> str:
    """``prefix + name + suffix``, or, if that exceeds ``limit`` bytes, the same with ``name``
    cut short and a hash of the whole name added (distinct long names stay distinct)."""
    full = f"{prefix}{name}{suffix}"
    if len(os.fsencode(full)) <= limit:
        return full
    raw = os.fsencode(name)
    digest = hashlib.sha256(raw).hexdigest()[:16]
    keep = limit - len(os.fsencode(prefix + suffix)) - len(digest) - 1
    return f"{prefix}{os.fsdecode(raw[:keep])}~{digest}{suffix}"


def identity_name(device: int, inode: int, suffix: str) -> str:
    """The journal's own name: the same for every name of the file."""
    return _IDENTITY_PREFIX + _entry_name(device, inode, suffix)


def _entry_name(device: int, inode: int, suffix: str) -> str:
    """The index entry's name for a journal of this device and inode."""
    return f"{device:x}-{inode:x}{suffix}"


def legacy_journal_path(path: str, suffix: str) -> str:
    """Where versions before the device-and-inode rule put the journal: ``.NAME.SUFFIX``."""
    folder, name = os.path.split(os.path.realpath(path))
    return os.path.join(folder, short_name(name, ".", suffix))


@dataclass(frozen=True)
class JournalPlace:
    """Where recovery looks: ``path`` is the journal found (``found``), else where a save would
    write one; ``refused`` says why an index entry for this file was not followed ('' if none).
    """

    path: str
    found: bool
    refused: str = ""


def locate_journal(path: str, suffix: str, st: os.stat_result | None = None) -> JournalPlace:
    """Find the journal of kind ``suffix`` for the file at ``path`` (``st``: its stat, if open).

    Looks, in order, for the device-and-inode name beside the real file, for the index entry
    of that device and inode (a save through a hard link in another folder), and for the name
    of earlier versions. A path that cannot be stat'ed only has the old name to go by.
    """
    legacy = legacy_journal_path(path, suffix)
    if st is None:
        try:
            st = os.stat(path)
        except OSError:
            return JournalPlace(legacy, os.path.lexists(legacy))
    here = os.path.join(
        os.path.dirname(os.path.realpath(path)), identity_name(st.st_dev, st.st_ino, suffix)
    )
    if os.path.lexists(here):
        return JournalPlace(here, True)
    # Consulted whatever the link count now: the name the save went through may be gone.
    indexed, refused = _indexed(st, suffix)
    if indexed:
        return JournalPlace(indexed, True)
    if os.path.lexists(legacy):
        return JournalPlace(legacy, True, refused)
    return JournalPlace(here, False, refused)


def journal_location(path: str, suffix: str, *, writing: os.stat_result | None = None) -> str:
    """The one rule for a journal's path: the journal already there for this file (so that an
    exclusive create fails on it), else the device-and-inode name beside the real file.

    A save passes ``writing`` (the fstat of the file it holds locked): for a file with more than
    one link, the index then learns where the journal goes, before the journal is created.
    """
    place = locate_journal(path, suffix, writing)
    if writing is not None and not place.found and writing.st_nlink > 1:
        _register(writing, suffix, place.path)
    return place.path


def forget_journal(jpath: str) -> None:
    """Drop the index entry that points to the removed journal ``jpath`` (errors ignored)."""
    name = os.path.basename(jpath)
    if not name.startswith(_IDENTITY_PREFIX):
        return  # a journal of an earlier version: never indexed
    folder = _open_index(create=False)
    if isinstance(folder, str):
        return
    try:
        entry = name[len(_IDENTITY_PREFIX) :]
        with contextlib.suppress(OSError, ValueError):
            if _read_entry(folder, entry) == jpath:
                os.unlink(entry, dir_fd=folder)
    finally:
        os.close(folder)


# --------------------------------------------------------------------------- the index
def index_folder() -> str:
    """``$XDG_STATE_HOME/mmhex/journal-index`` (``~/.local/state`` when unset or relative)."""
    base = os.environ.get("XDG_STATE_HOME", "")
    if not os.path.isabs(base):
        base = os.path.join(os.path.expanduser("~"), ".local", "state")
    return os.path.join(base, INDEX_FOLDER)


def _open_index(*, create: bool) -> int | str:
    """The index folder, open and trusted (see _open_folder); else why it is not used."""
    fd, why = _open_folder(create=create)
    if fd < 0:
        return "there is no journal index"
    if why:
        os.close(fd)
        return why
    return fd


def _open_folder(*, create: bool) -> tuple[int, str]:
    """The index folder, open (O_DIRECTORY | O_NOFOLLOW; -1 if it cannot be), and '' if it is
    ours and private, else the sentence saying why it is not trusted."""
    folder = index_folder()
    if create:
        with contextlib.suppress(OSError):
            os.makedirs(folder, mode=0o700, exist_ok=True)
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return -1, ""
    st = os.fstat(fd)
    why = ""
    if st.st_uid != os.geteuid():
        why = f"the journal index {folder} belongs to uid {st.st_uid}, not to you"
    elif stat.S_IMODE(st.st_mode) & 0o077:
        why = f"the journal index {folder} has permissions {stat.S_IMODE(st.st_mode):04o}"
    return fd, why


def _read_entry(folder: int, name: str) -> str:
    """An index entry's journal path, read only if it is ours (ValueError says why not)."""
    fd = os.open(
        name,
        os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC,
        dir_fd=folder,
    )
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ValueError("it is not a regular file")
        if st.st_uid != os.geteuid():
            raise ValueError(f"it belongs to uid {st.st_uid}, not to you")
        if stat.S_IMODE(st.st_mode) != 0o600:
            raise ValueError(f"its permissions are {stat.S_IMODE(st.st_mode):04o}, not 0600")
        if st.st_nlink != 1:
            raise ValueError(f"it has {st.st_nlink} hard links")
        if st.st_size > _ENTRY_LIMIT:
            raise ValueError(f"it is too large ({st.st_size:,} bytes)")
        return os.fsdecode(os.pread(fd, _ENTRY_LIMIT, 0))
    finally:
        os.close(fd)


def _indexed(st: os.stat_result, suffix: str) -> tuple[str, str]:
    """(journal path from the index, '') or ('', why the entry was refused) or ('', '')."""
    folder, why = _open_folder(create=False)
    if folder < 0:
        return "", ""  # no index (or none that can be read): nothing recorded
    name = identity_name(st.st_dev, st.st_ino, suffix)
    entry = os.path.join(index_folder(), _entry_name(st.st_dev, st.st_ino, suffix))
    try:
        try:
            os.stat(os.path.basename(entry), dir_fd=folder, follow_symlinks=False)
        except OSError:
            return "", ""  # no entry for this file: an index not ours concerns other files
        if why:
            return "", f"{why}, so its entry {entry} is not trusted"
        try:
            jpath = _read_entry(folder, os.path.basename(entry))
        except FileNotFoundError:
            return "", ""
        except (OSError, ValueError) as exc:
            return "", f"the journal index entry {entry} is not trusted: {exc}"
    finally:
        os.close(folder)
    # It must name this device-and-inode journal, on this file's device, and exist.
    if not os.path.isabs(jpath) or os.path.basename(jpath) != name:
        return "", f"the journal index entry {entry} does not name a journal of this file"
    try:
        if os.stat(os.path.dirname(jpath)).st_dev != st.st_dev:
            return "", f"the journal index entry {entry} points to another device"
    except OSError:
        return "", ""  # its folder is gone: so is the journal
    return (jpath, "") if os.path.lexists(jpath) else ("", "")


def _register(st: os.stat_result, suffix: str, jpath: str) -> None:
    """Record ``jpath`` as the journal of ``st``'s device and inode (best effort: without an
    index, only names in the journal's own folder find it). Durable before the journal is."""
    folder = _open_index(create=True)
    if isinstance(folder, str):
        return
    try:
        name = _entry_name(st.st_dev, st.st_ino, suffix)
        with contextlib.suppress(OSError, ValueError):
            if _read_entry(folder, name) == jpath:
                return
        _prune(folder)
        partial = f"{name}.{os.getpid()}.new"
        with contextlib.suppress(OSError):
            fd = os.open(
                partial,
                os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC,
                0o600,
                dir_fd=folder,
            )
            try:
                os.fchmod(fd, 0o600)
                os.write(fd, os.fsencode(jpath))
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(partial, name, src_dir_fd=folder, dst_dir_fd=folder)
            os.fsync(folder)
    finally:
        os.close(folder)


def _prune(folder: int) -> None:
    """Remove entries whose journal is gone and that are older than STALE_ENTRY_AGE."""
    now = time.time()
    with contextlib.suppress(OSError):
        for name in os.listdir(folder):
            with contextlib.suppress(OSError, ValueError):
                if now - os.stat(name, dir_fd=folder, follow_symlinks=False).st_mtime < (
                    STALE_ENTRY_AGE
                ):
                    continue
                if name.endswith(".new") or not os.path.lexists(_read_entry(folder, name)):
                    os.unlink(name, dir_fd=folder)
