"""Process memory: a child with known bytes, its maps, the folded gap, pagemap, writes, refusals."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mmhex.core import process
from mmhex.core.process import AddressSpace, ProcessAccessError, ProcessMemory, parse_maps
from tests.process_support import Child, child  # noqa: F401 (fixture)
from tests.residency_support import nobody, run_as_nobody  # noqa: F401 (fixture)


def test_regions_equal_proc_maps(child: Child) -> None:  # noqa: F811
    with open(f"/proc/{child.pid}/maps") as stream:
        lines = stream.read().splitlines()
    regions = process.read_maps(child.pid)
    assert len(regions) == len(lines)
    for region, line in zip(regions, lines, strict=True):
        assert region.as_maps_line() == " ".join(line.split()), line
    # The vvar page and the hole's neighbours are classified.
    by_path = {region.path: region for region in regions}
    if "[vvar]" in by_path:
        assert not by_path["[vvar]"].readable


def test_bytes_read_equal_the_childs(child: Child) -> None:  # noqa: F811
    info = child.info
    with ProcessMemory(child.pid) as memory:
        marker = bytes.fromhex(info["marker"])
        data, holes = memory.read_address(info["anon"], len(marker))
        assert holes == []
        assert data == marker
        assert data.hex() == child.ask(f"peek {info['anon']} {len(marker)}")
        file_bytes, _ = memory.read_address(info["file"], 8192)
        assert file_bytes == bytes(range(256)) * 32
        # The same bytes through document offsets.
        offset = memory.space.offset_of(info["anon"])
        assert offset is not None
        assert memory.read(offset, len(marker)) == marker


def test_the_unmapped_gap_is_folded(child: Child) -> None:  # noqa: F811
    info = child.info
    page = info["page"]
    with ProcessMemory(child.pid) as memory:
        space = memory.space
        assert space.offset_of(info["hole"]) is None
        first_end = space.offset_of(info["anon"] + page - 1)
        second = space.offset_of(info["second"])
        assert first_end is not None and second is not None
        # Nothing between the two halves takes a document offset.
        assert second == first_end + 1
        index = space.region_index(second)
        assert space.gap_before(index) == (info["hole"], info["hole"] + page)
        # Reading across the fold gives the last byte of one half and the first of the other.
        assert memory.read(first_end, 2) == b"\x00" + b"s"
        # A direct read of the hole says it is unreadable instead of inventing bytes.
        _data, holes = memory.read_address(info["hole"], 16)
        assert holes == [(info["hole"], 16)]
        assert space.size == sum(r.size for r in space.regions if r.readable)


def test_pagemap_presence_flips_when_the_child_touches_a_page(child: Child) -> None:  # noqa: F811
    address = child.info["untouched"]
    with ProcessMemory(child.pid) as memory:
        before = memory.pagemap(address, 1)[0]
        assert not before & process.PAGEMAP_PRESENT
        assert child.ask("touch") == "ok"
        after = memory.pagemap(address, 1)[0]
        assert after & process.PAGEMAP_PRESENT
        assert not after & process.PAGEMAP_FILE
        assert process.page_state(after).startswith("present, anonymous")


def test_search_finds_the_marker_the_child_wrote(child: Child) -> None:  # noqa: F811
    marker = bytes.fromhex(child.info["marker"])[:21]
    with ProcessMemory(child.pid) as memory:
        found = []
        chunk = 1 << 20
        pos = 0
        while pos < memory.size:
            data = memory.read(pos, chunk + len(marker) - 1)
            at = data.find(marker)
            while at != -1 and at < chunk:
                found.append(memory.space.address_of(pos + at))
                at = data.find(marker, at + 1)
            pos += chunk
    assert child.info["anon"] in found


def test_a_write_changes_the_childs_memory(child: Child) -> None:  # noqa: F811
    address = child.info["second"]
    with ProcessMemory(child.pid, writable=True) as memory:
        offset = memory.space.offset_of(address)
        assert offset is not None
        memory.write(offset, b"WRITTEN BY MMHEX")
    assert child.ask(f"peek {address} 16") == b"WRITTEN BY MMHEX".hex()


def test_read_only_refuses_writes(child: Child) -> None:  # noqa: F811
    with ProcessMemory(child.pid) as memory, pytest.raises(ProcessAccessError):
        memory.write(0, b"x")


def test_missing_process_and_kernel_thread() -> None:
    with pytest.raises(ProcessAccessError, match="no process"):
        process.read_maps(2**22 + 12345)
    kthreadd = 2  # kthreadd on Linux; skip where PID 2 is not a kernel thread (containers)
    if process._is_kernel_thread(kthreadd):
        with pytest.raises(ProcessAccessError, match="kernel thread"):
            process.read_maps(kthreadd)


def test_process_list_excludes_kernel_threads_and_has_us() -> None:
    rows = process.list_processes()
    pids = {row.pid for row in rows}
    assert os.getpid() in pids
    me = next(row for row in rows if row.pid == os.getpid())
    assert me.rss > 0 and me.name
    assert not any(process._is_kernel_thread(row.pid) for row in rows)


def test_parse_maps_keeps_spaces_in_names() -> None:
    text = "7f00-7f10 r--p 00001000 08:01 42 /tmp/a name with spaces\n7f20-7f30 ---p 0 00:00 0\n"
    regions = parse_maps(text)
    assert regions[0].path == "/tmp/a name with spaces"
    assert regions[0].offset == 0x1000
    assert not regions[1].readable and "guard" in regions[1].unreadable
    space = AddressSpace(regions)
    assert space.size == 0x10
    assert space.address_of(5) == 0x7F05


def test_dump_pid_equals_xxd_of_the_same_bytes(child: Child, tmp_path: Path) -> None:  # noqa: F811
    address = child.info["anon"]
    count = 200
    copy = tmp_path / "copy.bin"
    assert child.ask(f"dump {address} {count} {copy}") == "ok"
    ours = subprocess.run(
        [
            sys.executable,
            "-m",
            "mmhex",
            "dump",
            "--pid",
            str(child.pid),
            "-s",
            str(address),
            "-n",
            str(count),
        ],
        capture_output=True,
        check=True,
    ).stdout
    xxd = subprocess.run(
        ["xxd", "-o", str(address), "-l", str(count), str(copy)], capture_output=True, check=True
    ).stdout
    assert ours == xxd


def test_dump_pid_stops_at_an_unreadable_page(child: Child) -> None:  # noqa: F811
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mmhex",
            "dump",
            "--pid",
            str(child.pid),
            "-s",
            str(child.info["hole"] - 16),
            "-n",
            "64",
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert f"{child.info['hole']:#x}" in result.stderr and "not readable" in result.stderr
    assert len(result.stdout.splitlines()) == 1  # the 16 readable bytes before the hole
    assert "Traceback" not in result.stderr


def test_maps_cli_text_and_json(child: Child) -> None:  # noqa: F811
    text = subprocess.run(
        [sys.executable, "-m", "mmhex", "maps", str(child.pid)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    as_json = json.loads(
        subprocess.run(
            [sys.executable, "-m", "mmhex", "maps", str(child.pid), "--json"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    with open(f"/proc/{child.pid}/maps") as stream:
        reference = stream.read().splitlines()
    assert len(text.splitlines()) == len(as_json) == len(reference)
    # The kernel may merge the child's pages with neighbouring anonymous regions: look for
    # the region holding each address rather than one that starts there.
    for address in (child.info["anon"], child.info["second"], child.info["file"]):
        assert any(entry["start"] <= address < entry["end"] for entry in as_json), hex(address)
    assert not any(entry["start"] <= child.info["hole"] < entry["end"] for entry in as_json)


def test_refused_as_nobody_against_a_root_process(nobody) -> None:  # noqa: F811
    if os.geteuid() != 0:
        pytest.skip("needs root")
    python, package_root = nobody
    target = str(os.getpid())  # this test runs as root
    for argv in (["maps", target], ["dump", "--pid", target, "-s", "0x1000", "-n", "16"]):
        result = run_as_nobody(python, package_root, "-m", "mmhex", *argv)
        assert result.returncode == 2, result
        assert "Traceback" not in result.stderr
        assert "belongs to root" in result.stderr and "CAP_SYS_PTRACE" in result.stderr
