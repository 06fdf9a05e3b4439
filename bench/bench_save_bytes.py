"""Benchmark: the bytes a save sends to the disk, against pwrite + fdatasync of the same edits.

Issue 10, item 4 ("saving writes whole folios"). A file in the page cache sits in large folios
(up to 2 MiB); a one-byte store through a MAP_SHARED mapping dirties the whole folio, so a save
of 100 one-byte edits could write ~100 × 2 MiB. Here 100 scattered one-byte edits are saved
through mmhex (Document.open → write → save, the window's own path) and, as the reference, with
``os.pwrite`` of each byte and one ``fdatasync``, in a file that is cached (read once, as after a
search) and one that is not. Printed: KiB that reached the device and the ratio mmhex/pwrite,
median of --runs runs. Goal: ≤ 2× in both states.

The device count comes from a file system of our own: as root the script makes an ext4 image,
loop-mounts it and reads the loop device's "sectors written" (/sys/block/loopN/stat), which no
other process touches; data and the journal commits of fdatasync/msync both count, as on a real
disk. Without root (or with --dir) it falls back to /proc/self/io write_bytes, which counts the
bytes of the folios this process dirtied (a dirtied 2 MiB folio counts 2 MiB even when the file
system writes back only its dirty blocks, so the pwrite reference is then overstated).

Usage: ``python bench/bench_save_bytes.py [--dir DIR] [--size-mib 1024] [--runs 3]``
(this is the `save` section of the editing benchmark; it lives in its own script so that it can
be run alone). Removes what it created.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mmhex.core.document import Document

MIB = 1 << 20
EDITS = 100


def written_bytes() -> int:
    """Bytes this process caused to be sent to storage (its msync/fsync writeback included)."""
    with open("/proc/self/io") as handle:
        for line in handle:
            if line.startswith("write_bytes:"):
                return int(line.split()[1])
    raise RuntimeError("no write_bytes in /proc/self/io (kernel without task I/O accounting)")


@contextlib.contextmanager
def own_file_system(parent: str, size: int) -> Iterator[tuple[Path, Callable[[], int]]]:
    """A loop-mounted ext4 of its own, and a function giving the bytes written to its device."""
    work = Path(tempfile.mkdtemp(prefix="mmhex-bench-fs-", dir=parent))
    image, mount = work / "fs.img", work / "mnt"
    mount.mkdir()
    with open(image, "wb") as handle:
        handle.truncate(size + size // 4 + 256 * MIB)
    device = ""
    try:
        subprocess.run(["mkfs.ext4", "-q", "-F", str(image)], check=True)
        device = subprocess.run(
            ["losetup", "--find", "--show", str(image)], check=True, capture_output=True, text=True
        ).stdout.strip()
        subprocess.run(["mount", device, str(mount)], check=True)
        stat = Path("/sys/block") / os.path.basename(device) / "stat"

        def device_bytes() -> int:
            return int(stat.read_text().split()[6]) * 512  # sectors written, 512 bytes each

        yield mount, device_bytes
    finally:
        subprocess.run(["umount", str(mount)], check=False)
        if device:
            subprocess.run(["losetup", "-d", device], check=False)
        shutil.rmtree(work, ignore_errors=True)


def fill(path: Path, size: int) -> None:
    block = random.Random(1).randbytes(16 * MIB)
    with open(path, "wb") as handle:
        for start in range(0, size, len(block)):
            handle.write(block[: min(len(block), size - start)])
        handle.flush()
        os.fsync(handle.fileno())


def set_cache(path: Path, cached: bool) -> None:
    """Start clean: drop the file from the cache, then (cached) read it all back, as a search
    would, so the kernel holds it in large folios."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        if cached:
            size = os.fstat(fd).st_size
            for start in range(0, size, 8 * MIB):
                os.pread(fd, 8 * MIB, start)
    finally:
        os.close(fd)


def edits_for(size: int, seed: int) -> list[tuple[int, bytes]]:
    rng = random.Random(seed)
    offsets = sorted(rng.sample(range(size), EDITS))
    return [(offset, bytes([rng.randrange(256)])) for offset in offsets]


def save_with_mmhex(path: Path, edits: list[tuple[int, bytes]], count: Callable[[], int]) -> int:
    document = Document.open(str(path))
    try:
        document.enable_editing()
        for offset, value in edits:
            document.write(offset, value)
        before = count()
        document.save()
        return count() - before
    finally:
        document.close()


def save_with_pwrite(path: Path, edits: list[tuple[int, bytes]], count: Callable[[], int]) -> int:
    fd = os.open(path, os.O_RDWR)
    try:
        before = count()
        for offset, value in edits:
            os.pwrite(fd, value, offset)
        os.fdatasync(fd)
        return count() - before
    finally:
        os.close(fd)


def measure(
    path: Path, size: int, cached: bool, runs: int, count: Callable[[], int]
) -> tuple[float, float]:
    ours: list[int] = []
    reference: list[int] = []
    for run in range(runs):
        edits = edits_for(size, 100 + 2 * run + cached)
        set_cache(path, cached)
        reference.append(save_with_pwrite(path, edits, count))
        edits = edits_for(size, 200 + 2 * run + cached)
        set_cache(path, cached)
        ours.append(save_with_mmhex(path, edits, count))
    return statistics.median(ours), statistics.median(reference)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", help="use this folder and /proc/self/io instead of a loop fs")
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    size = args.size_mib * MIB
    parent = "/work" if os.path.isdir("/work") else tempfile.gettempdir()
    with contextlib.ExitStack() as stack:
        if args.dir is None and os.geteuid() == 0 and shutil.which("mkfs.ext4"):
            folder, count = stack.enter_context(own_file_system(parent, size))
            source = "device sectors written (own loop-mounted ext4)"
        else:
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(dir=args.dir)))
            count, source = written_bytes, "/proc/self/io write_bytes (dirtied folios)"
        path = folder / "big.bin"
        fill(path, size)
        print(f"{EDITS} one-byte edits in a {args.size_mib} MiB file, median of {args.runs} runs")
        print(f"bytes counted: {source}")
        print(f"{'file':<11} {'mmhex KiB':>10} {'pwrite KiB':>11} {'ratio':>7}  goal ≤ 2")
        for cached in (True, False):
            ours, reference = measure(path, size, cached, args.runs, count)
            ratio = ours / reference if reference else float("inf")
            label = "cached" if cached else "not cached"
            print(f"{label:<11} {ours / 1024:>10,.0f} {reference / 1024:>11,.0f} {ratio:>7.2f}")


if __name__ == "__main__":
    main()
