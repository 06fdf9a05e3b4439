"""A running process's memory as a byte source: its mappings, folded into one address space.

Reads and writes go through ``/proc/PID/mem`` with ``os.pread``/``os.pwrite``: the kernel answers
EIO for a page that is not mapped or cannot be read, so nothing here can fault. The readable
regions of ``/proc/PID/maps`` are laid end to end ("folded"): document offset 0 is the first byte
of the first readable region, and the unmapped gaps between regions take no offsets at all.
Every refusal is explained (Yama ptrace_scope, another user's process, a missing
CAP_SYS_PTRACE) instead of being shown as pages of unknown bytes. Never imports Qt.
"""

from __future__ import annotations

import bisect
import errno
import os
import pwd
from collections.abc import Iterator

from mmhex.core.errors import MmhexError

PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
# /proc/PID/stat field 9 (flags): the task is a kernel thread.
_PF_KTHREAD = 0x00200000
_CAP_SYS_PTRACE = 19
# Regions whose bytes the kernel never hands out through /proc/PID/mem, with the reason shown.
_SPECIAL_UNREADABLE = {
    "[vvar]": "kernel data page shared with the vDSO; /proc/PID/mem refuses it",
    "[vvar_vclock]": "kernel clock page shared with the vDSO; /proc/PID/mem refuses it",
    "[vsyscall]": "legacy vsyscall page; /proc/PID/mem refuses it",
}
# pagemap bits (little-endian u64 per page)
PAGEMAP_PRESENT = 1 << 63
PAGEMAP_SWAPPED = 1 << 62
PAGEMAP_FILE = 1 << 61  # file page or shared anonymous
PAGEMAP_EXCLUSIVE = 1 << 56
PAGEMAP_SOFT_DIRTY = 1 << 55


class ProcessAccessError(MmhexError, OSError):
    """The process's memory cannot be read or written; ``str`` says why and what would allow it."""

    def __init__(self, err: int, sentence: str) -> None:
        super().__init__(err, sentence)
        self.sentence = sentence

    def __str__(self) -> str:
        return self.sentence


class Region:
    """One line of ``/proc/PID/maps``; ``unreadable`` says why its bytes are not shown, or ''."""

    __slots__ = ("device", "end", "inode", "offset", "path", "perms", "start", "unreadable")

    def __init__(
        self,
        start: int,
        end: int,
        perms: str,
        offset: int,
        device: str,
        inode: int,
        path: str,
    ) -> None:
        self.start = start
        self.end = end
        self.perms = perms
        self.offset = offset
        self.device = device
        self.inode = inode
        self.path = path
        self.unreadable = _why_unreadable(perms, path)

    @property
    def size(self) -> int:
        return self.end - self.start

    @property
    def readable(self) -> bool:
        return not self.unreadable

    @property
    def kind(self) -> str:
        """What backs the region: its file, [heap], [stack], ... or [anon]."""
        return self.path or "[anon]"

    @property
    def file_backed(self) -> bool:
        return self.inode != 0 and self.path.startswith("/")

    def as_maps_line(self) -> str:
        """The line as /proc/PID/maps prints it (without the column padding)."""
        head = (
            f"{self.start:x}-{self.end:x} {self.perms} {self.offset:08x} {self.device} {self.inode}"
        )
        return f"{head} {self.path}".rstrip()

    def as_dict(self) -> dict[str, object]:
        return {
            "start": self.start,
            "end": self.end,
            "size": self.size,
            "perms": self.perms,
            "offset": self.offset,
            "device": self.device,
            "inode": self.inode,
            "path": self.kind,
            "readable": self.readable,
            "unreadable_reason": self.unreadable,
        }

    def __repr__(self) -> str:
        return f"Region({self.as_maps_line()!r})"


def _why_unreadable(perms: str, path: str) -> str:
    if path in _SPECIAL_UNREADABLE:
        return _SPECIAL_UNREADABLE[path]
    if not perms.startswith("r"):
        return "no read permission (a guard page or reserved address space)"
    return ""


def parse_maps(text: str) -> list[Region]:
    """Regions from the text of /proc/PID/maps; file names may contain spaces."""
    regions = []
    for line in text.splitlines():
        fields = line.split(None, 5)
        if len(fields) < 5:
            continue
        low, _, high = fields[0].partition("-")
        path = fields[5] if len(fields) > 5 else ""
        regions.append(
            Region(
                int(low, 16),
                int(high, 16),
                fields[1],
                int(fields[2], 16),
                fields[3],
                int(fields[4]),
                path,
            )
        )
    return regions


