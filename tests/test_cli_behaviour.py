"""What each command does, as a user sees it: output, exit code and what ends up on disk.

Every command runs in-process through click's CliRunner (stdout and stderr apart), except the
few that are about the process itself (``python -m sshjup``, ``--debug`` tracebacks).
``ssh -G -F`` is the oracle for what a written config means.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from sshjup import __version__, hosts
from sshjup.cli import cli
from sshjup.models import Forward, Target
from sshjup.ssh import openssh, sshconfig
from sshjup.store import fileio, inventory, paths, state

ROOT = Path(__file__).resolve().parent.parent
USER_CONTENT = b"# my config\n\nHost build\n    HostName build.example.org\n\nHost *\n    User me\n"


def run(*argv: str, code: int = 0) -> Result:
    result = CliRunner().invoke(cli, list(argv))
    assert result.exit_code == code, (result.exit_code, result.output, result.exception)
    return result


def ssh_g(config: Path, alias: str) -> openssh.Resolved:
    resolved = openssh.resolve(config, alias)
    assert resolved.ok, resolved.error
    return resolved


def inv_hosts() -> dict[str, Target]:
    inv = inventory.load(paths.inventory_path())
    return {} if inv is None else inv.hosts


def section_text(config: Path) -> str:
    return sshconfig.current_section_text(sshconfig.decode(config.read_bytes()))


def files_state(*roots: Path) -> dict[str, tuple[bytes, int]]:
    """Bytes and mtime of every file under ``roots``."""
    out = {}
    for root in roots:
        for path in sorted(root.rglob("*")) if root.exists() else []:
            if path.is_file():
                out[str(path)] = (path.read_bytes(), path.stat().st_mtime_ns)
    return out


@pytest.fixture
def with_gpu(ssh_config: Path) -> Path:
    """The user's config plus one managed host, gpu."""
    ssh_config.write_bytes(USER_CONTENT)
    run("add", "alice@gpu.example.org", "--local-port", "18888", "--remote-port", "18889")
    return ssh_config


# --- add ---------------------------------------------------------------------------------------


def test_add_writes_a_block_that_ssh_resolves_as_asked(ssh_config: Path) -> None:
    ssh_config.write_bytes(USER_CONTENT)
    result = run(
        "add",
        "alice@gpu.example.org:2222",
        "--local-port",
        "18888",
        "--remote-port",
        "18889",
        "--forward",
        "16006:6006",
        "--identity-file",
        "~/.ssh/id_gpu",
    )
    assert "Added jup-gpu" in result.stdout
    assert "Checked with ssh -G: jup-gpu." in result.stdout
    assert result.stdout.endswith(f"Open the tunnel with: ssh -F {ssh_config} jup-gpu\n")
    resolved = ssh_g(ssh_config, "jup-gpu")
    assert resolved.get("hostname") == "gpu.example.org"
    assert resolved.get("user") == "alice"  # beats the later `Host *` `User me`
    assert resolved.get("port") == "2222"
    assert resolved.get("exitonforwardfailure") == "yes"
    assert resolved.local_forwards == (
        "[127.0.0.1]:18888 [localhost]:18889",
        "[127.0.0.1]:16006 [localhost]:6006",
    )
    # Other hosts resolve as before.
    assert ssh_g(ssh_config, "build").get("user") == "me"


def test_add_json_reports_the_change(ssh_config: Path) -> None:
    data = json.loads(run("add", "gpu.example.org", "--json").stdout)
    assert data["action"] == "add"
    assert data["changed"] is True
    assert data["dry_run"] is False
    assert data["added"] == ["gpu"]
    assert data["verified"] == ["jup-gpu"]
    assert data["ssh_config"] == str(ssh_config)
    assert data["diff"].startswith(f"--- {ssh_config}\n+++ {ssh_config}\n")


