"""ctypes access to what Python's stdlib lacks; every failing call raises OSError naming the call.

This is the only module that talks to libc or CPython's C API directly.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import mmap
import os

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


class _PyBuffer(ctypes.Structure):
    _fields_ = [
        ("buf", ctypes.c_void_p),
        ("obj", ctypes.py_object),
        ("len", ctypes.c_ssize_t),
        ("itemsize", ctypes.c_ssize_t),
        ("readonly", ctypes.c_int),
        ("ndim", ctypes.c_int),
        ("format", ctypes.c_char_p),
        ("shape", ctypes.c_void_p),
        ("strides", ctypes.c_void_p),
        ("suboffsets", ctypes.c_void_p),
        ("internal", ctypes.c_void_p),
    ]


_get_buffer = ctypes.pythonapi.PyObject_GetBuffer
_get_buffer.argtypes = [ctypes.py_object, ctypes.POINTER(_PyBuffer), ctypes.c_int]
_get_buffer.restype = ctypes.c_int
_release_buffer = ctypes.pythonapi.PyBuffer_Release
_release_buffer.argtypes = [ctypes.POINTER(_PyBuffer)]
_release_buffer.restype = None


def mapping_address(mm: mmap.mmap) -> int:
    """Return the start address of a mapping without keeping a buffer export alive.

    ``ctypes.c_char.from_buffer`` fails on read-only maps and any live export makes
    ``mm.close()`` raise BufferError, so the buffer is taken and released at once.
    """
    view = _PyBuffer()
    _get_buffer(mm, ctypes.byref(view), 0)  # PyBUF_SIMPLE; raises on failure
    try:
        return int(view.buf or 0)
    finally:
        _release_buffer(ctypes.byref(view))


def raise_errno(call: str, detail: str = "") -> None:
    """Raise the OSError for the errno libc just set, naming the failing call."""
    err = ctypes.get_errno()
    message = f"{os.strerror(err)} ({call})"
    if detail:
        message = f"{message}: {detail}"
    raise OSError(err, message)