def read_maps(pid: int) -> list[Region]:
    """The process's regions; raises ProcessAccessError with the reason when they are hidden."""
    try:
        with open(f"/proc/{pid}/maps", encoding="utf-8", errors="surrogateescape") as stream:
            text = stream.read()
    except FileNotFoundError:
        raise ProcessAccessError(errno.ESRCH, f"There is no process {pid}.") from None
    except PermissionError as exc:
        raise ProcessAccessError(exc.errno, explain_refusal(pid, exc.errno)) from None
    if not text and _is_kernel_thread(pid):
        raise ProcessAccessError(
            errno.EINVAL, f"Process {pid} is a kernel thread: it has no user memory to show."
        )
    return parse_maps(text)


# ----------------------------------------------------------------- why access is refused
def _ptrace_scope() -> int | None:
    try:
        with open("/proc/sys/kernel/yama/ptrace_scope") as stream:
            return int(stream.read().strip())
    except (OSError, ValueError):
        return None


def _has_cap_sys_ptrace() -> bool:
    try:
        with open("/proc/self/status") as stream:
            for line in stream:
                if line.startswith("CapEff:"):
                    return bool(int(line.split()[1], 16) >> _CAP_SYS_PTRACE & 1)
    except (OSError, ValueError):
        pass
    return False


def _owner_uid(pid: int) -> int | None:
    try:
        return os.stat(f"/proc/{pid}").st_uid
    except OSError:
        return None


def _user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _is_descendant(pid: int) -> bool:
    me = os.getpid()
    current = pid
    for _ in range(4096):
        parent = _parent_pid(current)
        if parent is None or parent <= 1:
            return False
        if parent == me:
            return True
        current = parent
    return False


def _parent_pid(pid: int) -> int | None:
    fields = _stat_fields(pid)
    return int(fields[1]) if fields else None


def _stat_fields(pid: int) -> list[str] | None:
    """Fields of /proc/PID/stat after the command name (which may contain spaces and ')')."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stream:
            raw = stream.read()
    except OSError:
        return None
    return raw[raw.rfind(b")") + 2 :].decode("ascii", "replace").split()


def _is_kernel_thread(pid: int) -> bool:
    fields = _stat_fields(pid)
    return bool(fields) and int(fields[6]) & _PF_KTHREAD != 0


def explain_refusal(pid: int, err: int | None) -> str:
    """One sentence: why this process's memory is refused, and what would allow it."""
    owner = _owner_uid(pid)
    me = os.geteuid()
    if owner is not None and owner != me and me != 0 and not _has_cap_sys_ptrace():
        return (
            f"Process {pid} belongs to {_user_name(owner)}, not to you ({_user_name(me)}): "
            "reading another user's memory needs root or the CAP_SYS_PTRACE capability."
        )
    scope = _ptrace_scope()
    if scope == 3:
        return (
            f"Reading process {pid} is refused: kernel.yama.ptrace_scope is 3, which forbids "
            "it for everyone until reboot."
        )
    if scope == 2 and not _has_cap_sys_ptrace():
        return (
            f"Reading process {pid} is refused: kernel.yama.ptrace_scope is 2 (admin only); "
            "run mmhex with CAP_SYS_PTRACE (e.g. as root)."
        )
    if scope == 1 and not _is_descendant(pid) and not _has_cap_sys_ptrace():
        return (
            f"Reading process {pid} is refused: kernel.yama.ptrace_scope is 1, which lets a "
            "program read only its own children. Start the program under mmhex (File ▸ Run "
            "Program…, `mmhex --run -- CMD`), or set the sysctl to 0, or use CAP_SYS_PTRACE."
        )
    reason = os.strerror(err) if err else "refused"
    return f"Reading process {pid} is refused ({reason})."


# ----------------------------------------------------------------- the process list
class ProcessInfo:
    """One row of the Open Process list."""

    __slots__ = ("name", "pid", "rss", "user")

    def __init__(self, pid: int, name: str, user: str, rss: int) -> None:
        self.pid = pid
        self.name = name
        self.user = user
        self.rss = rss

    def __repr__(self) -> str:
        return f"ProcessInfo({self.pid}, {self.name!r}, {self.user!r}, {self.rss})"


