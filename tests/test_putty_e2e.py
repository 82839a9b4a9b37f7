"""End to end with the real PuTTY tools: a session written by sshjup, loaded by plink.

A throwaway sshd on 127.0.0.1 and a page server standing in for the remote Jupyter (fixtures
from tests/support). plink runs with ``-batch``: no prompt can be answered, so the host key
must come from the session itself (``SSHManualHostKeys``) and the key from the converted
``.ppk``. Every process started here is stopped by its PID.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from sshjup.models import Forward, Target
from sshjup.putty.settings import known_host_keys
from sshjup.putty.store import get_store
from sshjup.putty.sync import apply_session, plan_session
from sshjup.putty.unix import FileStore
from tests.support.httpd import PageServer
from tests.support.net import free_port, http_get, port_accepts, wait_for_port
from tests.support.procs import stop_process
from tests.support.sshd import SshServer

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        shutil.which("plink") is None or shutil.which("puttygen") is None,
        reason="plink and puttygen needed (apt install putty-tools)",
    ),
]


@contextmanager
def plink(session: str, log_dir: Path, *extra: str) -> Iterator[subprocess.Popen[bytes]]:
    """``plink -batch -load SESSION -N`` in the background; stopped by its PID afterwards."""
    out = log_dir / "plink.out"
    err = log_dir / "plink.err"
    with open(out, "wb") as stdout, open(err, "wb") as stderr:
        proc = subprocess.Popen(
            ["plink", "-batch", *extra, "-load", session, "-N"],
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
            env=dict(os.environ),
        )
    try:
        yield proc
    finally:
        stop_process(proc)


def _why(proc: subprocess.Popen[bytes], log_dir: Path, sshd: SshServer) -> str:
    return (
        f"plink exit={proc.poll()}\nstderr:\n{(log_dir / 'plink.err').read_text(errors='replace')}\n"
        f"sshd log tail:\n{sshd.log_text()[-2000:]}"
    )


def _target(sshd: SshServer, local: int, remote: int, **changes: object) -> Target:
    target = Target(
        "e2e",
        "127.0.0.1",
        user=sshd.user,
        port=sshd.port,
        identity_file=str(sshd.client_key),
        forwards=(Forward(local, remote),),
    )
    return target.with_changes(**changes) if changes else target


def test_plink_opens_the_tunnel_from_the_session_sshjup_wrote(
    isolated: Path, sshd: SshServer, remote_http: PageServer, tmp_path: Path
) -> None:
    known_hosts = sshd.write_known_hosts(tmp_path / "known_hosts")
    store = get_store()  # PuTTY's own directory: $PUTTYDIR (a temp dir in tests)
    local = free_port()
    plan = plan_session(
        _target(sshd, local, remote_http.port),
        store,
        known_hosts_path=known_hosts,
        managed_digest=None,
    )
    assert plan.warnings == ()
    apply_session(plan)
    putty_dir = Path(os.environ["PUTTYDIR"])
    assert (putty_dir / "sessions" / "jup-e2e").is_file()

    with plink("jup-e2e", tmp_path) as proc:
        assert wait_for_port("127.0.0.1", local, timeout=20), _why(proc, tmp_path, sshd)
        assert "sshjup remote page" in http_get(f"http://127.0.0.1:{local}/")
        assert proc.poll() is None
    # No host key was cached: the pin in the session did the job, nothing was prompted.
    assert not (putty_dir / "sshhostkeys").exists()


def test_plink_finds_a_session_whose_name_needs_escaping(
    isolated: Path, sshd: SshServer, remote_http: PageServer, tmp_path: Path
) -> None:
    known_hosts = sshd.write_known_hosts(tmp_path / "known_hosts")
    store = get_store()
    assert isinstance(store, FileStore)
    local = free_port()
    plan = plan_session(
        _target(sshd, local, remote_http.port),
        store,
        known_hosts_path=known_hosts,
        managed_digest=None,
    )
    apply_session(plan)  # converts the key
    name = "jup-my test (50%)"  # not a valid sshjup name: written straight through the store
    store.write(name, plan.settings)
    assert (store.directory / "jup-my%20test%20%2850%25%29").is_file()
    store.delete("jup-e2e")

    with plink(name, tmp_path) as proc:
        assert wait_for_port("127.0.0.1", local, timeout=20), _why(proc, tmp_path, sshd)
        assert "sshjup remote page" in http_get(f"http://127.0.0.1:{local}/")


@pytest.mark.parametrize("jump_config", ["default-settings", "session-named-like-the-jump-host"])
def test_a_single_proxy_jump_goes_through_putty_s_ssh_proxy(
    isolated: Path, sshd: SshServer, remote_http: PageServer, tmp_path: Path, jump_config: str
) -> None:
    """ProxyMethod=6 with the sshd as its own jump host (PuTTY 0.77+ SSH proxy)."""
    known_hosts = sshd.write_known_hosts(tmp_path / "known_hosts")
    store = get_store()
    local = free_port()
    jump = f"{sshd.user}@127.0.0.1:{sshd.port}"
    target = _target(sshd, local, remote_http.port, proxy_jump=jump)
    # The jump hop cannot prompt: it needs a key and a pinned host key from a saved session.
    ppk = str(sshd.client_key) + ".sshjup.ppk"
    pin = known_host_keys(known_hosts.read_text(), "127.0.0.1", sshd.port)[0].fingerprint
    hop: dict[str, str | int] = {"PublicKeyFile": ppk, "SSHManualHostKeys": pin}
    # PuTTY never proxies connections to localhost unless told to ("ProxyLocalhost"); the
    # session inherits it from Default Settings.
    defaults: dict[str, str | int] = {"ProxyLocalhost": 1}
    if jump_config == "default-settings":
        defaults.update(hop)
    else:
        store.write(
            "127.0.0.1",
            {"HostName": "127.0.0.1", "PortNumber": sshd.port, "Protocol": "ssh", **hop},
        )
    store.write("Default Settings", defaults)
    plan = plan_session(target, store, known_hosts_path=known_hosts, managed_digest=None)
    assert (plan.settings["ProxyMethod"], plan.settings["ProxyHost"]) == (6, "127.0.0.1")
    assert plan.settings["ProxyLocalhost"] == "1"
    apply_session(plan)
    accepted_before = sshd.log_text().count("Accepted publickey")

    with plink("jup-e2e", tmp_path, "-v") as proc:
        assert wait_for_port("127.0.0.1", local, timeout=20), _why(proc, tmp_path, sshd)
        assert "sshjup remote page" in http_get(f"http://127.0.0.1:{local}/")
        log = (tmp_path / "plink.err").read_text(errors="replace")
    # plink -v logs the proxy hop as "proxy: ..."; sshd saw two logins (hop, then target).
    assert "proxy: Opened main channel" in log, log
    assert sshd.log_text().count("Accepted publickey") - accepted_before >= 2, log


def test_plink_listens_on_the_ipv4_bind_address_only_not_on_ipv6_loopback(
    isolated: Path, sshd: SshServer, remote_http: PageServer, tmp_path: Path
) -> None:
    known_hosts = sshd.write_known_hosts(tmp_path / "known_hosts")
    store = get_store()
    local = free_port()
    plan = plan_session(
        _target(sshd, local, remote_http.port),
        store,
        known_hosts_path=known_hosts,
        managed_digest=None,
    )
    apply_session(plan)
    # Without the "4" (L127.0.0.1:PORT=...), plink 0.78 listens on [::1]:PORT as well.
    with plink("jup-e2e", tmp_path) as proc:
        assert wait_for_port("127.0.0.1", local, timeout=20), _why(proc, tmp_path, sshd)
        listeners = subprocess.run(
            ["ss", "-Hltn", f"sport = :{local}"], capture_output=True, text=True, check=True
        ).stdout
        assert "127.0.0.1:" in listeners
        assert "[::1]" not in listeners and "[::]" not in listeners, listeners
        assert not port_accepts("::1", local)