@pytest.mark.parametrize("existing", [False, True], ids=["no-files", "existing-files"])
def test_dry_run_prints_a_unified_diff_and_writes_nothing(
    ssh_config: Path, isolated: Path, existing: bool
) -> None:
    if existing:
        ssh_config.write_bytes(USER_CONTENT)
        run("add", "cpu.example.org", "--local-port", "18887")
    else:
        (isolated / ".ssh").rmdir()  # not even ~/.ssh
    before = files_state(isolated, paths.app_dir())
    result = run("add", "gpu.example.org", "--user", "alice", "--dry-run")
    assert files_state(isolated, paths.app_dir()) == before
    assert (isolated / ".ssh").exists() == existing
    assert paths.app_dir().exists() == existing
    assert not state.state_path().exists() or existing
    diff = result.stdout
    assert diff.startswith(f"--- {ssh_config}\n+++ {ssh_config}\n@@ ")
    added = [line[1:] for line in diff.splitlines() if line.startswith("+") and line[1:3] != "++"]
    assert "Host jup-gpu" in added
    assert "    HostName gpu.example.org" in added
    assert "    User alice" in added
    removed = [line[1:] for line in diff.splitlines() if line.startswith("-") and line[1:3] != "--"]
    # Only the section's end marker (its digest) may change; nothing of the user's.
    assert all(line.startswith(sshconfig.END_MARK_PREFIX) for line in removed), removed


def test_rerunning_the_same_add_writes_nothing_and_says_so(with_gpu: Path, isolated: Path) -> None:
    before = files_state(isolated, paths.app_dir())
    result = run("add", "alice@gpu.example.org", "--local-port", "18888", "--remote-port", "18889")
    assert "Already up to date" in result.stdout
    assert "nothing written" in result.stdout
    assert files_state(isolated, paths.app_dir()) == before


def test_adding_a_managed_name_again_with_other_settings_is_refused(with_gpu: Path) -> None:
    before = with_gpu.read_bytes()
    result = run("add", "bob@gpu.example.org", "--local-port", "18890", code=3)
    assert "'gpu' is already managed" in result.stderr
    assert "sshjup edit gpu" in result.stderr
    assert with_gpu.read_bytes() == before


@pytest.mark.parametrize(
    "user_lines",
    [
        "Host jup-gpu\n    HostName elsewhere.example.org\n",
        "Host build jup-gpu\n    User x\n",
        "Host=jup-gpu\n    User x\n",
        "  host jup-gpu\n",
    ],
    ids=["own-block", "second-pattern", "key=value", "indented-lower-case"],
)
def test_an_alias_defined_outside_the_section_is_refused_with_a_name_hint(
    ssh_config: Path, user_lines: str
) -> None:
    ssh_config.write_text("# mine\n\n" + user_lines)
    before = ssh_config.read_bytes()
    result = run("add", "gpu.example.org", code=3)
    assert f"'jup-gpu' is already defined at {ssh_config}:3" in result.stderr
    assert "--name" in result.stderr
    assert ssh_config.read_bytes() == before
    assert not paths.inventory_path().exists()
    # With another name it goes in.
    run("add", "gpu.example.org", "--name", "gpu2")


def test_an_alias_defined_in_an_included_file_is_refused(ssh_config: Path, isolated: Path) -> None:
    conf_d = isolated / "conf.d"
    conf_d.mkdir()
    (conf_d / "work.conf").write_text("Host other\n\nHost jup-gpu\n    HostName x.example.org\n")
    # Absolute: OpenSSH resolves a relative Include from the password-database home, not $HOME.
    ssh_config.write_text(f"Include {conf_d}/*.conf\n")
    before = ssh_config.read_bytes()
    result = run("add", "gpu.example.org", code=3)
    assert f"already defined at {conf_d / 'work.conf'}:3" in result.stderr
    assert "--name" in result.stderr
    assert ssh_config.read_bytes() == before


def test_a_wildcard_host_is_not_a_conflict(ssh_config: Path) -> None:
    ssh_config.write_text("Host jup-*\n    User other\n")
    run("add", "gpu.example.org", "--user", "alice")
    assert ssh_g(ssh_config, "jup-gpu").get("user") == "alice"


