"""A document seen as its format: a lazy tree of fields parsed by Kaitai Struct.

``parse()`` runs a compiled (debug-mode) format over the Document through a tracking stream and
returns a tree of ``Node``s with rendered values and absolute offsets. Children are built on
demand (a thousand-entry array costs nothing until it is expanded, then 256 at a time) and
instances (Kaitai's lazy fields) are read only when first shown, so a 1 TiB disk image parses
its header alone. A parse error keeps what was read and says where and why it stopped.
Never imports Qt.
"""

from __future__ import annotations

import bisect
import datetime as dt
import enum
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from kaitaistruct import KaitaiStruct

from mmhex.core.progress import Cancelled, CancelToken
from mmhex.core.structure_formats import FormatRegistry, instance_names
from mmhex.core.structure_stream import FieldTooLarge, Readable, open_stream, tracking

CHUNK = 256  # children built per fetch
_PREVIEW_BYTES = 16
_TIME_NAME = re.compile(r"(time|date|timestamp|_ts$|^ts_|mtime|ctime|atime)", re.I)
# Bytes shown as text beside their hex when mostly printable: others become ".".
_PRINTABLE = {i: "." for i in range(256) if not 32 <= i < 127}
_UNIX_MIN, _UNIX_MAX = 100_000_000, 4_102_444_800  # 1973 .. 2100: plausible Unix times


@dataclass(frozen=True)
class StopInfo:
    """Where and why a parse stopped early."""

    path: str
    offset: int | None
    reason: str

    def describe(self) -> str:
        where = f" at {self.offset:#x}" if self.offset is not None else ""
        return f"Parsing stopped in {self.path or 'the file'}{where}: {self.reason}"


def describe_exception(exc: BaseException) -> str:
    """One sentence for a failure inside a compiled format (never a traceback)."""
    name = type(exc).__name__
    text = str(exc) or name
    if name == "EndOfStreamError" or isinstance(exc, EOFError):
        return f"the data ends too early ({text})"
    if name.startswith("Validation"):
        return f"the bytes do not match the format ({text})"
    if name == "NoTerminatorFoundError":
        return f"no terminator before the end of the data ({text})"
    if isinstance(exc, FieldTooLarge):
        return text
    if isinstance(exc, UnicodeDecodeError):
        return f"text that is not valid {exc.encoding}"
    return f"{text} ({name})" if text != name else name


@dataclass
class _Tree:
    """State shared by every node of one parse."""

    # Where raw byte strings came from, so instances read later still map their substreams.
    origins: dict[int, tuple[bytes, int]] = field(default_factory=dict)
    stop_path: str | None = None  # the field the parse stopped in, if it did