def list_processes() -> list[ProcessInfo]:
    """User processes (kernel threads excluded), by PID, with name, user and RSS in bytes."""
    rows = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        pid = int(entry)
        fields = _stat_fields(pid)
        if not fields or int(fields[6]) & _PF_KTHREAD:
            continue
        owner = _owner_uid(pid)
        if owner is None:
            continue
        try:
            with open(f"/proc/{pid}/comm", encoding="utf-8", errors="replace") as stream:
                name = stream.read().strip()
        except OSError:
            continue
        rss = int(fields[21]) * PAGE_SIZE  # field 24 of stat: resident pages
        rows.append(ProcessInfo(pid, name, _user_name(owner), rss))
    rows.sort(key=lambda info: info.pid)
    return rows


# ----------------------------------------------------------------- the folded address space
class AddressSpace:
    """The readable regions laid end to end: document offsets <-> virtual addresses."""

    def __init__(self, regions: list[Region]) -> None:
        self.regions = regions
        self.readable = [region for region in regions if region.readable]
        self._starts: list[int] = []  # document offset where each readable region begins
        self._addresses = [region.start for region in self.readable]
        total = 0
        for region in self.readable:
            self._starts.append(total)
            total += region.size
        self.size = total

    def region_index(self, offset: int) -> int:
        """Index into ``readable`` of the region holding document ``offset``."""
        if not 0 <= offset < self.size:
            raise IndexError(f"offset {offset} is outside the address space ({self.size} bytes)")
        return bisect.bisect_right(self._starts, offset) - 1

    def region_start_offset(self, index: int) -> int:
        return self._starts[index]

    def address_of(self, offset: int) -> int:
        """The virtual address shown at document ``offset``."""
        index = self.region_index(offset)
        return self.readable[index].start + offset - self._starts[index]

    def offset_of(self, address: int) -> int | None:
        """The document offset of virtual ``address`` (None when no readable region holds it)."""
        index = bisect.bisect_right(self._addresses, address) - 1
        if index < 0 or address >= self.readable[index].end:
            return None
        return self._starts[index] + address - self.readable[index].start

    def gap_before(self, index: int) -> tuple[int, int] | None:
        """The unmapped (or unreadable) address range folded away before readable region
        ``index``, as (start, end), or None when the regions touch."""
        if index == 0:
            return None
        previous_end = self.readable[index - 1].end
        start = self.readable[index].start
        return (previous_end, start) if start > previous_end else None

    def pieces(self, offset: int, length: int) -> Iterator[tuple[int, int, int]]:
        """(document offset, address, count) runs covering [offset, offset+length)."""
        end = min(self.size, offset + length)
        pos = offset
        while pos < end:
            index = self.region_index(pos)
            region = self.readable[index]
            within = pos - self._starts[index]
            count = min(end - pos, region.size - within)
            yield pos, region.start + within, count
            pos += count