def test_two_managed_hosts_on_one_local_port_are_refused_with_a_free_port(
    with_gpu: Path,
) -> None:
    before = with_gpu.read_bytes()
    result = run("add", "cpu.example.org", "--local-port", "18888", code=3)
    assert "local port 18888 is already used by the managed host 'gpu'" in result.stderr
    match = re.search(r"--local-port (\d+)", result.stderr)
    assert match, result.stderr
    suggested = int(match.group(1))
    assert suggested != 18888
    assert hosts.local_port_free(suggested)
    assert with_gpu.read_bytes() == before
    # The suggestion works; an extra forward on a taken port is refused the same way.
    run("add", "cpu.example.org", "--local-port", str(suggested))
    run("add", "tpu.example.org", "--local-port", "18000", "--forward", "18888:6006", code=3)


# --- edit, remove --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["gpu", "jup-gpu"])
def test_edit_changes_only_what_is_given(with_gpu: Path, name: str) -> None:
    result = run("edit", name, "--local-port", "18890", "--port", "2200")
    assert "Updated jup-gpu" in result.stdout
    resolved = ssh_g(with_gpu, "jup-gpu")
    assert resolved.get("port") == "2200"
    assert resolved.get("user") == "alice"
    assert resolved.local_forwards == ("[127.0.0.1]:18890 [localhost]:18889",)
    assert inv_hosts()["gpu"].local_port == 18890

    run("edit", name, "--user", "", "--forward", "16006:6006")  # "" removes the setting
    target = inv_hosts()["gpu"]
    assert target.user is None
    assert target.forwards[1:] == (Forward(16006, 6006),)
    assert "User alice" not in section_text(with_gpu)
    run("edit", name, "--clear-forwards")
    assert inv_hosts()["gpu"].forwards == (Forward(18890, 18889),)


def test_edit_of_an_unknown_name_is_not_found(with_gpu: Path) -> None:
    result = run("edit", "nope", "--user", "bob", code=4)
    assert "nope" in result.stderr


@pytest.mark.parametrize("name", ["gpu", "jup-gpu"])
def test_remove_gives_back_the_original_bytes(with_gpu: Path, name: str) -> None:
    result = run("remove", name)
    assert "Removed jup-gpu" in result.stdout
    assert with_gpu.read_bytes() == USER_CONTENT
    assert inv_hosts() == {}
    run("remove", name, code=4)


def test_removing_the_last_host_deletes_a_config_sshjup_created(ssh_config: Path) -> None:
    run("add", "gpu.example.org")
    assert ssh_config.exists()
    run("remove", "gpu")
    assert not ssh_config.exists()
    # A config the user had stays, even when it ends up empty.
    ssh_config.write_bytes(b"")
    run("add", "gpu.example.org")
    run("remove", "gpu")
    assert ssh_config.read_bytes() == b""


# --- list, show --------------------------------------------------------------------------------


def test_list_shows_a_table_and_json(with_gpu: Path) -> None:
    run("add", "10.0.0.5", "--name", "cpu", "--local-port", "18890", "--forward", "16006:6006")
    lines = run("list").stdout.splitlines()
    assert lines[0].split() == [
        "NAME",
        "ALIAS",
        "HOST",
        "USER",
        "PORT",
        "JUPYTER",
        "MORE",
        "FORWARDS",
    ]
    assert lines[1].split() == [
        "gpu",
        "jup-gpu",
        "gpu.example.org",
        "alice",
        "-",
        "18888->18889",
        "-",
    ]
    assert lines[2].split() == ["cpu", "jup-cpu", "10.0.0.5", "-", "-", "18890->8889", "16006:6006"]

    data = json.loads(run("list", "--json").stdout)
    assert [entry["name"] for entry in data] == ["gpu", "cpu"]
    assert data[0] == {
        "name": "gpu",
        "alias": "jup-gpu",
        "hostname": "gpu.example.org",
        "user": "alice",
        "port": None,
        "identity_file": None,
        "proxy_jump": None,
        "local_port": 18888,
        "remote_port": 18889,
        "forwards": [],
        **{k: v for k, v in data[0].items() if k not in JSON_KEYS},  # later additions
    }
    assert data[1]["forwards"] == ["16006:6006"]