class Node:
    """One field: name, type, rendered value, absolute offset and size, lazy children."""

    __slots__ = (
        "_children",
        "_evaluated",
        "_holder",
        "_index",
        "_key",
        "_total",
        "_tree",
        "_value",
        "approximate",
        "depth",
        "error",
        "name",
        "offset",
        "parent",
        "row",
        "size",
    )

    def __init__(
        self,
        name: str,
        parent: Node | None,
        *,
        value: Any = None,
        evaluated: bool = True,
        holder: Any = None,
        key: str = "",
        index: int | None = None,
    ) -> None:
        self.name = name
        self.parent = parent
        self.row = 0  # position among the parent's children (item models need it)
        self.depth = 0 if parent is None else parent.depth + 1
        self._value = value
        self._evaluated = evaluated
        self._holder = holder  # the struct object the field belongs to
        self._key = key  # its debug key ("field" or "_m_instance")
        self._index = index  # element index inside an array field
        self.offset: int | None = None
        self.size: int | None = None
        self.approximate = False  # range of the enclosing field (decoded data)
        self.error: str | None = None
        self._children: list[Node] | None = None
        self._total = 0
        # Where raw byte strings came from: shared by the whole tree, so instances read later
        # still map their substreams to document offsets.
        self._tree: _Tree = _Tree() if parent is None else parent._tree
        if evaluated:
            self._locate()

    # ------------------------------------------------------------------ value
    @property
    def evaluated(self) -> bool:
        return self._evaluated

    @property
    def value(self) -> Any:
        self.evaluate()
        return self._value

    def evaluate(self) -> None:
        """Read a lazy instance now (its bytes may lie anywhere in the document)."""
        if self._evaluated:
            return
        self._evaluated = True
        name = self._key[3:]
        try:
            with tracking(self._tree.origins):
                self._value = getattr(self._holder, name)
        except Cancelled:
            raise
        except Exception as exc:  # a corrupt or truncated input: show why, keep the rest
            self.error = describe_exception(exc)
            self._value = None
        self._locate()

    @property
    def path(self) -> str:
        parts: list[str] = []
        node: Node | None = self
        while node is not None and node.parent is not None:
            parts.append(node.name if node.name.startswith("[") else "." + node.name)
            node = node.parent
        return "".join(reversed(parts)).lstrip(".")

    @property
    def end(self) -> int | None:
        return None if self.offset is None or self.size is None else self.offset + self.size

    @property
    def type_name(self) -> str:
        value = self.value
        if isinstance(value, KaitaiStruct):
            return type(value).__name__
        if isinstance(value, list):
            inner = type(value[0]).__name__ if value else "item"
            if value and isinstance(value[0], enum.Enum):
                inner = type(value[0]).__name__
            return f"{inner}[{len(value)}]"
        if isinstance(value, enum.Enum):
            return f"enum {type(value).__name__}"
        if isinstance(value, bool):
            return "bool"
        if isinstance(value, int):
            return f"int{self.size * 8}" if self.size and self.size <= 8 else "int"
        if isinstance(value, float):
            return f"float{self.size * 8}" if self.size else "float"
        if isinstance(value, bytes):
            return "bytes"
        if isinstance(value, str):
            return "str"
        return "" if value is None else type(value).__name__

    @property
    def text(self) -> str:
        value = self.value
        if self.error is not None and value is None:
            return f"⚠ {self.error}"
        return render_value(self.name, value)

    # --------------------------------------------------------------- children
    @property
    def has_children(self) -> bool:
        value = self.value
        return isinstance(value, KaitaiStruct) or (isinstance(value, list) and bool(value))

    def children(self) -> list[Node]:
        """The children built so far (call ``fetch_more`` for the rest)."""
        if self._children is None:
            self._start_children()
        assert self._children is not None
        return self._children

    def total_children(self) -> int:
        self.children()
        return self._total

    def can_fetch_more(self) -> bool:
        return self.has_children and len(self.children()) < self._total

    def fetch_more(self, count: int = CHUNK) -> list[Node]:
        """Build up to ``count`` more array elements; returns the new nodes."""
        children = self.children()
        value = self.value
        if not isinstance(value, list):
            return []
        start = len(children)
        new = [self._element(i, value[i]) for i in range(start, min(start + count, self._total))]
        for row, node in enumerate(new, start):
            node.row = row
        children.extend(new)
        return new

    def _start_children(self) -> None:
        value = self.value
        self._children = []
        if isinstance(value, KaitaiStruct):
            self._children = _struct_children(value, self)
            for row, node in enumerate(self._children):
                node.row = row
            self._total = len(self._children)
        elif isinstance(value, list):
            self._total = len(value)
            self.fetch_more()

    def _element(self, index: int, value: Any) -> Node:
        return Node(
            f"[{index}]",
            self,
            value=value,
            holder=self._holder,
            key=self._key,
            index=index,
        )

    def child_containing(self, offset: int) -> Node | None:
        """The built child whose bytes contain ``offset`` (arrays: built up to it)."""
        value = self._value if self._evaluated else None
        if isinstance(value, list) and self._children is not None:
            starts = _array_starts(self)
            if starts is not None:
                index = bisect.bisect_right(starts, offset) - 1
                while 0 <= index < self._total and len(self._children) <= index:
                    self.fetch_more()
        for child in self._children or ():
            if not child._evaluated or child.approximate or child.offset is None:
                continue
            if child.offset <= offset < child.offset + max(child.size or 0, 1):
                return child
        return None

    def innermost(self, offset: int) -> Node | None:
        """Deepest already-read field containing ``offset``; unread instances are not read."""
        node: Node | None = None
        current: Node = self
        while True:
            if current.has_children and current._children is None:
                current.children()
            child = current.child_containing(offset)
            if child is None:
                return node
            node = current = child

    # ---------------------------------------------------------------- offsets
    def _locate(self) -> None:
        """Absolute offset and size from the holder's debug positions and its stream's base."""
        holder = self._holder
        if holder is None:
            return
        info = holder._debug.get(self._key) if hasattr(holder, "_debug") else None
        if self._index is not None and info is not None:
            array = info.get("arr")
            info = array[self._index] if array and self._index < len(array) else None
        stream = holder._io
        if self._key.startswith("_m_"):
            stream = holder.__dict__.get("_mmhex_instance_io", {}).get(self._key[3:]) or stream
        base = getattr(stream, "mmhex_base", None)
        if info is None or "start" not in info:
            return
        if base is None:
            self._inherit_range()
            return
        self.offset = base + info["start"]
        if "end" in info:
            self.size = info["end"] - info["start"]

    def _inherit_range(self) -> None:
        node = self.parent
        while node is not None and (node.offset is None or node.approximate):
            node = node.parent
        if node is not None:
            self.offset, self.size, self.approximate = node.offset, node.size, True


def _array_starts(node: Node) -> list[int] | None:
    holder = node._holder
    info = holder._debug.get(node._key) if holder is not None else None
    array = info.get("arr") if info else None
    if not array or node.offset is None:
        return None
    stream_start = node.offset - info["start"]
    starts = [stream_start + entry["start"] for entry in array]
    return starts if starts == sorted(starts) else None


