"""The Windows registry store, run on Linux against a dict-backed fake of the seam."""

from __future__ import annotations

import ast
import sys
from pathlib import Path
from typing import Any

import pytest

from sshjup.errors import HandEdited, PuttyStoreError
from sshjup.models import Target
from sshjup.putty.escape import registry_key_name
from sshjup.putty.settings import KnownHostKey, session_settings
from sshjup.putty.store import settings_digest
from sshjup.putty.sync import apply_session, plan_session, remove_session
from sshjup.putty.windows import (
    REG_DWORD,
    REG_EXPAND_SZ,
    REG_SZ,
    SESSIONS_KEY,
    RegistryStore,
    WinregBackend,
    putty_key_exists,
    session_key_path,
)

SESS = "Software\\SimonTatham\\PuTTY\\Sessions"


class FakeRegistry:
    """HKEY_CURRENT_USER as a dict: key paths are case-insensitive, as in the registry."""

    def __init__(self) -> None:
        self.keys: dict[str, tuple[str, dict[str, tuple[int, Any]]]] = {}
        self.calls: list[str] = []
        self.fail: str | None = None

    def _check(self, op: str) -> None:
        self.calls.append(op)
        if self.fail == op:
            raise PermissionError(5, "Access is denied")

    def key_exists(self, path: str) -> bool:
        self._check("key_exists")
        return path.lower() in self.keys

    def list_subkeys(self, path: str) -> list[str]:
        self._check("list_subkeys")
        prefix = path.lower() + "\\"
        return [
            real.split("\\")[-1]
            for low, (real, _) in self.keys.items()
            if low.startswith(prefix) and "\\" not in low[len(prefix) :]
        ]

    def read_values(self, path: str) -> dict[str, tuple[int, Any]] | None:
        self._check("read_values")
        entry = self.keys.get(path.lower())
        return None if entry is None else dict(entry[1])

    def create_key(self, path: str) -> None:
        self._check("create_key")
        parts = path.split("\\")
        for i in range(1, len(parts) + 1):
            sub = "\\".join(parts[:i])
            self.keys.setdefault(sub.lower(), (sub, {}))

    def set_value(self, path: str, name: str, reg_type: int, data: Any) -> None:
        self._check("set_value")
        if reg_type == REG_DWORD:
            assert isinstance(data, int)
            assert 0 <= data <= 0xFFFFFFFF
        if reg_type == REG_SZ:
            assert isinstance(data, str)
        self.keys[path.lower()][1][name] = (reg_type, data)

    def delete_value(self, path: str, name: str) -> None:
        self._check("delete_value")
        del self.keys[path.lower()][1][name]

    def delete_key(self, path: str) -> None:
        self._check("delete_key")
        low = path.lower()
        assert not any(k.startswith(low + "\\") for k in self.keys), "key has subkeys"
        del self.keys[low]

    def values(self, path: str) -> dict[str, tuple[int, Any]]:
        return self.keys[path.lower()][1]


@pytest.fixture
def reg() -> FakeRegistry:
    return FakeRegistry()


@pytest.fixture
def store(reg: FakeRegistry) -> RegistryStore:
    return RegistryStore(reg)


def test_values_get_putty_s_names_and_types(reg: FakeRegistry, store: RegistryStore) -> None:
    values = session_settings(
        Target("gpu", "gpu.example.org", user="alice", port=2222),
        ppk_path="C:/Users/alice/.ssh/id_ed25519.sshjup.ppk",
        host_keys=[KnownHostKey("ssh-ed25519", "SHA256:abc")],
    ).values
    store.write("jup-gpu", values)
    stored = reg.values(SESS + "\\jup-gpu")
    assert stored["Present"] == (REG_DWORD, 1)
    assert stored["HostName"] == (REG_SZ, "gpu.example.org")
    assert stored["PortNumber"] == (REG_DWORD, 2222)
    assert stored["Protocol"] == (REG_SZ, "ssh")
    assert stored["UserName"] == (REG_SZ, "alice")
    assert stored["PublicKeyFile"] == (REG_SZ, "C:/Users/alice/.ssh/id_ed25519.sshjup.ppk")
    assert stored["PortForwardings"] == (REG_SZ, "4L127.0.0.1:8888=localhost:8889")
    assert stored["LocalPortAcceptAll"] == (REG_DWORD, 0)
    assert stored["SshNoShell"] == (REG_DWORD, 1)
    assert stored["SSHManualHostKeys"] == (REG_SZ, "SHA256:abc")
    assert store.read("jup-gpu") == values


def test_session_keys_are_escaped_like_escape_registry_key(
    reg: FakeRegistry, store: RegistryStore
) -> None:
    store.write("My Jupyter (test)", {"HostName": "h"})
    store.write(".dot 50%", {"HostName": "h"})
    assert (SESS + "\\My%20Jupyter%20(test)").lower() in reg.keys
    assert (SESS + "\\%2Edot%2050%25").lower() in reg.keys
    assert session_key_path("a*b") == SESS + "\\a%2Ab"
    assert store.list_sessions() == [".dot 50%", "My Jupyter (test)"]
    assert store.location("x y") == "HKEY_CURRENT_USER\\" + SESS + "\\x%20y"


def test_a_rewrite_updates_values_and_removes_stale_ones(
    reg: FakeRegistry, store: RegistryStore
) -> None:
    store.write("jup-a", {"HostName": "old", "UserName": "bob", "PortNumber": 22})
    store.write("jup-a", {"HostName": "new", "PortNumber": 2200})
    assert reg.values(SESS + "\\jup-a") == {
        "HostName": (REG_SZ, "new"),
        "PortNumber": (REG_DWORD, 2200),
    }