JSON_KEYS = {
    "name",
    "alias",
    "hostname",
    "user",
    "port",
    "identity_file",
    "proxy_jump",
    "local_port",
    "remote_port",
    "forwards",
}


def test_list_with_nothing_managed_says_how_to_start(ssh_config: Path) -> None:
    assert "sshjup add HOST" in run("list").stdout
    assert json.loads(run("list", "--json").stdout) == []


@pytest.mark.parametrize("name", ["gpu", "jup-gpu"])
def test_show_prints_the_block_and_what_ssh_resolves(with_gpu: Path, name: str) -> None:
    result = run("show", name)
    out = result.stdout
    block, _, resolved = out.partition("What `ssh -G jup-gpu` resolves:")
    assert block.startswith("Host jup-gpu\n    HostName gpu.example.org\n    User alice\n")
    assert block.strip() in section_text(with_gpu)
    assert "  hostname gpu.example.org" in resolved
    assert "  user alice" in resolved
    assert "  exitonforwardfailure yes" in resolved
    assert "  localforward [127.0.0.1]:18888 [localhost]:18889" in resolved
    assert result.stderr == ""  # no problems to report

    data = json.loads(run("show", name, "--json").stdout)
    assert data["resolved"]["hostname"] == "gpu.example.org"
    assert data["resolved"]["localforward"] == ["[127.0.0.1]:18888 [localhost]:18889"]
    assert data["problems"] == []


def test_show_names_the_line_that_overrides_a_value(with_gpu: Path) -> None:
    # The user puts a block above sshjup's section that sets the User first.
    with_gpu.write_bytes(b"Host jup-*\n    User mallory\n\n" + with_gpu.read_bytes())
    result = run("show", "gpu")
    assert "ssh resolves User to 'mallory', not 'alice'" in result.stderr
    assert f"line 2 of {with_gpu}" in result.stderr


def test_show_of_an_unknown_name_is_not_found(ssh_config: Path) -> None:
    result = run("show", "nope", code=4)
    assert "no managed host named 'nope'" in result.stderr
    assert "sshjup add HOST --name nope" in result.stderr


# --- a hand edit -------------------------------------------------------------------------------


def test_a_hand_edit_in_the_section_is_refused_without_force(with_gpu: Path) -> None:
    edited = with_gpu.read_bytes().replace(b"    User alice\n", b"    User bob\n")
    with_gpu.write_bytes(edited)
    result = run("add", "cpu.example.org", "--local-port", "18890", code=3)
    assert "changed by hand" in result.stderr
    assert "-    User bob" in result.stderr  # the diff: the hand edit goes, the inventory's comes
    assert "+    User alice" in result.stderr
    assert "--force" in result.stderr
    assert with_gpu.read_bytes() == edited
    run("add", "cpu.example.org", "--local-port", "18890", "--force")
    assert ssh_g(with_gpu, "jup-gpu").get("user") == "alice"


# --- export, apply -----------------------------------------------------------------------------


