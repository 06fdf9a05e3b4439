"""Which format is this? libmagic's description (as ``file -b`` prints it) mapped to a format,
with a magic-bytes table as the fallback when libmagic is missing or names nothing we parse.

libmagic (Debian ``libmagic1``) is reached through ``python-magic``; it reads the file on disk
for an unmodified regular file (``file``'s own answer, BuildID and all) and the first MiB of the
document as edited otherwise. Never imports Qt.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from mmhex.core.structure_stream import Readable

_BUFFER_BYTES = 1024 * 1024  # what libmagic sees of an edited document or a block device

# (pattern over the description, format); the first match wins, so specific before general.
DESCRIPTION_FORMATS: tuple[tuple[str, str], ...] = (
    (r"^ELF ", "elf"),
    (r"^PE32\+? executable|^PE32\+? ", "microsoft_pe"),
    (r"^MS-DOS executable", "dos_mz"),
    (r"^Mach-O universal binary", "mach_o_fat"),
    (r"^Mach-O ", "mach_o"),
    (r"^PNG image", "png"),
    (r"^GIF image", "gif"),
    (r"^JPEG image", "jpeg"),
    (r"^PC bitmap", "bmp"),
    (r"^(Zip archive|Java archive|OpenDocument|Microsoft (Word|Excel|PowerPoint) 2007)", "zip"),
    (r"^gzip compressed", "gzip"),
    (r"FAT \((12|16|32) bit\)", "vfat"),
    (r"^DOS/MBR boot sector.*ID=0xee", "gpt_partition_table"),
    (r"^DOS/MBR boot sector", "mbr_partition_table"),
    (r"ext[234] filesystem data", "ext2"),
    (r"^SQLite 3\.x database", "sqlite3"),
    (r"^(pcap|tcpdump) capture file", "pcap"),
    (r"^ISO 9660 CD-ROM filesystem", "iso9660"),
    (r"^RIFF \(.*\) data, WAVE audio", "wav"),
    (r"^RIFF \(.*\) data, AVI", "avi"),
    (r"^RIFF \(", "riff"),
    (r"^compiled Java class data", "java_class"),
    (r"^Dalvik dex", "dex"),
    (r"^TrueType Font", "ttf"),
    (r"^RAR archive", "rar"),
    (r"^Ogg data", "ogg"),
    (r"^LUKS encrypted", "luks"),
    (r"^Composite Document File V2", "microsoft_cfb"),
    (r"^GNU message catalog", "gettext_mo"),
    (r"^MS Windows registry file", "regf"),
    (r"^MS Windows shortcut", "windows_lnk_file"),
    (r"^MS Windows icon resource", "ico"),
    (r"^Mini DuMP crash report", "windows_minidump"),
    (r"^Blender3D", "blender_blend"),
    (r"^Standard MIDI data", "standard_midi_file"),
    (r"^Macromedia Flash data", "swf"),
    (r"^DICOM medical imaging", "dicom"),
    (r"^xar archive", "xar"),
    (r"ID3 version 2\.3", "id3v2_3"),
    (r"ID3 version 2\.4", "id3v2_4"),
    (r"^Sun/NeXT audio data", "au"),
    (r"^RPM ", "rpm"),
    (r"^u-boot legacy uImage", "uimage"),
    (r"^VMware4 disk image", "vmware_vmdk"),
    (r"^Android sparse image", "android_sparse"),
    (r"^Android bootimg", "android_img"),
    (r"^Device Tree Blob", "dtb"),
    (r"^Linux Compressed ROM File System|^Linux cramfs", "cramfs"),
    (r"^glTF binary", "gltf_binary"),
    (r"^Apple Desktop Services Store", "ds_store"),
    (r"^Targa image", "tga"),
    (r"^PCX ", "pcx"),
    (r"^Windows Enhanced Metafile|^MS Windows metafile", "wmf"),
    (r"^Microsoft Network Monitor", "microsoft_network_monitor_v2"),
    (r"^Debian binary package|^current ar archive", ""),
)

# (offset, bytes, format): checked in order when the description names no format we have.
MAGIC_BYTES: tuple[tuple[int, bytes, str], ...] = (
    (0, b"\x7fELF", "elf"),
    (0, b"\x89PNG\r\n\x1a\n", "png"),
    (0, b"GIF87a", "gif"),
    (0, b"GIF89a", "gif"),
    (0, b"\xff\xd8\xff", "jpeg"),
    (0, b"PK\x03\x04", "zip"),
    (0, b"PK\x05\x06", "zip"),
    (0, b"\x1f\x8b", "gzip"),
    (0, b"SQLite format 3\x00", "sqlite3"),
    (0, b"\xd4\xc3\xb2\xa1", "pcap"),
    (0, b"\xa1\xb2\xc3\xd4", "pcap"),
    (0, b"\xcf\xfa\xed\xfe", "mach_o"),
    (0, b"\xce\xfa\xed\xfe", "mach_o"),
    (0, b"\xfe\xed\xfa\xcf", "mach_o"),
    (0, b"\xfe\xed\xfa\xce", "mach_o"),
    (0, b"MZ", "microsoft_pe"),
    (0, b"BM", "bmp"),
    (512, b"EFI PART", "gpt_partition_table"),
    (4096, b"EFI PART", "gpt_partition_table"),
    (0x8001, b"CD001", "iso9660"),
    (1080, b"\x53\xef", "ext2"),
    (0x52, b"FAT32   ", "vfat"),
    (0x36, b"FAT1", "vfat"),
    (510, b"\x55\xaa", "mbr_partition_table"),
)


@dataclass(frozen=True)
class Detection:
    description: str  # libmagic's text, or the magic-bytes format's name when libmagic is absent
    format: str | None


def format_for_description(description: str, known: set[str] | None = None) -> str | None:
    for pattern, name in DESCRIPTION_FORMATS:
        if re.search(pattern, description):
            if not name or (known is not None and name not in known):
                return None
            return name
    return None


def format_for_bytes(document: Readable, known: set[str] | None = None) -> str | None:
    size = document.size
    for offset, magic, name in MAGIC_BYTES:
        if name == "wav" or offset + len(magic) > size:
            continue
        if document.read(offset, len(magic)) == magic and (known is None or name in known):
            if name == "mbr_partition_table" and document.read(450, 1) == b"\xee":
                continue  # a protective MBR: the GPT check above missed a 4 KiB-sector disk
            return name
    head = document.read(0, 12)
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE" and (known is None or "wav" in known):
        return "wav"
    return None


def describe(document: Readable, path: str | None = None, modified: bool = False) -> str | None:
    """libmagic's description of the document; None when libmagic cannot be loaded."""
    try:
        import magic  # python-magic over Debian's libmagic1, loaded only when asked
    except (ImportError, OSError):
        return None
    try:
        # A path that names no regular file (a process's label) describes the bytes shown.
        if path is not None and not modified and os.path.isfile(path):
            # The document holds the link's target, so describe that (as `file -L` does).
            return magic.from_file(os.path.realpath(path))
        return magic.from_buffer(document.read(0, min(document.size, _BUFFER_BYTES)))
    except (OSError, magic.MagicException) as exc:
        return f"unknown ({exc})"


def detect(
    document: Readable,
    path: str | None = None,
    modified: bool = False,
    known: set[str] | None = None,
) -> Detection:
    """The description for the status bar and the format to parse with (None: none fits)."""
    description = describe(document, path, modified)
    name = format_for_description(description, known) if description else None
    if name is None:
        name = format_for_bytes(document, known)
    if description is None:
        description = name or "data"
    return Detection(description, name)