def _struct_children(obj: KaitaiStruct, parent: Node) -> list[Node]:
    """Sequence fields (those read so far, plus the one that failed) then lazy instances."""
    children: list[Node] = []
    debug = getattr(obj, "_debug", {})
    for name in getattr(type(obj), "SEQ_FIELDS", ()):
        info = debug.get(name)
        if name in obj.__dict__:
            node = Node(name, parent, value=obj.__dict__[name], holder=obj, key=name)
            if info is not None and "start" in info and "end" not in info:
                node.error = "incomplete: parsing stopped inside this field"
            children.append(node)
        elif info is not None and "start" in info and _on_stop_path(parent, name):
            node = Node(name, parent, value=None, holder=obj, key=name)
            node.error = "parsing stopped here"
            children.append(node)
    for name in instance_names(type(obj)):
        children.append(Node(name, parent, evaluated=False, holder=obj, key=f"_m_{name}"))
    return children


def _on_stop_path(parent: Node, name: str) -> bool:
    """A field that started and was never set is the failure only on the path the parse
    stopped in (elsewhere it is a switch with no matching case)."""
    stop = parent._tree.stop_path
    if stop is None:
        return False
    path = f"{parent.path}.{name}".lstrip(".")
    return stop == path or stop.startswith(path + ".") or stop.startswith(path + "[")


def render_value(name: str, value: Any) -> str:
    """Numbers in hex and decimal, enums by name, strings decoded, Unix times readable."""
    if isinstance(value, enum.Enum):
        raw = value.value
        return f"{value.name} ({raw:#x})" if isinstance(raw, int) else value.name
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        text = f"{value:#x} ({value})" if value >= 0 else f"{value} (-{-value:#x})"
        if _TIME_NAME.search(name) and _UNIX_MIN <= value <= _UNIX_MAX:
            when = dt.datetime.fromtimestamp(value, dt.UTC)
            text += f" = {when:%Y-%m-%d %H:%M:%S} UTC"
        return text
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, bytes) and len(value) == 16 and "guid" in name.lower():
        return str(uuid.UUID(bytes_le=value)).upper()  # GPT's mixed-endian GUIDs, as sgdisk
    if isinstance(value, bytes):
        if not value:
            return "(empty)"
        head = value[:_PREVIEW_BYTES]
        more = " …" if len(value) > _PREVIEW_BYTES else ""
        text = head.decode("latin-1").translate(_PRINTABLE)
        shown = f'  "{text}"' if sum(32 < b < 127 for b in head) * 2 >= len(head) else ""
        return f"{head.hex(' ')}{more}{shown}"
    if isinstance(value, str):
        value = value.rstrip("\x00")  # fixed-size fields padded with NULs (GPT names)
        shown = value if len(value) <= 80 else value[:80] + "…"
        return repr(shown)
    if isinstance(value, KaitaiStruct):
        return ""
    if isinstance(value, list):
        return f"{len(value)} items"
    return "" if value is None else str(value)


@dataclass
class ParseResult:
    format: str
    root: Node
    stop: StopInfo | None
    generation: int | None = None

    @property
    def complete(self) -> bool:
        return self.stop is None


def parse(
    document: Readable,
    format_name: str,
    registry: FormatRegistry,
    token: CancelToken | None = None,
) -> ParseResult:
    """Parse ``document`` as ``format_name``: the top-level tree, children on demand."""
    cls = registry.root_class(format_name)
    origins: dict[int, tuple[bytes, int]] = {}
    stream = open_stream(document, token)
    obj = cls(stream)
    stop: StopInfo | None = None
    with tracking(origins):
        try:
            obj._read()
        except Cancelled:
            raise
        except Exception as exc:  # a corrupt or truncated input: keep what was read
            path, offset = _find_stop(obj, 0)
            stop = StopInfo(path, offset, describe_exception(exc))
    root = Node(format_name, None, value=obj)
    root._tree.origins = origins
    root._tree.stop_path = stop.path if stop is not None else None
    root.offset = 0
    root.size = stream.pos() if stop is None else None
    return ParseResult(format_name, root, stop, getattr(document, "generation", None))


def _find_stop(obj: Any, base: int) -> tuple[str, int | None]:
    """Follow the fields that started but never ended down to the deepest one."""
    debug = getattr(obj, "_debug", {})
    last: tuple[str, int | None] = ("", None)
    for name in getattr(type(obj), "SEQ_FIELDS", ()):
        info = debug.get(name)
        if info is None or "start" not in info:
            continue
        if "end" in info:  # read whole; a validation failing right after it names it
            last = (name, base + info["start"])
            continue
        offset = base + info["start"]
        value = obj.__dict__.get(name)
        array = info.get("arr")
        if array and "end" not in array[-1]:
            index = len(array) - 1
            offset = base + array[-1]["start"]
            if isinstance(value, list) and index < len(value):
                return _nested_stop(f"{name}[{index}]", value[index], offset)
            return f"{name}[{index}]", offset
        if isinstance(value, KaitaiStruct):
            return _nested_stop(name, value, offset)
        return name, offset
    return last


def _nested_stop(path: str, child: Any, offset: int) -> tuple[str, int | None]:
    base = getattr(child._io, "mmhex_base", None)
    inner, inner_offset = _find_stop(child, base if base is not None else 0)
    if not inner:
        return path, offset
    return f"{path}.{inner}", inner_offset if base is not None else offset