def test_export_then_apply_on_a_fresh_machine_reproduces_the_section(
    with_gpu: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run(
        "add",
        "bob@10.0.0.5:2200",
        "--name",
        "cpu",
        "--local-port",
        "18890",
        "--forward",
        "6006:6006",
    )
    exported = run("export").stdout
    assert exported.startswith(inventory.HEADER)
    section = section_text(with_gpu)

    tunnels = tmp_path / "tunnels.yaml"
    tunnels.write_text(exported)
    other = tmp_path / "machine2"
    (other / ".ssh").mkdir(parents=True)
    other_config = other / ".ssh" / "config"
    other_config.write_bytes(b"Host *\n    ServerAliveInterval 60\n")
    monkeypatch.setenv("SSHJUP_HOME", str(other / "app"))
    monkeypatch.setenv("SSHJUP_SSH_CONFIG", str(other_config))

    result = run("apply", str(tunnels))
    assert "add    jup-gpu" in result.stdout
    assert "add    jup-cpu" in result.stdout
    assert section_text(other_config) == section
    assert run("export").stdout == exported
    assert ssh_g(other_config, "jup-cpu").get("port") == "2200"
    # Applying it again changes nothing.
    config_bytes = other_config.read_bytes()
    assert "already up to date" in run("apply", str(tunnels)).stdout
    assert other_config.read_bytes() == config_bytes


def test_apply_dry_run_prints_the_diff_and_writes_nothing(
    ssh_config: Path, tmp_path: Path, isolated: Path
) -> None:
    tunnels = tmp_path / "tunnels.yaml"
    tunnels.write_text("version: 1\nhosts:\n  web:\n    hostname: web.example.org\n")
    before = files_state(isolated, paths.app_dir())
    result = run("apply", str(tunnels), "--dry-run")
    assert "+Host jup-web" in result.stdout
    assert files_state(isolated, paths.app_dir()) == before
    assert not ssh_config.exists()
    assert not paths.app_dir().exists()


def test_apply_keeps_other_hosts_and_prune_removes_them(with_gpu: Path, tmp_path: Path) -> None:
    tunnels = tmp_path / "tunnels.yaml"
    tunnels.write_text(
        "version: 1\nhosts:\n  web:\n    hostname: web.example.org\n    local_port: 18891\n"
    )
    run("apply", str(tunnels))
    assert list(inv_hosts()) == ["gpu", "web"]

    dry = run("apply", str(tunnels), "--prune", "--dry-run")
    assert "-Host jup-gpu" in dry.stdout
    assert list(inv_hosts()) == ["gpu", "web"]

    # No terminal (CliRunner's stdin): removals need --yes, and nothing changes without it.
    before = with_gpu.read_bytes()
    refused = run("apply", str(tunnels), "--prune", code=2)
    assert refused.stdout == ""
    assert refused.stderr == (
        "Error: apply --prune would remove jup-gpu, and there is no terminal to ask: removals "
        f"need --yes; nothing was changed\nHint: check the plan with `sshjup apply {tunnels} "
        "--prune --dry-run`, then run it again with --yes\n"
    )
    assert with_gpu.read_bytes() == before
    assert list(inv_hosts()) == ["gpu", "web"]

    result = run("apply", str(tunnels), "--prune", "--yes")
    assert "remove jup-gpu" in result.stdout
    assert list(inv_hosts()) == ["web"]
    assert sshconfig.managed_aliases(sshconfig.decode(with_gpu.read_bytes())) == ["jup-web"]
    assert ssh_g(with_gpu, "jup-web").get("hostname") == "web.example.org"


def test_apply_prune_asks_on_a_terminal_and_enter_alone_removes_nothing(
    with_gpu: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import types

    import sshjup.cli.hosts

    tunnels = tmp_path / "tunnels.yaml"
    tunnels.write_text("version: 1\nhosts:\n  web:\n    hostname: web.example.org\n")
    run("apply", str(tunnels), "--yes")
    before = with_gpu.read_bytes()
    tty = types.SimpleNamespace(stdin=types.SimpleNamespace(isatty=lambda: True))
    monkeypatch.setattr(sshjup.cli.hosts, "sys", tty)
    result = CliRunner().invoke(cli, ["apply", str(tunnels), "--prune"], input="\n")
    assert result.exit_code == 1  # Aborted!
    assert "  remove jup-gpu\nApply this plan? [y/N]: \n" in result.stdout
    assert with_gpu.read_bytes() == before
    assert list(inv_hosts()) == ["gpu", "web"]


def test_apply_changes_a_host_the_file_changes(with_gpu: Path, tmp_path: Path) -> None:
    tunnels = tmp_path / "tunnels.yaml"
    tunnels.write_text(
        "version: 1\nhosts:\n  gpu:\n    hostname: gpu.example.org\n    user: carol\n"
        "    local_port: 18888\n    remote_port: 18889\n"
    )
    result = run("apply", str(tunnels))
    assert "update jup-gpu" in result.stdout
    assert ssh_g(with_gpu, "jup-gpu").get("user") == "carol"


def test_apply_of_a_missing_file_is_bad_input(tmp_path: Path) -> None:
    result = run("apply", str(tmp_path / "nope.yaml"), code=2)
    assert "nope.yaml" in result.stderr


# --- add ALIAS: values from ssh -G ---------------------------------------------------------------


def test_add_alias_takes_hostname_user_port_key_and_jump_from_ssh_g(ssh_config: Path) -> None:
    ssh_config.write_text(
        "Host mybox\n"
        "    HostName 192.0.2.5\n"
        "    User bob\n"
        "    Port 2222\n"
        "    IdentityFile ~/.ssh/id_mybox\n"
        "    ProxyJump jump@bastion.example.org:2200\n"
    )
    result = run("add", "mybox", "--local-port", "18895")
    assert "Added jup-mybox" in result.stdout
    assert inv_hosts()["mybox"] == Target(
        "mybox",
        "192.0.2.5",
        forwards=(Forward(18895, 8889),),
        user="bob",
        port=2222,
        identity_file="~/.ssh/id_mybox",
        proxy_jump="jump@bastion.example.org:2200",
    )
    resolved = ssh_g(ssh_config, "jup-mybox")
    assert resolved.get("hostname") == "192.0.2.5"
    assert resolved.get("user") == "bob"
    assert resolved.get("port") == "2222"
    assert resolved.get("proxyjump") == "jump@bastion.example.org:2200"


def test_add_alias_values_can_be_overridden_and_defaults_are_not_copied(ssh_config: Path) -> None:
    ssh_config.write_text("Host mybox\n    HostName 192.0.2.5\n    User bob\n")
    run("add", "mybox", "--user", "carol", "--name", "box")
    target = inv_hosts()["box"]
    assert target.user == "carol"
    assert target.port is None  # ssh's default 22 is not written
    assert target.identity_file is None  # nor ssh's default identity files
    assert target.proxy_jump is None


def test_add_of_a_name_that_is_not_an_alias_is_a_host_name(ssh_config: Path) -> None:
    ssh_config.write_text("Host mybox\n    HostName 192.0.2.5\n")
    run("add", "otherbox")
    assert inv_hosts()["otherbox"].hostname == "otherbox"


# --- the command line itself ---------------------------------------------------------------------


def test_version() -> None:
    assert run("--version").stdout == f"sshjup, version {__version__}\n"


def all_commands() -> dict[str, click.Command]:
    found: dict[str, click.Command] = {"sshjup": cli}

    def walk(group: click.Group, prefix: str) -> None:
        for name, command in group.commands.items():
            found[f"{prefix} {name}"] = command
            if isinstance(command, click.Group):
                walk(command, f"{prefix} {name}")

    walk(cli, "sshjup")
    return found


@pytest.mark.parametrize("path", sorted(all_commands()))
def test_every_command_has_help_with_an_example(path: str) -> None:
    argv = [*path.split()[1:], "--help"]
    result = run(*argv)
    assert "Example:" in result.stdout, result.stdout
    example = result.stdout.split("Example:", 1)[1]
    assert "sshjup" in example


def test_the_core_commands_exist() -> None:
    assert set(cli.commands) >= {
        "add",
        "list",
        "show",
        "edit",
        "remove",
        "apply",
        "export",
        "up",
        "down",
        "status",
    }


def python_m(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sshjup", *argv],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_python_dash_m_sshjup_help_works() -> None:
    result = python_m("--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Usage: ")
    assert "add" in result.stdout


def test_errors_are_one_line_and_debug_shows_the_traceback(ssh_config: Path) -> None:
    plain = python_m("add", "gpu.example.org", "--user", "al ice")
    assert plain.returncode == 2
    assert plain.stderr.startswith("Error: user: ")
    assert "Traceback" not in plain.stderr

    debug = python_m("--debug", "add", "gpu.example.org", "--user", "al ice")
    assert debug.returncode != 0
    assert "Traceback (most recent call last)" in debug.stderr
    assert "sshjup.errors.InvalidInput: user: " in debug.stderr
    assert not ssh_config.exists()


def test_debug_also_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSHJUP_DEBUG", "1")
    result = CliRunner().invoke(cli, ["show", "nope"])
    assert result.exit_code != 0
    assert type(result.exception).__name__ == "NotFound"  # raised, not turned into a message


def test_ssh_config_option_beats_the_environment(ssh_config: Path, tmp_path: Path) -> None:
    other = tmp_path / "other_config"
    run("add", "gpu.example.org", "--ssh-config", str(other))
    assert "Host jup-gpu" in other.read_text()
    assert not ssh_config.exists()
    assert fileio.read_bytes(ssh_config) is None


# --- PuTTY: on only when asked; one hand edit blocks nobody else ------------------------------


def test_a_putty_store_that_appears_does_not_turn_putty_on_for_every_host(
    ssh_config: Path,
) -> None:
    sessions = Path(os.environ["PUTTYDIR"]) / "sessions"
    sessions.mkdir(parents=True)  # any PuTTY run makes its store
    run("add", "alice@gpu.example.org", "--local-port", "18888", "--remote-port", "18889")
    assert list(sessions.iterdir()) == []
    run("add", "bob@cpu.example.org", "--putty", "--local-port", "18890", "--remote-port", "18891")
    assert [p.name for p in sessions.iterdir()] == ["jup-cpu"]


def test_a_hand_edit_of_one_putty_session_does_not_block_changes_to_other_hosts(
    ssh_config: Path,
) -> None:
    sessions = Path(os.environ["PUTTYDIR"]) / "sessions"
    run("add", "alice@gpu.example.org", "--putty", "--local-port", "18888", "--remote-port", "1")
    run("add", "bob@cpu.example.org", "--putty", "--local-port", "18890", "--remote-port", "2")
    gpu = sessions / "jup-gpu"
    gpu.write_text(gpu.read_text() + "Font=Hack\n")
    edited = gpu.read_bytes()
    result = run("edit", "cpu", "--user", "carol")
    assert "jup-cpu" in result.stdout
    assert "jup-gpu" in result.stderr  # the warning names the session left alone
    assert gpu.read_bytes() == edited
    assert "UserName=carol" in (sessions / "jup-cpu").read_text()
    refused = run("edit", "gpu", "--user", "dave", code=3)
    assert "--force" in refused.output
    assert gpu.read_bytes() == edited


# --- the terminal: no control sequence from a file or the remote reaches it ---------------------


def test_printable_escapes_every_control_sequence_but_keeps_newlines_and_tabs() -> None:
    from sshjup.cli.options import printable

    text = "a\x1b]0;pwned\x07b\x1b[2J\x9b31m\u202etxt\tend\nnext\r"
    out = printable(text)
    assert out == "a\\x1b]0;pwned\\x07b\\x1b[2J\\x9b31m\\u202etxt\tend\nnext\\x0d"


def test_a_dry_run_diff_shows_a_comment_with_escape_sequences_escaped(ssh_config: Path) -> None:
    ssh_config.write_bytes(b"# hello \x1b]52;c;cHduZWQ=\x07 world\nHost other\n    User x\n")
    result = run("add", "alice@gpu.example.org", "--dry-run")
    assert "\x1b" not in result.output and "\x07" not in result.output
    assert "\\x1b]52;c;cHduZWQ=\\x07" in result.output
