"""``@record`` against ``@dataclass`` (the reference it stands in for on the start-up path)."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest

from mmhex.core.record import FrozenInstanceError, factory, record, replace


def twins(frozen: bool):  # type: ignore[no-untyped-def]
    """The same class declared with @record and with @dataclass."""

    class Base:
        name: str
        size: int
        tags: tuple[str, ...] = ()
        flag: bool = False

        @property
        def double(self) -> int:
            return self.size * 2

    ours = record(frozen=frozen)(type("Point", (Base,), {}))
    ours.__annotations__ = {}
    theirs = dataclasses.dataclass(frozen=frozen)(type("Point", (), dict(Base.__dict__)))
    return ours, theirs


@pytest.mark.parametrize("frozen", [True, False])
def test_construction_equality_repr_and_hash_match_dataclasses(frozen: bool) -> None:
    ours, theirs = twins(frozen)
    for args, kwargs in (
        (("a", 1), {}),
        (("a",), {"size": 2, "flag": True}),
        ((), {"name": "b", "size": 3, "tags": ("x",)}),
    ):
        mine, ref = ours(*args, **kwargs), theirs(*args, **kwargs)
        assert repr(mine) == repr(ref)
        assert mine == ours(*args, **kwargs) and mine != ours("other", 9)
        assert mine.double == ref.double
        assert (mine == ref) is False  # different classes are never equal, as dataclasses
        if frozen:
            assert hash(mine) == hash(ours(*args, **kwargs))
            with pytest.raises(FrozenInstanceError):
                mine.size = 5  # type: ignore[misc]
            with pytest.raises(AttributeError):
                del mine.name
        else:
            mine.size = 5
            assert mine.size == 5
            with pytest.raises(TypeError):
                hash(mine)
        assert ours.__match_args__ == theirs.__match_args__


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [((), {}), (("a",), {}), (("a", 1, (), False, "extra"), {}), (("a", 1), {"name": "b"})],
)
def test_bad_arguments_raise_type_error_as_dataclasses_do(args, kwargs) -> None:  # type: ignore[no-untyped-def]
    ours, theirs = twins(True)
    with pytest.raises(TypeError):
        theirs(*args, **kwargs)
    with pytest.raises(TypeError):
        ours(*args, **kwargs)
    with pytest.raises(TypeError):
        ours("a", 1, bogus=1)


def test_a_field_without_default_after_one_with_is_refused() -> None:
    with pytest.raises(TypeError):

        @record
        class Bad:
            first: int = 0
            second: int


def test_headless_start_up_imports_neither_dataclasses_nor_inspect_nor_typing() -> None:
    code = (
        "import sys\n"
        "from mmhex.cli import main\n"
        "status = main(['dump', '-n', '16', sys.executable])\n"
        "bad = [m for m in ('dataclasses', 'inspect', 'typing', 'shutil', 'PySide6') "
        "if m in sys.modules]\n"
        "sys.stderr.write(','.join(bad))\n"
        "sys.exit(status)\n"
    )
    out = subprocess.run(
        [sys.executable, "-S", "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.startswith("00000000: "), out.stdout  # the dump ran
    assert out.stderr.strip() == "", f"imported at start-up: {out.stderr.strip()}"


def test_factory_defaults_eq_false_and_replace_match_dataclasses() -> None:
    made = []

    def make_list() -> list[int]:
        made.append(1)
        return []

    @record
    class Ours:
        name: str
        items: list[int] = factory(make_list)
        size: int = 0

    @dataclasses.dataclass
    class Theirs:
        name: str
        items: list[int] = dataclasses.field(default_factory=make_list)
        size: int = 0

    a, b = Ours("a"), Ours("b")
    assert a.items == [] and a.items is not b.items and len(made) == 2
    assert Ours("c", [1]).items == [1] and len(made) == 2  # given: not made
    assert repr(Ours("a", size=3)).replace("Ours", "X") == repr(Theirs("a", size=3)).replace(
        "Theirs", "X"
    )
    assert not hasattr(Ours, "items") and not hasattr(Theirs, "items")
    changed = replace(a, size=5)
    assert changed == Ours("a", a.items, 5) and changed.items is a.items
    assert dataclasses.replace(Theirs("a"), size=5).size == changed.size
    with pytest.raises(TypeError):
        replace(a, bogus=1)

    @record(eq=False)
    class Identity:
        value: int

    @record(frozen=True, eq=False)
    class FrozenIdentity:
        value: int

    for klass in (Identity, FrozenIdentity):
        one = klass(1)
        assert one == one and one != klass(1)
        assert len({one, klass(1)}) == 2
