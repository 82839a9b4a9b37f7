"""The docs match the code: CLI reference current, every command documented, version logged."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import click
import pytest

import sshjup
from sshjup.cli import cli

ROOT = Path(__file__).resolve().parent.parent


def _commands(command: click.Command, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [path]
    if isinstance(command, click.Group):
        for name, sub in sorted(command.commands.items()):
            found += _commands(sub, (*path, name))
    return found


COMMANDS = _commands(cli)


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "sshjup")
def test_every_command_has_help_and_is_in_the_cli_reference(path: tuple[str, ...]) -> None:
    command: click.Command = cli
    for name in path:
        assert isinstance(command, click.Group)
        command = command.commands[name]
    assert command.help, f"{' '.join(path)} has no help text"
    reference = (ROOT / "docs" / "cli.md").read_text()
    assert f"## `{' '.join(('sshjup', *path))}`" in reference


def test_the_cli_reference_is_generated_from_the_current_commands() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "cogapp", "--check", "docs/cli.md"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, (
        "docs/cli.md is stale: run `cog -r docs/cli.md`\n" + result.stdout + result.stderr
    )


def test_the_package_version_has_a_changelog_heading() -> None:
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert re.search(
        rf"^## \[{re.escape(sshjup.__version__)}\] - \d{{4}}-\d{{2}}-\d{{2}}$", changelog, re.M
    )
    assert "## [Unreleased]" in changelog


def test_docs_link_only_to_pages_that_exist() -> None:
    for page in (ROOT / "docs").glob("*.md"):
        for target in re.findall(r"\]\(([a-z0-9_-]+\.md)(?:#[^)]*)?\)", page.read_text()):
            assert (ROOT / "docs" / target).is_file(), f"{page.name} links to missing {target}"


def _readme_install_block() -> str:
    text = (ROOT / "README.md").read_text()
    match = re.search(r"<!-- install:begin -->\n```sh\n(.*?)```\n<!-- install:end -->", text, re.S)
    assert match, "README.md has no install block between the install:begin/end markers"
    return match.group(1)


def test_readme_install_block_uses_a_venv_never_the_system_python() -> None:
    block = _readme_install_block()
    assert "--break-system-packages" not in block
    assert "python3 -m venv" in block
    assert block.startswith("git clone ")
    assert "python3 -m pip install" not in block  # PEP 668 refuses it on Debian/Ubuntu/Fedora


def test_readme_test_command_is_what_ci_runs() -> None:
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    command = ".ci/setup && .venv/bin/python -m pytest"
    assert f"```sh\n{command}\n```" in readme
    assert f"(README: {command})" in ci
    assert (
        "\n.ci/setup\n" in ci and "\nSSHJUP_REQUIRE_REAL_TOOLS=1 .venv/bin/python -m pytest\n" in ci
    )
    assert "\n.ci/readme-install\n" in ci