def test_delete_removes_the_key_and_reports_a_missing_one(
    reg: FakeRegistry, store: RegistryStore
) -> None:
    store.write("jup-a", {"HostName": "h"})
    assert store.delete("jup-a") is True
    assert (SESS + "\\jup-a").lower() not in reg.keys
    assert SESS.lower() in reg.keys  # the Sessions key itself stays
    assert store.delete("jup-a") is False
    assert store.read("jup-a") is None


def test_strings_and_dwords_are_read_with_their_type_and_other_types_skipped(
    reg: FakeRegistry, store: RegistryStore
) -> None:
    path = SESS + "\\foreign"
    reg.create_key(path)
    reg.set_value(path, "HostName", REG_SZ, "h")
    reg.set_value(path, "PortNumber", REG_SZ, "22")  # a string: PuTTY ignores it, we see it
    reg.keys[path.lower()][1]["LogFileName"] = (REG_EXPAND_SZ, "%TEMP%\\x.log")
    reg.set_value(path, "FontHeight", REG_DWORD, 0xFFFFFFF6)
    assert store.read("foreign") == {"HostName": "h", "PortNumber": "22", "FontHeight": -10}


def test_negative_ints_are_stored_as_dwords(reg: FakeRegistry, store: RegistryStore) -> None:
    store.write("jup-a", {"FontHeight": -10})
    assert reg.values(SESS + "\\jup-a")["FontHeight"] == (REG_DWORD, 0xFFFFFFF6)
    assert store.read("jup-a") == {"FontHeight": -10}


def test_default_settings_are_inherited_with_their_types(
    reg: FakeRegistry, store: RegistryStore
) -> None:
    defaults = SESS + "\\Default%20Settings"
    reg.create_key(defaults)
    reg.set_value(defaults, "Font", REG_SZ, "Consolas")
    reg.set_value(defaults, "FontHeight", REG_DWORD, 12)
    reg.set_value(defaults, "PingIntervalSecs", REG_DWORD, 30)
    reg.set_value(defaults, "PortNumber", REG_DWORD, 23)
    reg.set_value(defaults, "Protocol", REG_SZ, "telnet")
    target = Target("gpu", "gpu.example.org")
    plan = plan_session(target, store, known_hosts_path=None, managed_digest=None)
    digest = apply_session(plan)
    stored = reg.values(SESS + "\\jup-gpu")
    assert stored["Font"] == (REG_SZ, "Consolas")
    assert stored["FontHeight"] == (REG_DWORD, 12)
    assert stored["PingIntervalSecs"] == (REG_DWORD, 30)
    assert stored["PortNumber"] == (REG_DWORD, 22)
    assert stored["Protocol"] == (REG_SZ, "ssh")
    assert digest == settings_digest(store.read("jup-gpu") or {})
    assert store.list_sessions() == ["Default Settings", "jup-gpu"]


def test_update_and_remove_through_sync(reg: FakeRegistry, store: RegistryStore) -> None:
    target = Target("gpu", "gpu.example.org")
    digest = apply_session(plan_session(target, store, known_hosts_path=None, managed_digest=None))
    changed = target.with_changes(port=2222)
    plan = plan_session(changed, store, known_hosts_path=None, managed_digest=digest)
    assert plan.action == "update"
    assert plan.changes == ("~ PortNumber: 22 -> 2222",)
    digest = apply_session(plan)
    assert reg.values(SESS + "\\jup-gpu")["PortNumber"] == (REG_DWORD, 2222)
    assert remove_session("jup-gpu", store, digest) == "deleted"
    assert store.read("jup-gpu") is None


def test_a_type_change_by_hand_counts_as_an_edit(reg: FakeRegistry, store: RegistryStore) -> None:
    target = Target("gpu", "gpu.example.org")
    digest = apply_session(plan_session(target, store, known_hosts_path=None, managed_digest=None))
    # PuTTY would now ignore SshNoShell (a string, not a DWORD): that is an edit.
    reg.set_value(SESS + "\\jup-gpu", "SshNoShell", REG_SZ, "1")
    with pytest.raises(HandEdited):
        remove_session("jup-gpu", store, digest)
    assert store.read("jup-gpu") is not None


def test_registry_errors_become_putty_store_errors(reg: FakeRegistry, store: RegistryStore) -> None:
    reg.fail = "set_value"
    with pytest.raises(PuttyStoreError) as err:
        store.write("jup-a", {"HostName": "h"})
    assert "jup-a" in err.value.message
    assert err.value.hint
    reg.fail = "read_values"
    with pytest.raises(PuttyStoreError):
        store.read("jup-a")


def test_putty_key_exists_checks_the_putty_key(reg: FakeRegistry) -> None:
    assert putty_key_exists(reg) is False
    reg.create_key("Software\\SimonTatham\\PuTTY")
    assert putty_key_exists(reg) is True


@pytest.mark.skipif(sys.platform == "win32", reason="checks the non-Windows refusal")
def test_the_real_backend_refuses_to_start_off_windows() -> None:
    with pytest.raises(PuttyStoreError):
        WinregBackend()


def test_winreg_is_imported_only_inside_a_function() -> None:
    source = Path(sys.modules["sshjup.putty.windows"].__file__ or "").read_text()
    tree = ast.parse(source)
    top_level = [
        alias.name
        for node in tree.body
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    ]
    assert "winreg" not in top_level
    assert "winreg" not in sys.modules or sys.platform == "win32"
    package = Path(sys.modules["sshjup.putty"].__file__ or "").parent
    for path in package.glob("*.py"):
        if path.name != "windows.py":
            assert "import winreg" not in path.read_text(), path


def test_sessions_key_constant() -> None:
    assert SESSIONS_KEY == SESS
    assert registry_key_name("jup-gpu") == "jup-gpu"
