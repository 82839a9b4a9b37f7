"""docs/exit-codes.md and sshjup/errors.py agree, and the CLI really exits with those codes."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from sshjup import errors, hosts
from sshjup.cli import cli

DOC = Path(__file__).resolve().parent.parent / "docs" / "exit-codes.md"
FIXED_CODES = {0, 1, 2, 130}  # ok, generic, bad input (also click usage errors), Ctrl-C


def error_classes() -> dict[str, int]:
    """Every SshjupError class in sshjup.errors, with its exit code."""
    return {
        name: cls.exit_code
        for name, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, errors.SshjupError)
    }


def table_rows() -> list[tuple[int, set[str], list[str]]]:
    """(code, class names in backticks in the second column, all cells) for each table row."""
    rows = []
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if not line.startswith("|"):
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if not cells[0].isdigit():
            continue  # the header and the |---| line
        rows.append((int(cells[0]), set(re.findall(r"`([A-Za-z]+)`", cells[1])), cells))
    return rows


def test_the_table_lists_each_code_once_in_order() -> None:
    codes = [code for code, _, _ in table_rows()]
    assert codes == sorted(set(codes))
    assert set(codes) >= FIXED_CODES
    for _, _, cells in table_rows():
        assert len(cells) == 4
        assert all(cells[2:]), cells  # "when" and "what to do" are filled in


def test_every_error_class_is_listed_with_its_exit_code() -> None:
    listed = {name: code for code, names, _ in table_rows() for name in names}
    for name, code in error_classes().items():
        assert name in listed, f"{name} (exit {code}) is missing from {DOC.name}"
        assert listed[name] == code, f"{name}: table says {listed[name]}, the class says {code}"


def test_the_table_names_no_class_or_code_that_does_not_exist() -> None:
    classes = error_classes()
    for code, names, _ in table_rows():
        assert names <= set(classes), f"unknown classes {names - set(classes)} for {code}"
        if code not in FIXED_CODES:
            assert code in classes.values(), f"no error class has exit code {code}"
    usage_row = next(cells for code, _, cells in table_rows() if code == 2)
    assert "usage" in usage_row[1]


@pytest.mark.parametrize(
    "cls",
    [c for c in vars(errors).values() if inspect.isclass(c) and issubclass(c, errors.SshjupError)],
    ids=lambda c: c.__name__,
)
def test_the_cli_exits_with_the_class_code_and_prints_message_and_hint(
    cls: type[errors.SshjupError], monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(*_args: object, **_kwargs: object) -> None:
        raise cls("something went wrong", hint="do this")

    monkeypatch.setattr(hosts, "list_targets", fail)
    result = CliRunner().invoke(cli, ["list"])
    assert result.exit_code == cls.exit_code
    assert result.stderr == "Error: something went wrong\nHint: do this\n"


@pytest.mark.parametrize(
    ("argv", "code"),
    [
        (["list"], 0),
        (["add"], 2),  # click: missing HOST
        (["add", "gpu.example.org", "--no-such-option"], 2),  # click: unknown option
        (["no-such-command"], 2),
        (["add", "gpu.example.org", "--port", "0"], 2),  # InvalidInput
        (["show", "nope"], 4),  # NotFound
        (["remove", "nope"], 4),
    ],
)
def test_real_commands_exit_with_the_documented_codes(argv: list[str], code: int) -> None:
    result = CliRunner().invoke(cli, argv)
    assert result.exit_code == code, result.output


@pytest.mark.parametrize("raised", [KeyboardInterrupt, "abort-after-ctrl-c"])
def test_ctrl_c_exits_130_not_aborted(
    raised: object, monkeypatch: pytest.MonkeyPatch, ssh_config: Path
) -> None:
    def interrupted(*_args: object, **_kwargs: object) -> None:
        if raised is KeyboardInterrupt:
            raise KeyboardInterrupt
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            raise click.Abort from None  # what click.confirm does on Ctrl-C

    monkeypatch.setattr(hosts, "list_targets", interrupted)
    result = CliRunner().invoke(cli, ["list"])
    assert result.exit_code == 130
    assert "Aborted!" not in result.output + result.stderr
    assert "interrupted" in result.stderr
