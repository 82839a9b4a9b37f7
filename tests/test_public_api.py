"""The library surface: ``import sshjup`` offers exactly the documented names, cheaply."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import sshjup

DOCS = Path(__file__).resolve().parent.parent / "docs" / "library.md"


def test_every_public_name_resolves_to_the_object_it_names() -> None:
    for name in sshjup.__all__:
        value = getattr(sshjup, name)
        assert value is not None, name
    assert sshjup.Where is __import__("sshjup.hosts", fromlist=["Where"]).Where
    from sshjup.jupyter import service

    assert sshjup.jupyter_start is service.start


def test_all_and_the_lazy_table_are_the_same_list() -> None:
    assert sorted(set(sshjup.__all__) - {"__version__"}) == sorted(sshjup._PUBLIC)
    assert set(sshjup.__all__) <= set(dir(sshjup))


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = sshjup.nope  # type: ignore[attr-defined]


def test_import_sshjup_loads_nothing_heavy() -> None:
    code = (
        "import sys, sshjup; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'click', 'yaml', 'keyring', 'sshconf'} or m.startswith('sshjup.')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert out.strip() == "[]"


def test_docs_library_lists_every_public_name() -> None:
    text = DOCS.read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `(?:sshjup\.)?([A-Za-z_]+)", text, flags=re.M))
    assert documented == set(sshjup.__all__) - {"__version__"}


def test_the_documented_example_adds_a_host(ssh_config: Path) -> None:
    where = sshjup.Where.locate(ssh_config)
    target = sshjup.Target(name="gpu", hostname="gpu.example.org", user="alice")
    result = sshjup.add_target(where, target, dry_run=True)
    assert result.added == ["gpu"]
    assert "+Host jup-gpu" in result.diff
    assert not ssh_config.exists()
    sshjup.add_target(where, target)
    assert [t.name for t in sshjup.list_targets(where)] == ["gpu"]
    with pytest.raises(sshjup.NotFound):
        sshjup.get_target(where, "nope")
