"""Planning, writing and removing a target's PuTTY session, and who owns it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from sshjup.errors import Conflict, HandEdited, InvalidInput, SshjupError
from sshjup.models import Target
from sshjup.putty.store import settings_digest
from sshjup.putty.sync import (
    apply_session,
    diff_settings,
    plan_session,
    remove_session,
    session_state,
)
from sshjup.putty.unix import FileStore

ED_LINE = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIzTIn+nb7zBRH6pLrF/CD/GxK0ctgq/V+nHdrrICqFP"


@pytest.fixture
def store(isolated: Path) -> FileStore:
    return FileStore(isolated / ".putty" / "sessions")


@pytest.fixture
def known_hosts(isolated: Path) -> Path:
    path = isolated / ".ssh" / "known_hosts"
    path.write_text(f"gpu.example.org {ED_LINE}\n")
    return path


TARGET = Target("gpu", "gpu.example.org", user="alice")


def test_create_then_unchanged(store: FileStore, known_hosts: Path) -> None:
    plan = plan_session(TARGET, store, known_hosts_path=known_hosts, managed_digest=None)
    assert plan.action == "create"
    assert plan.name == "jup-gpu"
    assert plan.location == str(store.directory / "jup-gpu")
    assert "+ HostName=gpu.example.org" in plan.changes
    assert plan.warnings == ()
    assert not (store.directory / "jup-gpu").exists()  # planning writes nothing
    digest = apply_session(plan)
    assert digest == plan.digest
    assert digest == settings_digest(store.read("jup-gpu") or {})
    values = store.read("jup-gpu")
    assert values is not None
    assert values["SSHManualHostKeys"].startswith("SHA256:")  # type: ignore[union-attr]
    again = plan_session(TARGET, store, known_hosts_path=known_hosts, managed_digest=digest)
    assert again.action == "unchanged"
    assert again.changes == ()
    assert apply_session(again) == digest


def test_a_change_to_the_target_is_an_update_with_its_diff(
    store: FileStore, known_hosts: Path
) -> None:
    digest = apply_session(
        plan_session(TARGET, store, known_hosts_path=known_hosts, managed_digest=None)
    )
    plan = plan_session(
        TARGET.with_changes(user="bob"), store, known_hosts_path=known_hosts, managed_digest=digest
    )
    assert plan.action == "update"
    assert plan.changes == ("~ UserName: 'alice' -> 'bob'",)
    new_digest = apply_session(plan)
    assert new_digest != digest
    assert (store.read("jup-gpu") or {})["UserName"] == "bob"


def test_a_hand_edited_session_is_not_overwritten_without_force(
    store: FileStore, known_hosts: Path
) -> None:
    digest = apply_session(
        plan_session(TARGET, store, known_hosts_path=known_hosts, managed_digest=None)
    )
    path = store.directory / "jup-gpu"
    path.write_text(path.read_text().replace("UserName=alice", "UserName=carol") + "Font=Hack\n")
    edited = path.read_bytes()
    assert session_state("jup-gpu", store, digest) == "hand-edited"
    with pytest.raises(HandEdited) as err:
        plan_session(TARGET, store, known_hosts_path=known_hosts, managed_digest=digest)
    assert "~ UserName: 'carol' -> 'alice'" in err.value.message
    assert "- Font=Hack" in err.value.message
    assert "--force" in (err.value.hint or "")
    assert path.read_bytes() == edited
    forced = plan_session(
        TARGET, store, known_hosts_path=known_hosts, managed_digest=digest, force=True
    )
    assert forced.action == "update"
    apply_session(forced)
    assert "Font" not in (store.read("jup-gpu") or {})


def test_a_session_sshjup_did_not_create_is_never_touched(
    store: FileStore, known_hosts: Path
) -> None:
    store.directory.mkdir(parents=True)
    path = store.directory / "jup-gpu"
    path.write_text("HostName=mine.example.org\n")
    assert session_state("jup-gpu", store, None) == "foreign"
    for force in (False, True):
        with pytest.raises(Conflict) as err:
            plan_session(
                TARGET, store, known_hosts_path=known_hosts, managed_digest=None, force=force
            )
        assert "not created by sshjup" in err.value.message
    assert remove_session("jup-gpu", store, None) == "foreign"
    assert remove_session("jup-gpu", store, None, force=True) == "foreign"
    assert path.read_text() == "HostName=mine.example.org\n"


def test_a_deleted_session_is_created_again(store: FileStore, known_hosts: Path) -> None:
    digest = apply_session(
        plan_session(TARGET, store, known_hosts_path=known_hosts, managed_digest=None)
    )
    (store.directory / "jup-gpu").unlink()
    assert session_state("jup-gpu", store, digest) == "missing"
    assert (
        plan_session(TARGET, store, known_hosts_path=known_hosts, managed_digest=digest).action
        == "create"
    )


def test_remove_deletes_only_an_unchanged_session_unless_forced(
    store: FileStore, known_hosts: Path
) -> None:
    digest = apply_session(
        plan_session(TARGET, store, known_hosts_path=known_hosts, managed_digest=None)
    )
    assert session_state("jup-gpu", store, digest) == "managed"
    path = store.directory / "jup-gpu"
    path.write_text(path.read_text() + "Font=Hack\n")
    with pytest.raises(HandEdited):
        remove_session("jup-gpu", store, digest)
    assert path.exists()
    assert remove_session("jup-gpu", store, digest, force=True) == "deleted"
    assert not path.exists()
    assert remove_session("jup-gpu", store, digest) == "missing"


def test_default_settings_are_carried_over(store: FileStore, known_hosts: Path) -> None:
    store.directory.mkdir(parents=True)
    (store.directory / "Default%20Settings").write_text(
        "Font=Hack\nPortNumber=23\nProtocol=telnet\n"
    )
    plan = plan_session(TARGET, store, known_hosts_path=known_hosts, managed_digest=None)
    apply_session(plan)
    values = store.read("jup-gpu") or {}
    assert values["Font"] == "Hack"
    assert (values["PortNumber"], values["Protocol"]) == ("22", "ssh")


def test_no_known_hosts_means_no_pin_and_a_warning(store: FileStore, isolated: Path) -> None:
    plan = plan_session(TARGET, store, known_hosts_path=isolated / "missing", managed_digest=None)
    assert "SSHManualHostKeys" not in plan.settings
    assert any("no host key" in w for w in plan.warnings)
    plan = plan_session(TARGET, store, known_hosts_path=None, managed_digest=None)
    assert "SSHManualHostKeys" not in plan.settings


needs_tools = pytest.mark.skipif(
    shutil.which("puttygen") is None or shutil.which("ssh-keygen") is None,
    reason="puttygen and ssh-keygen needed (apt install putty-tools openssh-client)",
)


@needs_tools
def test_an_openssh_key_is_converted_when_the_session_is_applied(
    store: FileStore, known_hosts: Path, isolated: Path
) -> None:
    key = isolated / ".ssh" / "id_ed25519"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)],
        check=True,
        capture_output=True,
    )
    target = TARGET.with_changes(identity_file=str(key))
    plan = plan_session(target, store, known_hosts_path=known_hosts, managed_digest=None)
    assert plan.key is not None and plan.key.action == "convert"
    assert plan.settings["PublicKeyFile"] == f"{key}.sshjup.ppk"
    assert not Path(f"{key}.sshjup.ppk").exists()
    apply_session(plan)
    assert Path(f"{key}.sshjup.ppk").read_text().startswith("PuTTY-User-Key-File-3")
    again = plan_session(target, store, known_hosts_path=known_hosts, managed_digest=plan.digest)
    assert again.action == "unchanged"
    assert again.key is not None and again.key.action == "reuse"


def test_key_problems_fail_at_plan_time_before_anything_is_written(
    store: FileStore, known_hosts: Path, isolated: Path
) -> None:
    target = TARGET.with_changes(identity_file=str(isolated / ".ssh" / "nope"))
    with pytest.raises(InvalidInput):
        plan_session(target, store, known_hosts_path=known_hosts, managed_digest=None)
    assert store.list_sessions() == []
    # A read-only status check does not look at the key at all.
    plan = plan_session(
        target, store, known_hosts_path=known_hosts, managed_digest=None, check_key=False
    )
    assert plan.key is None
    assert plan.settings["PublicKeyFile"] == str(isolated / ".ssh" / "nope.sshjup.ppk")


@needs_tools
def test_an_encrypted_key_fails_at_plan_time(
    store: FileStore, known_hosts: Path, isolated: Path
) -> None:
    key = isolated / ".ssh" / "id_enc"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "pw", "-f", str(key)],
        check=True,
        capture_output=True,
    )
    with pytest.raises(SshjupError) as err:
        plan_session(
            TARGET.with_changes(identity_file=str(key)),
            store,
            known_hosts_path=known_hosts,
            managed_digest=None,
        )
    assert "puttygen" in (err.value.hint or "")
    assert store.list_sessions() == []


def test_diff_settings_lists_added_changed_and_removed() -> None:
    assert diff_settings({"A": "1", "B": "x", "C": 3}, {"A": "1", "B": "y", "C": "3", "D": 4}) == (
        "~ B: 'x' -> 'y'",
        "~ C: 3 -> '3'",
        "+ D=4",
    )
    assert diff_settings(None, {"A": 1}) == ("+ A=1",)
    assert diff_settings({"Z": "z"}, {}) == ("- Z=z",)
