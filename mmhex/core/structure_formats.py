"""The format registry: compiled Kaitai Struct formats from the library and from the user.

Library formats are the debug-mode modules shipped by ``pytai-hex`` (``pytai/kaitai/formats``);
user formats are ``.py`` files compiled by ``kaitai-struct-compiler -t python --debug`` and dropped
into ``$XDG_DATA_HOME/mmhex/formats`` (``~/.local/share/mmhex/formats``); a user format with a
library format's name replaces it. Modules are loaded privately (never put in ``sys.modules``
under their bare names, so a format called ``gzip`` cannot shadow the standard library) and their
stream classes are swapped for tracking ones. Never imports Qt.
"""

from __future__ import annotations

import builtins
import importlib.util
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from mmhex.core.structure_stream import (
    TrackingStream,
    last_seek_since,
    seek_mark,
    substream_bytes,
)

LIBRARY_PACKAGE = "pytai.kaitai.formats"
_IMPORT_RE = re.compile(r"^(?:import (\w+)|from (\w+) import)", re.M)


class FormatError(Exception):
    """A format that cannot be found or loaded; the message is for the user."""


@dataclass(frozen=True)
class FormatInfo:
    name: str  # module name, e.g. "gpt_partition_table"
    path: str
    source: str  # "library" or "user"

    @property
    def title(self) -> str:
        return self.name.replace("_", " ")


def user_formats_dir() -> Path:
    """Where a user drops compiled formats: $XDG_DATA_HOME/mmhex/formats."""
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local/share")
    return Path(base) / "mmhex" / "formats"


def _library_dir() -> Path | None:
    spec = importlib.util.find_spec("pytai")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "kaitai" / "formats"
    return path if path.is_dir() else None


def _scan(folder: Path | None, source: str) -> dict[str, FormatInfo]:
    if folder is None or not folder.is_dir():
        return {}
    found = {}
    for entry in sorted(folder.glob("*.py")):
        if entry.stem.startswith("_"):
            continue
        found[entry.stem] = FormatInfo(entry.stem, str(entry), source)
    return found


class FormatRegistry:
    """Lists formats and loads each module once, with its sibling imports resolved privately."""

    def __init__(self, library_dir: Path | None = None, user_dir: Path | None = None) -> None:
        self._formats = _scan(library_dir if library_dir else _library_dir(), "library")
        self._formats.update(_scan(user_dir if user_dir else user_formats_dir(), "user"))
        self._modules: dict[str, ModuleType] = {}
        self._lock = threading.RLock()

    def names(self) -> list[str]:
        return sorted(self._formats)

    def infos(self) -> list[FormatInfo]:
        return [self._formats[name] for name in self.names()]

    def info(self, name: str) -> FormatInfo:
        try:
            return self._formats[name]
        except KeyError:
            raise FormatError(f"There is no format named {name!r} (mmhex parse --list).") from None

    def __contains__(self, name: str) -> bool:
        return name in self._formats

    def module(self, name: str) -> ModuleType:
        with self._lock:
            if name not in self._modules:
                self._load(self.info(name))
            return self._modules[name]

    def root_class(self, name: str) -> type:
        """The module's top-level struct: the class named after the module in CamelCase."""
        from kaitaistruct import KaitaiStruct

        module = self.module(name)
        wanted = name.replace("_", "").lower()
        own = [
            value
            for value in vars(module).values()
            if isinstance(value, type)
            and issubclass(value, KaitaiStruct)
            and value.__module__ == module.__name__
        ]
        for value in own:
            if value.__name__.lower() == wanted:
                return value
        if len(own) == 1:  # a user's file renamed after compiling
            return own[0]
        raise FormatError(f"The format module {name!r} has no class for its top-level type.")

    def _load(self, info: FormatInfo) -> ModuleType:
        module_name = f"mmhex_formats.{info.source}.{info.name}"
        spec = importlib.util.spec_from_file_location(module_name, info.path)
        if spec is None or spec.loader is None:
            raise FormatError(f"Cannot load the format file {info.path}.")
        module = importlib.util.module_from_spec(spec)
        module.__dict__["__builtins__"] = self._builtins_for(info)
        # Registered before it runs, as sys.modules does: formats import each other in cycles
        # (ipv4_packet ↔ protocol_body) and only use the names later, at parse time.
        self._modules[info.name] = module
        try:
            spec.loader.exec_module(module)
        except Exception as exc:  # a user's module can fail in any way; say which and why
            del self._modules[info.name]
            raise FormatError(f"The format {info.name!r} failed to load: {exc}") from exc
        if "KaitaiStruct" not in vars(module):
            del self._modules[info.name]
            raise FormatError(f"{info.path} is not a module compiled by Kaitai Struct.")
        module.KaitaiStream = TrackingStream
        module.BytesIO = substream_bytes
        _instrument_properties(module)
        return module

    def _builtins_for(self, info: FormatInfo) -> dict[str, Any]:
        """Builtins whose ``__import__`` answers sibling formats from this registry."""
        real_import = builtins.__import__
        registry = self

        def format_import(name: str, globals_=None, locals_=None, fromlist=(), level=0):
            if level == 0 and name in registry._formats and name != info.name:
                return registry.module(name)
            return real_import(name, globals_, locals_, fromlist, level)

        table = dict(vars(builtins))
        table["__import__"] = format_import
        return table


def _instrument_properties(module: ModuleType) -> None:
    """Wrap every instance property so it remembers which stream it read from.

    Debug positions of an instance are relative to whatever stream its ``io`` names (its own,
    the root's, a parent's); the generated code ends each positioned instance with a seek back on
    that stream, so the last seek during the first evaluation names it.
    """
    from kaitaistruct import KaitaiStruct

    for cls in _struct_classes(module, KaitaiStruct, module.__name__):
        for attr, value in list(vars(cls).items()):
            if isinstance(value, property) and not attr.startswith("_"):
                setattr(cls, attr, property(_remembering(attr, value.fget)))


def _struct_classes(holder: Any, base: type, module_name: str) -> list[type]:
    """Struct classes defined in this module (nested ones too), not those imported from others."""
    found = []
    for value in vars(holder).values():
        if (
            isinstance(value, type)
            and issubclass(value, base)
            and value is not base
            and value.__module__ == module_name
        ):
            found.append(value)
            found.extend(_struct_classes(value, base, module_name))
    return found


def _remembering(name: str, getter: Any) -> Any:
    cached = f"_m_{name}"

    def fget(self: Any) -> Any:
        if cached in self.__dict__:
            return getter(self)
        mark = seek_mark()
        value = getter(self)
        streams = self.__dict__.setdefault("_mmhex_instance_io", {})
        streams[name] = last_seek_since(mark)
        return value

    return fget


def instance_names(cls: type) -> list[str]:
    """Instance (lazy) fields of a compiled struct class, in definition order."""
    names = []
    for klass in reversed(cls.__mro__):
        for attr, value in vars(klass).items():
            if isinstance(value, property) and not attr.startswith("_") and attr not in names:
                names.append(attr)
    return names
