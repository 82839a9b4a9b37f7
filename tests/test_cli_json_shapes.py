"""The `--json` output of every command has exactly the keys docs/json.md documents.

The examples in docs/json.md are the contract: each one is parsed and its shape (the keys of
every object, recursively, and of the first element of every list) compared with the real
output of the command, run against a temp ssh config.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from sshjup.cli import cli
from sshjup.doctor import DETAIL_KEYS, kind_of
from sshjup.ssh.sshconfig import BEGIN_MARK, END_MARK_PREFIX
from tests.support.net import free_port

DOC = Path(__file__).resolve().parent.parent / "docs" / "json.md"


def documented_examples() -> dict[str, Any]:
    """``{"sshjup list --json": <parsed example>, ...}`` from the ``##`` sections."""
    text = DOC.read_text(encoding="utf-8")
    examples: dict[str, Any] = {}
    for section in re.split(r"^## ", text, flags=re.M)[1:]:
        title = section.splitlines()[0].strip().strip("`")
        block = re.search(r"^```json\n(.*?)^```", section, flags=re.M | re.S)
        if block:
            examples[title] = json.loads(block.group(1))
    return examples


def documented_detail_keys() -> dict[str, tuple[str, ...]]:
    text = DOC.read_text(encoding="utf-8")
    rows = re.findall(r"^\| `([a-z_.]+)` \| (`.*`) \|$", text, flags=re.M)
    return {kind: tuple(re.findall(r"`([a-z_]+)`", keys)) for kind, keys in rows}


def assert_same_shape(documented: Any, actual: Any, where: str = "$") -> None:
    """Same keys in every object; lists compared through their first elements."""
    if isinstance(documented, dict):
        assert isinstance(actual, dict), f"{where}: expected an object, got {actual!r}"
        assert sorted(actual) == sorted(documented), f"{where}: keys differ"
        for key, value in documented.items():
            assert_same_shape(value, actual[key], f"{where}.{key}")
    elif isinstance(documented, list):
        assert isinstance(actual, list), f"{where}: expected a list, got {actual!r}"
        if documented and actual:
            assert_same_shape(documented[0], actual[0], f"{where}[0]")
    elif documented is not None and actual is not None:
        assert type(actual) is type(documented), f"{where}: {actual!r} vs {documented!r}"


def run(*args: str) -> Any:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code in (0, 1), result.output + result.stderr
    return json.loads(result.stdout)


@pytest.fixture
def docs() -> dict[str, Any]:
    examples = documented_examples()
    assert set(examples) == {
        "sshjup list --json",
        "sshjup show NAME --json",
        "sshjup status [NAME] --json",
        "sshjup add|edit|remove|apply --json",
        "sshjup putty list --json",
        "sshjup doctor [NAME] --json",
        "sshjup kernel start --json",
        "sshjup kernel list [NAME] --json",
        "sshjup kernelspec install NAME --json",
        "sshjup url NAME --json",
    }
    return examples


@pytest.fixture
def managed(ssh_config: Path) -> Path:
    ssh_config.write_text("Host *\n    User bob\n")
    ssh_config.chmod(0o600)
    args = ["add", "gpu.example.org", "--user", "alice", "--local-port", str(free_port())]
    result = CliRunner().invoke(cli, [*args, "--forward", f"{free_port()}:6006", "--json"])
    assert result.exit_code == 0, result.output + result.stderr
    return ssh_config


def test_list_json_matches_the_documented_shape(docs: dict[str, Any], managed: Path) -> None:
    assert_same_shape(docs["sshjup list --json"], run("list", "--json"))


def test_show_json_matches_the_documented_shape(docs: dict[str, Any], managed: Path) -> None:
    assert_same_shape(docs["sshjup show NAME --json"], run("show", "gpu", "--json"))


def test_status_json_matches_the_documented_shape(docs: dict[str, Any], managed: Path) -> None:
    documented = docs["sshjup status [NAME] --json"]
    assert_same_shape(documented, run("status", "--json"))
    assert_same_shape(documented, [run("down", "gpu", "--json")])


