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
truncation. Any other SIGBUS (a fault elsewhere, or one sent with kill) puts the previous
handler back (the default action, or faulthandler's) and raises the signal again for it, so it
is handled exactly as without the guard.

The handler (``_CODE`` below, each instruction beside its bytes as ``objdump -d -M intel``
prints them; assembled with ``as --64``) uses only registers and raw system calls, so it is safe
in a signal handler:

- a signal not raised by the kernel for a fault (``si_code <= 0``: kill, tkill, sigqueue), or a
  fault at an address outside every slot: ``rt_sigaction`` puts the previous action back and
  ``tkill(gettid(), SIGBUS)`` raises the signal again for it, then return (a fault would also
  recur by itself);
- a fault inside a slot ``[lo, hi)``: ``mmap(page, 4096, PROT_READ, MAP_PRIVATE | MAP_FIXED |
  MAP_ANONYMOUS)`` over the faulting page (if that fails: as above), ``lock inc`` the fault
  counter, and return: the access is retried on the zero page.

``rbx`` holds the data block's address (patched in at ``_PATCH_AT``): {counter, pad, 16 slots
of {lo, hi}, the previous kernel sigaction}. ``syscall`` clobbers ``rcx`` and ``r11``, so the
base lives in ``rbx``, saved and restored around the handler.
"""

from __future__ import annotations

import ctypes
import mmap
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from mmhex.core.record import record  # not dataclasses: `mmhex find`'s start-up

_CODE = bytes.fromhex(
    "53"  # 00: push rbx
    "48bb0000000000000000"  # 01: movabs rbx,0x0
    "837e0800"  # 0b: cmp DWORD PTR [rsi+0x8],0x0
    "7e23"  # 0f: jle 34
    "488b4610"  # 11: mov rax,QWORD PTR [rsi+0x10]
    "488d4b10"  # 15: lea rcx,[rbx+0x10]
    "ba10000000"  # 19: mov edx,0x10
    "4c8b01"  # 1e: mov r8,QWORD PTR [rcx]
    "4c39c0"  # 21: cmp rax,r8
    "7206"  # 24: jb 2c
    "483b4108"  # 26: cmp rax,QWORD PTR [rcx+0x8]
    "723a"  # 2a: jb 66
    "4883c110"  # 2c: add rcx,0x10
    "ffca"  # 30: dec edx
    "75ea"  # 32: jne 1e
    "bf07000000"  # 34: mov edi,0x7
    "488db310010000"  # 39: lea rsi,[rbx+0x110]
    "31d2"  # 40: xor edx,edx
    "41ba08000000"  # 42: mov r10d,0x8
    "b80d000000"  # 48: mov eax,0xd
    "0f05"  # 4d: syscall
    "b8ba000000"  # 4f: mov eax,0xba
    "0f05"  # 54: syscall
    "89c7"  # 56: mov edi,eax
    "be07000000"  # 58: mov esi,0x7
    "b8c8000000"  # 5d: mov eax,0xc8
    "0f05"  # 62: syscall
    "5b"  # 64: pop rbx
    "c3"  # 65: ret
    "4889c7"  # 66: mov rdi,rax
    "4881e700f0ffff"  # 69: and rdi,0xfffffffffffff000
    "be00100000"  # 70: mov esi,0x1000
    "ba01000000"  # 75: mov edx,0x1
    "41ba32000000"  # 7a: mov r10d,0x32
    "49c7c0ffffffff"  # 80: mov r8,0xffffffffffffffff
    "4531c9"  # 87: xor r9d,r9d
    "b809000000"  # 8a: mov eax,0x9
    "0f05"  # 8f: syscall
    "483d01f0ffff"  # 91: cmp rax,0xfffffffffffff001
    "739b"  # 97: jae 34
    "f048ff03"  # 99: lock inc QWORD PTR [rbx]
    "5b"  # 9d: pop rbx
    "c3"  # 9e: ret
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


@record
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
        system = os.uname()  # not platform: 1 ms of `mmhex find` start-up
        if system.sysname != "Linux" or system.machine != "x86_64":
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
