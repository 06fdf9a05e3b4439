"""Survive SIGBUS on watched mapped pages: the last line of defence of in-place scans.

A scan reads mapped memory in place only under a read lease (see scan.py), which makes a
truncating writer wait. But a process stopped (SIGSTOP, Ctrl+Z) while it holds the lease cannot
answer the lease break: after /proc/sys/fs/lease-break-time the kernel takes the lease away, the
writer truncates, and on SIGCONT the scan, in the middle of native code (StringZilla, Hyperscan,
``re``), touches a page past the new end. Nothing written in Python can run at that instant, and
a Python SIGBUS handler only makes the access fault forever.

So a tiny native SIGBUS handler is installed (x86-64 Linux only; elsewhere ``watch`` guards
nothing and scans rely on re-validation alone). For a fault inside a *watched* range (a leased
in-place view, registered for the duration of its ``with`` block) it maps a page of zeros over
the faulting page, counts the fault and returns: the access is retried and reads zeros, the scan
ends its piece, and ``Watch.faulted`` tells the caller to discard what it read and to report the
truncation. A fault anywhere else puts the previous handler back (the default action, or
faulthandler's) and returns, so that fault is handled exactly as without the guard.

The handler, assembled from this listing (``as --64``), uses only registers and two system calls,
so it is safe in a signal handler:

    push   rbx                  ; rbx: callee-saved, and kept by syscall (rcx, r11 are not)
    movabs rbx, DATA            ; patched: the data block's address
    mov    rax, [rsi+16]        ; info->si_addr
    lea    rcx, [rbx+16]        ; 16 slots {lo, hi}
    mov    edx, 16
 1: mov    r8, [rcx]
    cmp    rax, r8
    jb     2f
    cmp    rax, [rcx+8]
    jb     3f
 2: add    rcx, 16
    dec    edx
    jnz    1b
 4: mov edi, 7 ; lea rsi, [rbx+272] ; xor edx, edx ; mov r10d, 8 ; mov eax, 13 ; syscall
    pop rbx ; ret                   ; rt_sigaction(SIGBUS, previous, NULL, 8)
 3: mov rdi, rax ; and rdi, -4096 ; mov esi, 4096 ; mov edx, 1 ; mov r10d, 0x32
    mov r8, -1 ; xor r9d, r9d ; mov eax, 9 ; syscall
    ;                                  mmap(page, 4096, PROT_READ, PRIVATE|FIXED|ANONYMOUS)
    cmp    rax, -4095           ; failed: behave as for a fault that is not ours
    jae    4b
    lock inc qword [rbx]        ; count it
    pop rbx ; ret
"""

from __future__ import annotations

import ctypes
import mmap
import platform
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

_CODE = bytes.fromhex(
    "53"  # push rbx
    "48bb0000000000000000"  # movabs rbx, DATA (bytes 3..10 patched)
    "488b4610"  # mov rax, [rsi+16]
    "488d4b10"  # lea rcx, [rbx+16]
    "ba10000000"  # mov edx, 16
    "4c8b01"  # 1: mov r8, [rcx]
    "4c39c0"  # cmp rax, r8
    "7206"  # jb 2f
    "483b4108"  # cmp rax, [rcx+8]
    "7225"  # jb 3f
    "4883c110"  # 2: add rcx, 16
    "ffca"  # dec edx
    "75ea"  # jnz 1b
    "bf07000000"  # 4: mov edi, SIGBUS
    "488db310010000"  # lea rsi, [rbx+272]
    "31d2"  # xor edx, edx
    "41ba08000000"  # mov r10d, 8
    "b80d000000"  # mov eax, SYS_rt_sigaction
    "0f05"  # syscall
    "5b"  # pop rbx
    "c3"  # ret
    "4889c7"  # 3: mov rdi, rax
    "4881e700f0ffff"  # and rdi, -4096
    "be00100000"  # mov esi, 4096
    "ba01000000"  # mov edx, PROT_READ
    "41ba32000000"  # mov r10d, MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS
    "49c7c0ffffffff"  # mov r8, -1
    "4531c9"  # xor r9d, r9d
    "b809000000"  # mov eax, SYS_mmap
    "0f05"  # syscall
    "483d01f0ffff"  # cmp rax, -4095
    "73b0"  # jae 4b
    "f048ff03"  # lock inc qword [rbx]
    "5b"  # pop rbx
    "c3"  # ret
)
_PATCH_AT = 3  # where the data block's address goes
_SLOTS = 16
_SLOTS_AT = 16
_PREVIOUS_AT = _SLOTS_AT + 16 * _SLOTS  # the previous kernel sigaction (32 bytes)
_SA_SIGINFO = 4
_SYS_RT_SIGACTION = 13