def test_change_json_matches_the_documented_shape(
    docs: dict[str, Any], managed: Path, tmp_path: Path
) -> None:
    documented = docs["sshjup add|edit|remove|apply --json"]
    port = str(free_port())
    add = run("add", "10.0.0.5", "--name", "lab", "--local-port", port, "--json")
    assert add["action"] == "add"
    assert_same_shape(documented, add)
    assert_same_shape(documented, run("edit", "lab", "--port", "2222", "--json"))
    assert_same_shape(documented, run("remove", "lab", "--json", "--dry-run"))
    exported = tmp_path / "tunnels.yaml"
    result = CliRunner().invoke(cli, ["export"])
    exported.write_text(result.stdout.replace("hostname: 10.0.0.5", "hostname: 10.0.0.6"))
    applied = run("apply", str(exported), "--json", "--yes")
    assert applied["action"] == "apply"
    assert applied["updated"] == ["lab"]
    assert_same_shape(documented, applied)


def test_putty_list_json_matches_the_documented_shape(docs: dict[str, Any], managed: Path) -> None:
    documented = docs["sshjup putty list --json"]
    assert_same_shape(documented, run("putty", "list", "--json"))
    run("edit", "gpu", "--putty", "--json")
    [row] = run("putty", "list", "--json")
    assert row["state"] == "in-sync"
    assert_same_shape(documented, [row])


def test_doctor_json_matches_the_documented_shape(docs: dict[str, Any], managed: Path) -> None:
    # Move sshjup's section below `Host *`, so the documented failing check appears.
    text = managed.read_text()
    start, end_mark = text.index(BEGIN_MARK), text.index(END_MARK_PREFIX)
    end = text.index("\n", end_mark) + 1
    managed.write_text(text[:start] + text[end:] + text[start:end])

    documented = docs["sshjup doctor [NAME] --json"]
    actual = run("doctor", "--json")

    assert actual["ok"] is False
    assert sorted(actual) == sorted(documented)
    assert_same_shape(documented["counts"], actual["counts"])
    [resolve] = [c for c in actual["checks"] if c["id"] == "resolve:gpu"]
    assert_same_shape(documented["checks"][0], resolve)
    for check in actual["checks"]:
        assert sorted(check) == sorted(documented["checks"][0]), check["id"]
        assert sorted(check["details"]) == sorted(DETAIL_KEYS[kind_of(check["id"])]), check["id"]


def test_every_doctor_check_kind_is_documented_with_its_details_keys() -> None:
    assert documented_detail_keys() == DETAIL_KEYS


def test_url_json_matches_the_documented_shape(docs: dict[str, Any], managed: Path) -> None:
    assert_same_shape(
        docs["sshjup url NAME --json"], run("url", "gpu", "--no-check", "--token", "t", "--json")
    )


def test_kernelspec_install_json_matches_the_documented_shape(
    docs: dict[str, Any], managed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "data"))
    out = run("kernelspec", "install", "gpu", "--json")
    assert_same_shape(docs["sshjup kernelspec install NAME --json"], out)


def test_kernel_list_json_matches_the_documented_shape_for_both_owners(
    docs: dict[str, Any], managed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A kernel `kernel start` recorded and a launcher's record: one shape for both (the
    remote is not asked: the host is not reachable here)."""
    from sshjup.jupyter import kernelops, kernels
    from sshjup.store import state

    documented = docs["sshjup kernel list [NAME] --json"]
    assert sorted(documented[0]) == sorted(documented[1])
    ports = {ch: free_port() for ch in kernels.CHANNELS}
    started = {
        "alias": "jup-gpu",
        "kernel_id": "0a1b2c3d",
        "remote_dir": "/tmp/sshjup-k.Xy12ab34",
        "pid": 12345,
        "local_ports": ports,
        "remote_ports": {ch: n for n, ch in enumerate(kernels.CHANNELS, start=1)},
        "connection_file": "/nonexistent/kernel-jup-gpu-0a1b2c3d.json",
        "kernel_name": "python3",
        "started": 1.0,
    }
    launch = {
        "alias": "jup-gpu",
        "launch_id": "0123456789abcdef",
        "pid": 2**22 + 1,  # (above Linux's pid_max default: no such process)
        "route": "own",
        "specs": [],
        "local_ports": ports,
        "connection_file": "/nonexistent/kernel-x.json",
        "kernel_name": None,
        "started": 2.0,
        "pid_start": None,
    }

    def seed(st: state.State) -> None:
        st.kernels.append(started)
        st.launches.append(launch)

    state.update(seed)
    monkeypatch.setattr(kernelops, "_alive", lambda where, alias, recs: {"0a1b2c3d": False})
    listed = run("kernel", "list", "--json")
    assert [(k["owner"], k["alive"]) for k in listed] == [("sshjup", False), ("launcher", False)]
    for entry in listed:
        assert_same_shape(documented[0], entry)