# ----------------------------------------------------------------- reading and writing
class ProcessMemory:
    """A live process's readable memory as one folded byte sequence.

    ``read`` never faults and never raises for a page that vanished since the maps were read:
    such bytes read as zeros and ``last_read_holes`` names them, so a view can mark them.
    """

    def __init__(self, pid: int, *, writable: bool = False) -> None:
        self.pid = pid
        self.writable = writable
        self.space = AddressSpace(read_maps(pid))
        flags = (os.O_RDWR if writable else os.O_RDONLY) | os.O_CLOEXEC
        try:
            self._fd = os.open(f"/proc/{pid}/mem", flags)
        except (FileNotFoundError, ProcessLookupError):
            raise ProcessAccessError(errno.ESRCH, f"Process {pid} has exited.") from None
        except PermissionError as exc:
            raise ProcessAccessError(exc.errno, explain_refusal(pid, exc.errno)) from None
        self.last_read_holes: list[tuple[int, int]] = []
        self._probe()

    def _probe(self) -> None:
        """Fail now, with the reason, when the kernel lets us open but not read (Yama)."""
        for region in self.space.readable:
            try:
                os.pread(self._fd, 1, region.start)
                return
            except OSError as exc:
                if exc.errno == errno.EIO:
                    continue
                raise ProcessAccessError(exc.errno, explain_refusal(self.pid, exc.errno)) from None

    @property
    def size(self) -> int:
        return self.space.size

    @property
    def name(self) -> str:
        try:
            with open(f"/proc/{self.pid}/comm", encoding="utf-8", errors="replace") as stream:
                return stream.read().strip()
        except OSError:
            return f"process {self.pid}"

    def refresh(self) -> bool:
        """Re-read the maps; True when the address space changed."""
        regions = read_maps(self.pid)
        old = [(r.start, r.end, r.perms) for r in self.space.regions]
        if [(r.start, r.end, r.perms) for r in regions] == old:
            return False
        self.space = AddressSpace(regions)
        return True

    def read_address(self, address: int, length: int) -> tuple[bytes, list[tuple[int, int]]]:
        """Bytes at a virtual address; unreadable pages as zeros, listed as (address, count)."""
        # One pread straight into the bytes returned when nothing refuses (the usual case):
        # growing a buffer piece by piece cost several times the reads themselves.
        parts: list[bytes] = []
        holes: list[tuple[int, int]] = []
        pos = 0
        while pos < length:
            try:
                chunk = os.pread(self._fd, length - pos, address + pos)
            except OSError as exc:
                if exc.errno not in (errno.EIO, errno.EFAULT):
                    raise ProcessAccessError(
                        exc.errno, explain_refusal(self.pid, exc.errno)
                    ) from None
                chunk = b""
            if not chunk:
                # Unreadable from here to the end of this page (or of the request).
                skip = min(length - pos, PAGE_SIZE - (address + pos) % PAGE_SIZE)
                holes.append((address + pos, skip))
                chunk = bytes(skip)
            parts.append(chunk)
            pos += len(chunk)
        return (parts[0] if len(parts) == 1 else b"".join(parts)), holes

    def read(self, offset: int, length: int) -> bytes:
        """Bytes at document offsets (clipped at the end), as Document.read gives them."""
        parts = []
        self.last_read_holes = []
        if offset >= self.size or length <= 0:
            return b""
        for _doc, address, count in self.space.pieces(offset, length):
            data, holes = self.read_address(address, count)
            parts.append(data)
            self.last_read_holes.extend(holes)
        return b"".join(parts)

    def write(self, offset: int, data: bytes) -> None:
        """Write ``data`` at a document offset into the live process (opened writable)."""
        if not self.writable:
            raise ProcessAccessError(errno.EBADF, "The process was opened read-only.")
        view = memoryview(data)
        done = 0
        for _doc, address, count in self.space.pieces(offset, len(data)):
            written = 0
            while written < count:
                try:
                    n = os.pwrite(self._fd, view[done + written : done + count], address + written)
                except OSError as exc:
                    raise ProcessAccessError(
                        exc.errno,
                        f"Writing {count} bytes at {address + written:#x} of process "
                        f"{self.pid} failed: {os.strerror(exc.errno or 0)}.",
                    ) from None
                if n <= 0:
                    raise ProcessAccessError(errno.EIO, f"{address + written:#x} is not writable.")
                written += n
            done += count
        if done != len(data):
            raise ProcessAccessError(errno.EFAULT, "The write runs past the end of the memory.")

    def pagemap(self, address: int, pages: int) -> list[int]:
        """Raw /proc/PID/pagemap entries (see PAGEMAP_*), one per page from ``address``."""
        raw = self.pagemap_bytes(address, pages)
        return [int.from_bytes(raw[i : i + 8], "little") for i in range(0, len(raw), 8)]

    def pagemap_bytes(self, address: int, pages: int) -> bytes:
        """The same entries as little-endian u64s, unparsed (for counting at C speed)."""
        try:
            fd = os.open(f"/proc/{self.pid}/pagemap", os.O_RDONLY | os.O_CLOEXEC)
        except OSError as exc:
            raise ProcessAccessError(exc.errno or 0, explain_refusal(self.pid, exc.errno)) from None
        try:
            return os.pread(fd, pages * 8, address // PAGE_SIZE * 8)
        finally:
            os.close(fd)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> ProcessMemory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def page_state(entry: int) -> str:
    """A pagemap entry in words: present/swapped/not present, file/anon, soft-dirty."""
    if entry & PAGEMAP_PRESENT:
        state = "present"
    elif entry & PAGEMAP_SWAPPED:
        state = "swapped"
    else:
        return "not present"
    state += ", file-backed" if entry & PAGEMAP_FILE else ", anonymous"
    if entry & PAGEMAP_SOFT_DIRTY:
        state += ", soft-dirty"
    return state
