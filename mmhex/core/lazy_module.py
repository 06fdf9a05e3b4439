"""A module imported on first attribute use, so start-up does not pay for what it may never use.

numpy costs ~90 ms to import and the window needs it only once an overview layer is computed
(in a background job); ``np = LazyModule("numpy")`` keeps ``np.where(...)`` call sites as they are.
The import itself goes through the ordinary ``import`` machinery, so it is thread-safe. This
module imports nothing itself (not ``typing``, not ``importlib``): ``mmhex find`` uses it for
``re`` on its start-up path.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import ModuleType
    from typing import Any


class LazyModule:
    """Stands in for module ``name``; the first attribute read imports it (then cached)."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attr: str) -> Any:
        module = self._module
        if module is None:
            __import__(self._name)
            module = self._module = sys.modules[self._name]
        return getattr(module, attr)

    def __repr__(self) -> str:
        return f"<lazy module {self._name!r}{' (loaded)' if self._module else ''}>"
