"""A child process with known memory, for the process-memory tests.

It maps three anonymous pages and unmaps the middle one (a hole between two regions), maps a
file it is given, writes markers, prints the addresses as one JSON line, then obeys commands
on stdin: ``ping`` (answers once its command loop is running, so its maps stop changing),
``touch`` (write the untouched page), ``dump ADDRESS COUNT PATH`` (write its own bytes
to PATH), ``peek ADDRESS COUNT`` (print them as hex), ``quit``.
"""

import ctypes
import json
import mmap
import sys

PAGE = mmap.PAGESIZE
libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [
    ctypes.c_void_p,
    ctypes.c_size_t,
    ctypes.c_int,
    ctypes.c_int,
    ctypes.c_int,
    ctypes.c_long,
]
libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
PROT = mmap.PROT_READ | mmap.PROT_WRITE
FLAGS = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS

# Mapped before the hole is made, so that this one-page mapping cannot land in it.
untouched = libc.mmap(None, PAGE, PROT, FLAGS, -1, 0)
anon = libc.mmap(None, 3 * PAGE, PROT, FLAGS, -1, 0)
assert anon not in (None, ctypes.c_void_p(-1).value)
libc.munmap(anon + PAGE, PAGE)  # the hole
marker = b"MMHEX-PROCESS-MARKER-" + bytes(range(256))
ctypes.memmove(anon, marker, len(marker))
ctypes.memmove(anon + 2 * PAGE, b"second half " * 10, 120)

with open(sys.argv[1], "r+b") as backing:
    file_map = mmap.mmap(backing.fileno(), 0)
file_address = ctypes.addressof(ctypes.c_char.from_buffer(file_map))

print(
    json.dumps(
        {
            "anon": anon,
            "hole": anon + PAGE,
            "second": anon + 2 * PAGE,
            "untouched": untouched,
            "file": file_address,
            "page": PAGE,
            "marker": marker.hex(),
        }
    ),
    flush=True,
)
for line in sys.stdin:
    words = line.split()
    if not words or words[0] == "quit":
        break
    if words[0] == "ping":
        print("pong", flush=True)
    elif words[0] == "touch":
        ctypes.memset(untouched, 0x5A, PAGE)
        print("ok", flush=True)
    elif words[0] == "peek":
        address, count = int(words[1]), int(words[2])
        print(ctypes.string_at(address, count).hex(), flush=True)
    elif words[0] == "dump":
        address, count = int(words[1]), int(words[2])
        with open(words[3], "wb") as out:
            out.write(ctypes.string_at(address, count))
        print("ok", flush=True)
