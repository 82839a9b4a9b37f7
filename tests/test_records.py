"""sshjup.records makes the same classes as dataclasses, for every feature sshjup uses.

Each class is made twice from the same body, once by each, and both are driven alike.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sshjup import records

ROOT = Path(__file__).resolve().parent.parent
Maker = Callable[..., Any]


def classes(frozen: bool) -> list[tuple[type, type]]:
    """(records' class, dataclasses' class) pairs of the same shapes."""
    made = []
    for make, fld in (
        (records.dataclass, records.field),
        (dataclasses.dataclass, dataclasses.field),
    ):

        @make(frozen=frozen)
        class Point:
            x: int
            y: str = "y"
            tags: list[str] = fld(default_factory=list)
            secret: str | None = fld(default=None, repr=False)

        @make(frozen=frozen)
        class Checked:
            a: int
            b: int = 0

            def __post_init__(self) -> None:
                if self.a < 0:
                    raise ValueError("a < 0")
                if frozen:
                    object.__setattr__(self, "b", self.a * 2)
                else:
                    self.b = self.a * 2

        @make(frozen=frozen)
        class Child(Point):
            z: int = 3

        @make(frozen=frozen)
        class Empty:
            pass

        made.append((Point, Checked, Child, Empty))
    return list(zip(*made, strict=True))


def outcome(action: Callable[[], Any]) -> tuple[str, Any]:
    try:
        value = action()
    except Exception as err:  # (the kind is compared)
        return (
            "raises",
            (isinstance(err, AttributeError), type(err).__name__.replace("Frozen", "")),
        )
    return ("returns", value)


@pytest.mark.parametrize("frozen", [True, False], ids=["frozen", "plain"])
def test_both_make_classes_that_behave_alike(frozen: bool) -> None:
    (point, point_dc), (checked, checked_dc), (child, child_dc), (empty, empty_dc) = classes(frozen)

    def drive(
        point: type, checked: type, child: type, empty: type, replace: Maker, fields: Maker
    ) -> list[Any]:
        p = point(1)
        q = point(1, "y", [], secret="s")
        c = child(1, "a", ["t"], None, 4)
        seen = [
            repr(p).replace(point.__qualname__, "P"),
            repr(c).replace(child.__qualname__, "C"),
            repr(empty()).replace(empty.__qualname__, "E"),
            p == q,  # (repr=False still compares)
            p == point(1, secret="s"),
            p == point(1),
            p == c,  # other class: not equal
            p.tags is not point(1).tags,  # a fresh list each time
            point.y,
            outcome(lambda: hash(p) == hash(point(1))),
            outcome(lambda: setattr(p, "x", 2)),
            outcome(lambda: delattr(point(1), "x")),
            p.x,
            checked(3).b,
            outcome(lambda: checked(-1)),
            repr(replace(c, z=9)).replace(child.__qualname__, "C"),
            replace(checked(2), a=5).b,
            outcome(lambda: replace(p, nope=1)),
            outcome(point),
            outcome(lambda: point(1, 2, 3, 4, 5)),
            point.__match_args__,
            child.__match_args__,
            [f.name for f in fields(child)],
            [f.name for f in fields(c)],
        ]
        return seen

    ours = drive(point, checked, child, empty, records.replace, records.fields)
    theirs = drive(
        point_dc, checked_dc, child_dc, empty_dc, dataclasses.replace, dataclasses.fields
    )
    assert ours == theirs


def test_asdict_is_dataclasses_asdict() -> None:
    (point, point_dc), *_ = classes(frozen=True)
    for make, cls, asdict in ((records, point, records.asdict), (dataclasses, point_dc, None)):
        del make
        value = cls(1, "b", ["t"], secret="s")
        got = (asdict or dataclasses.asdict)(value)
        assert got == {"x": 1, "y": "b", "tags": ["t"], "secret": "s"}
        assert got["tags"] is not value.tags


def test_what_it_does_not_support_is_refused_when_the_class_is_made() -> None:
    with pytest.raises(TypeError, match="does not take"):
        records.dataclass(order=True)
    with pytest.raises(TypeError, match="does not take"):
        records.field(compare=False)
    with pytest.raises(TypeError, match="non-default argument"):

        @records.dataclass
        class Bad:
            a: int = 1
            b: int  # type: ignore[misc]


def test_the_start_up_path_does_not_import_dataclasses() -> None:
    code = (
        "import sys\n"
        "import sshjup.cli.fast, sshjup.hosts, sshjup.models, sshjup.ssh.openssh\n"
        "import sshjup.ssh.sshconfig, sshjup.store.inventory, sshjup.store.state\n"
        "import sshjup.putty.managed, sshjup.jupyter.urls\n"
        "print(sorted(m for m in ('dataclasses', 'inspect') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    assert out.strip() == "[]"
