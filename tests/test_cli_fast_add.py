"""``sshjup add`` and ``sshjup apply`` without click (sshjup/cli/fast.py) are the click
commands, byte for byte.

Each shape runs twice from the same files: through the console script's ``main`` (the fast
path, which must not import click) and through the click group. Standard output, standard
error, the exit code and every file sshjup leaves (ssh config, inventory, backups, state) must
be the same. Shapes the fast path does not take must reach click unchanged.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sshjup.cli import fast

ROOT = Path(__file__).resolve().parent.parent
USER_CONTENT = (
    "# my config\n\nHost build\n    HostName build.example.org\n\n"
    "Host mybox\n    HostName 10.0.0.5\n    User bob\n    Port 2222\n\n"
    "Host *\n    ServerAliveInterval 60\n"
)
# The console script, and a marker of whether click was imported (written at exit).
FAST = (
    "import atexit, os, sys\n"
    "atexit.register(lambda: open(os.environ['MARK'], 'w').write(str('click' in sys.modules)))\n"
    "from sshjup.cli import main\n"
    "sys.argv[0] = 'sshjup'\n"
    "main()\n"
)
CLICK = "from sshjup.cli.app import cli\ncli(prog_name='sshjup')\n"
# The console script as installed: nothing registered at exit, so the process ends with
# os._exit once the output is flushed (sshjup.cli._end).
PLAIN = "import sys\nfrom sshjup.cli import main\nsys.argv[0] = 'sshjup'\nmain()\n"


def _run(code: str, argv: list[str], mark: Path) -> tuple[int, bytes, bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MARK": str(mark)}
    proc = subprocess.run(
        [sys.executable, "-c", code, *argv],
        env=env,
        stdin=subprocess.DEVNULL,  # (no terminal: apply asks nothing)
        capture_output=True,
        timeout=60,
        check=False,
    )
    return proc.returncode, proc.stdout, proc.stderr


def _files(*roots: Path) -> dict[str, bytes]:
    out = {}
    for root in roots:
        for path in sorted(root.rglob("*")) if root.exists() else []:
            if path.is_file() and not path.name.endswith(".lock"):
                out[str(path.relative_to(root.parent))] = path.read_bytes()
    return out


def both_ways(
    tmp_path: Path,
    argv: list[str],
    *,
    before: list[str] | None = None,
    traceback: bool = False,
    fast: str = FAST,
) -> bool:
    """Run ``argv`` through both paths from the same state; assert they agree (``traceback``:
    on the last line of stderr only). Returns whether the first run imported click (it
    should not, for the shapes fast takes)."""
    home, app = Path(os.environ["HOME"]), Path(os.environ["SSHJUP_HOME"])
    config = home / ".ssh" / "config"
    config.write_text(USER_CONTENT)
    for prior in before or []:  # (through click: a state to start from)
        code, _, err = _run(CLICK, prior.split(), tmp_path / "m")
        assert code == 0, err
    saved = tmp_path / "saved"
    shutil.copytree(home, saved / "home", symlinks=True)
    if app.exists():
        shutil.copytree(app, saved / "app")
    results = []
    (tmp_path / "mark").write_text("")
    for code in (fast, CLICK):
        shutil.rmtree(home)
        shutil.rmtree(app, ignore_errors=True)
        shutil.copytree(saved / "home", home, symlinks=True)
        if (saved / "app").exists():
            shutil.copytree(saved / "app", app)
        outcome = _run(code, argv, tmp_path / "mark")
        results.append((outcome, _files(home, app)))
    (fast_out, fast_files), (click_out, click_files) = results
    if traceback:  # (the frames above sshjup's code differ: main, or the group directly)
        fast_out = (*fast_out[:2], fast_out[2].splitlines()[-1])
        click_out = (*click_out[:2], click_out[2].splitlines()[-1])
    assert fast_out == click_out, argv
    assert fast_files == click_files, argv
    shutil.rmtree(saved)
    return (tmp_path / "mark").read_text() == "True"


TAKEN = [
    ["add", "gpu.example.org", "--user", "alice"],
    ["add", "gpu.example.org", "--user=alice", "--port", "2200", "--name", "g2", "-y"],
    ["add", "alice@10.0.0.5:2222", "--name", "lab", "--forward", "6006:6006", "--dry-run"],
    ["add", "gpu.example.org", "--json"],
    ["add", "gpu.example.org", "--json", "--dry-run", "--local-port", "9000"],
    ["add", "--user", "alice", "gpu.example.org", "--remote-port", "9999", "--no-putty"],
    ["add", "gpu.example.org", "--putty"],
    ["add", "gpu.example.org", "--user", "alice", "--companion"],
    ["add", "gpu.example.org", "--no-companion", "--dry-run"],
    ["add", "mybox", "--companion"],  # refused: mybox is an alias already
    ["add", "gpu.example.org", "--name", "jup-x", "--companion"],  # refused: a jup- name
    [
        "add",
        "gpu.example.org",
        "--ssh-option",
        "ConnectTimeout=10",
        "--ssh-option",
        "Compression=yes",
    ],
    ["add", "gpu.example.org", "--forward", "1:2", "--forward", "3:4", "--force"],
    ["add", "gpu.example.org", "--identity-file", "~/.ssh/no_such_key"],
    ["add", "gpu.example.org", "--proxy-jump", "bastion.example.org"],
    ["add", "gpu.example.org", "--local-port", "auto", "--remote-port", "auto"],
    ["add", "mybox"],  # an alias of the config: resolved with ssh -G
    ["add", "build", "--name", "b"],
    # refused: the same message, hint and exit code both ways
    ["add", "gpu.example.org", "--port", "99999"],
    ["add", "gpu.example.org", "--local-port", "abc"],
    ["add", "gpu.example.org", "--user", "al ice"],
    ["add", "gpu.example.org", "--name", "bad name"],
    ["add", "gpu\x1b[31m.example.org"],
    ["add", "gpu.example.org", "--ssh-option", "ProxyCommand=nc %h %p"],
    ["add", "gpu.example.org", "--forward", "nonsense"],
    ["add", "gpu.example.org", "--identity-file", "/tmp/key\nProxyCommand x"],
    ["add", ""],
]


@pytest.mark.parametrize("argv", TAKEN, ids=lambda a: " ".join(a)[:60])
def test_a_shape_the_fast_path_takes_gives_what_click_gives(
    tmp_path: Path, argv: list[str]
) -> None:
    assert fast.parse_add(argv) is not None
    assert not both_ways(tmp_path, argv), "the fast path imported click"


@pytest.mark.parametrize(
    "argv",
    [
        ["add", "gpu.example.org", "--user", "alice"],
        ["add", "gpu.example.org", "--json", "--dry-run"],
        ["add", "gpu.example.org", "--port", "99999"],
        ["add", "build"],
    ],
    ids=" ".join,
)
def test_the_console_script_that_ends_at_once_prints_and_exits_the_same(
    tmp_path: Path, argv: list[str]
) -> None:
    both_ways(tmp_path, argv, fast=PLAIN)


@pytest.mark.parametrize(
    ("before", "argv"),
    [
        (["add gpu.example.org --user alice"], ["add", "gpu.example.org", "--user", "alice"]),
        (["add gpu.example.org"], ["add", "gpu.example.org", "--user", "bob"]),  # exists: 3
        (["add other.example.org --name gpu2"], ["add", "gpu.example.org", "--local-port", "8888"]),
        (["add other.example.org"], ["add", "gpu.example.org", "--local-port", "auto"]),
    ],
)
def test_it_agrees_from_a_config_with_managed_hosts(
    tmp_path: Path, before: list[str], argv: list[str]
) -> None:
    assert not both_ways(tmp_path, argv, before=before)


def test_it_agrees_with_an_ssh_config_option(tmp_path: Path, isolated: Path) -> None:
    other = isolated / "other_config"  # (in HOME: both runs start from the same copy)
    other.write_text("Host *\n    User me\n")
    assert not both_ways(tmp_path, ["add", "gpu.example.org", "--ssh-config", str(other)])
    assert not both_ways(tmp_path, ["add", "gpu.example.org", f"--ssh-config={isolated}/new"])
    # a directory: click's own message (the fast path leaves it to click)
    assert both_ways(tmp_path, ["add", "gpu.example.org", "--ssh-config", str(isolated)])


@pytest.mark.parametrize(
    "argv",
    [
        ["add"],
        ["add", "--help"],
        ["add", "gpu", "-h"],
        ["add", "a", "b"],
        ["add", "gpu", "--user"],
        ["add", "gpu", "--user", "-x"],
        ["add", "gpu", "--user", "a", "--user", "b"],
        ["add", "gpu", "--dry-run=1"],
        ["add", "gpu", "--dry-run", "--dry-run"],
        ["add", "gpu", "--putty", "--no-putty"],
        ["add", "gpu", "--remote-socket"],
        ["add", "gpu", "--remote-socket=/tmp/s.sock", "--no-putty"],
        ["add", "gpu", "--"],
        ["add", "--", "-gpu"],
        ["add", "gpu", "--usr", "alice"],
        ["add", "gpu", "-yh"],
        ["--debug", "add", "gpu"],
        ["--ssh-config", "{home}/other_config", "add", "gpu"],
        ["list"],
        ["edit", "gpu", "--user", "alice"],
    ],
    ids=" ".join,
)
def test_other_shapes_go_to_click_unchanged(
    tmp_path: Path, argv: list[str], isolated: Path
) -> None:
    argv = [a.format(home=isolated) for a in argv]
    assert fast.parse_add(argv) is None
    assert fast.run(argv) is None  # nothing done, nothing printed
    assert both_ways(tmp_path, argv), "click was not imported"


def test_debug_and_completion_requests_go_to_click(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    argv = ["add", "gpu.example.org", "--port", "99999"]
    for var, value in (("SSHJUP_DEBUG", "1"), ("_SSHJUP_COMPLETE", "bash_complete")):
        with monkeypatch.context() as patch:
            patch.setenv(var, value)
            assert fast.run(argv) is None
            assert both_ways(tmp_path, argv, traceback=True)


# --- apply -----------------------------------------------------------------------------------

INVENTORIES = {
    "two.yaml": (
        "version: 1\nhosts:\n  web:\n    hostname: web.example.org\n    local_port: 18891\n"
        "  lab:\n    hostname: 10.0.0.7\n    user: alice\n    local_port: 18892\n"
    ),
    "odd.yaml": "# by hand\nversion: 1\nhosts:\n  web: {hostname: 'web.example.org'}\n",
    "bad.yaml": "version: 1\nhosts:\n  web:\n    hostname: web.example.org\n    port: 99999\n",
    "taken.yaml": "version: 1\nhosts:\n  build:\n    hostname: b.example.org\n",
    "broken.yaml": "version: 1\nhosts: [\n",
    "empty.yaml": "version: 1\nhosts: {}\n",
}
APPLY_TAKEN = [
    (["apply", "{inv}/two.yaml"], []),
    (["apply", "{inv}/two.yaml", "--dry-run"], []),
    (["apply", "{inv}/two.yaml", "--json"], []),
    (["apply", "{inv}/two.yaml", "-y", "--force"], ["add gpu.example.org"]),
    (["apply", "{inv}/two.yaml"], ["add web.example.org --local-port 18891"]),  # one new
    (["apply", "{inv}/odd.yaml"], []),
    (["apply", "{inv}/empty.yaml", "--prune"], ["add gpu.example.org"]),  # refused: exit 2
    (["apply", "{inv}/empty.yaml", "--prune", "--yes"], ["add gpu.example.org"]),
    (["apply", "{inv}/empty.yaml", "--prune", "--dry-run"], ["add gpu.example.org"]),
    (["apply", "{inv}/two.yaml", "--prune", "--json"], ["add gpu.example.org"]),
    (["apply", "{inv}/two.yaml"], ["add web.example.org --local-port 18891 --name web"]),
    (["apply", "{inv}/bad.yaml"], []),
    (["apply", "{inv}/taken.yaml"], []),
    (["apply", "{inv}/broken.yaml"], []),
    (["apply", "{inv}/missing.yaml"], []),
    (["apply", "{inv}/two.yaml", "--ssh-config", "{home}/other_config"], []),
]


@pytest.fixture
def inventories(tmp_path: Path) -> Path:
    folder = tmp_path / "inventories"
    folder.mkdir()
    for name, text in INVENTORIES.items():
        (folder / name).write_text(text)
    return folder


@pytest.mark.parametrize(("argv", "before"), APPLY_TAKEN, ids=lambda a: " ".join(a)[:60])
def test_an_apply_the_fast_path_takes_gives_what_click_gives(
    tmp_path: Path, inventories: Path, isolated: Path, argv: list[str], before: list[str]
) -> None:
    (isolated / "other_config").write_text("Host *\n    User me\n")
    argv = [a.format(inv=inventories, home=isolated) for a in argv]
    assert fast.parse_apply(argv) is not None
    assert not both_ways(tmp_path, argv, before=before), "the fast path imported click"


@pytest.mark.parametrize(
    "argv",
    [
        ["apply"],
        ["apply", "--help"],
        ["apply", "a.yaml", "b.yaml"],
        ["apply", "{inv}/two.yaml", "--prune", "--prune"],
        ["apply", "{inv}/two.yaml", "--yes=1"],
        ["apply", "{inv}"],  # a directory: click's own message
        ["apply", "{inv}/two.yaml", "--restart"],
        ["apply", "--", "{inv}/two.yaml"],
        ["--ssh-config", "{home}/other_config", "apply", "{inv}/two.yaml"],
    ],
    ids=" ".join,
)
def test_other_apply_shapes_go_to_click_unchanged(
    tmp_path: Path, inventories: Path, isolated: Path, argv: list[str]
) -> None:
    (isolated / "other_config").write_text("Host *\n    User me\n")
    argv = [a.format(inv=inventories, home=isolated) for a in argv]
    assert fast.run(argv) is None  # nothing done, nothing printed
    assert both_ways(tmp_path, argv), "click was not imported"


def test_an_apply_that_would_ask_on_a_terminal_goes_to_click(
    inventories: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stdin", Terminal())
    assert fast.run(["apply", str(inventories / "two.yaml")]) is None
    assert not (Path(os.environ["HOME"]) / ".ssh" / "config").exists()  # nothing done


def test_an_add_imports_none_of_the_modules_it_was_made_to_skip(tmp_path: Path) -> None:
    """What each skipped import saved is in bench/README.md: click (the fast path), dataclasses
    and inspect (sshjup/records.py), subprocess (ssh -G through posix_spawn), threading (the
    background fsyncs on a bare thread), typing and yaml."""
    skipped = ("click", "dataclasses", "inspect", "subprocess", "threading", "typing", "yaml")
    code = PLAIN.replace(
        "main()\n",
        "import atexit, os\n"
        f"atexit.register(lambda: open(os.environ['MARK'], 'w').write(' '.join("
        f"m for m in {skipped!r} if m in sys.modules)))\n"
        "try:\n    main()\nfinally:\n    atexit._run_exitfuncs()\n",
    )
    home = Path(os.environ["HOME"])
    (home / ".ssh" / "config").write_text(USER_CONTENT)
    mark = tmp_path / "mark"
    code_, _, err = _run(code, ["add", "gpu.example.org", "--user", "alice"], mark)
    assert code_ == 0, err
    expected = "" if fast_spawn() else "subprocess"
    assert mark.read_text() == expected


def fast_spawn() -> bool:
    from sshjup import proc

    return proc._CAN_SPAWN