class _SigAction(ctypes.Structure):
    """glibc's struct sigaction on x86-64 (glibc adds the restorer the kernel needs)."""

    _fields_ = [
        ("handler", ctypes.c_void_p),
        ("mask", ctypes.c_uint64 * 16),
        ("flags", ctypes.c_int),
        ("restorer", ctypes.c_void_p),
    ]


@dataclass
class Watch:
    """One watched range; ``faulted`` says whether a fault was absorbed while it was watched."""

    guarded: bool
    _start_count: int = 0

    @property
    def faulted(self) -> bool:
        return self.guarded and _GUARD.faults() != self._start_count


class _Guard:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._state: bool | None = None  # None: not tried yet
        self._data = 0
        self._free = list(range(_SLOTS))

    def available(self) -> bool:
        with self._lock:
            if self._state is None:
                try:
                    self._state = self._install()
                except (OSError, AttributeError, ValueError):
                    self._state = False
            return self._state

    def _install(self) -> bool:
        if platform.system() != "Linux" or platform.machine() != "x86_64":
            return False
        if mmap.PAGESIZE != 4096:
            return False
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.mmap.restype = ctypes.c_void_p
        libc.mmap.argtypes = [
            ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int,
            ctypes.c_long,
        ]  # fmt: skip
        libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
        libc.syscall.restype = ctypes.c_long
        libc.sigaction.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p]
        anonymous = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS
        rw = mmap.PROT_READ | mmap.PROT_WRITE
        data = libc.mmap(None, 4096, rw, anonymous, -1, 0)
        code = libc.mmap(None, 4096, rw, anonymous, -1, 0)
        if data in (None, ctypes.c_void_p(-1).value) or code in (None, ctypes.c_void_p(-1).value):
            return False
        ctypes.memset(data, 0, 4096)
        end = _PATCH_AT + 8
        patched = _CODE[:_PATCH_AT] + data.to_bytes(8, "little") + _CODE[end:]
        ctypes.memmove(code, patched, len(patched))
        if libc.mprotect(code, 4096, mmap.PROT_READ | mmap.PROT_EXEC) != 0:
            return False
        # The previous action as the kernel holds it, for the handler to put back.
        previous = ctypes.c_void_p(data + _PREVIOUS_AT)
        if libc.syscall(_SYS_RT_SIGACTION, int(signal.SIGBUS), None, previous, 8) != 0:
            return False
        action = _SigAction(handler=code, flags=_SA_SIGINFO)
        if libc.sigaction(int(signal.SIGBUS), ctypes.byref(action), None) != 0:
            return False
        self._data = data
        return True

    def faults(self) -> int:
        return ctypes.c_uint64.from_address(self._data).value

    @contextmanager
    def watch(self, start: int, end: int) -> Iterator[Watch]:
        if not self.available():
            yield Watch(False)
            return
        with self._lock:
            slot = self._free.pop() if self._free else None
        if slot is None:  # more concurrent scans than slots: this one is unguarded
            yield Watch(False)
            return
        lo = ctypes.c_uint64.from_address(self._data + _SLOTS_AT + 16 * slot)
        hi = ctypes.c_uint64.from_address(self._data + _SLOTS_AT + 16 * slot + 8)
        watch = Watch(True, self.faults())
        lo.value = start
        hi.value = end  # the range is live once both are set (an empty one matches nothing)
        try:
            yield watch
        finally:
            hi.value = 0
            lo.value = 0
            with self._lock:
                self._free.append(slot)


_GUARD = _Guard()


def available() -> bool:
    """Whether faults in watched ranges are survived on this machine."""
    return _GUARD.available()


def watch(start: int, end: int):  # -> AbstractContextManager[Watch]
    """Absorb SIGBUS on the addresses ``[start, end)`` while the block runs (see module doc)."""
    return _GUARD.watch(start, end)
