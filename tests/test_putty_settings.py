"""The PuTTY session rendered for a target: golden values, forwards, pinned host keys."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from sshjup.models import Forward, Target
from sshjup.putty.settings import (
    KnownHostKey,
    escape_map_item,
    hostkey_preference,
    known_host_fingerprints,
    known_host_keys,
    parse_proxy_jump,
    port_forwardings,
    session_settings,
    unescape_map,
)

ED = KnownHostKey("ssh-ed25519", "SHA256:Ydj1+odEvjGe8ziWS6ZhwutMZfrSn6mCTvwluEDaf6U")
EC = KnownHostKey("ecdsa-sha2-nistp256", "SHA256:h7igzCvxrc2bu56cDm0CRSQV4Pjn2+QgUps249f/kAQ")
PPK = "/home/alice/.ssh/id_ed25519.sshjup.ppk"


def test_golden_session_for_a_typical_host() -> None:
    target = Target("gpu", "gpu.example.org", user="alice", identity_file="~/.ssh/id_ed25519")
    result = session_settings(target, ppk_path=PPK, host_keys=[ED])
    assert list(result.values.items()) == [
        ("Present", 1),
        ("HostName", "gpu.example.org"),
        ("PortNumber", 22),
        ("Protocol", "ssh"),
        ("UserName", "alice"),
        ("PublicKeyFile", PPK),
        ("PortForwardings", "4L127.0.0.1:8888=localhost:8889"),
        ("LocalPortAcceptAll", 0),
        ("SshNoShell", 1),
        ("PingInterval", 0),
        ("PingIntervalSecs", 30),
        ("SSHManualHostKeys", ED.fingerprint),
        ("HostKey", "ed25519,ed448,ecdsa,rsa,dsa,WARN"),
    ]
    assert result.warnings == ()


def test_minimal_target_gets_port_22_and_protocol_ssh_but_no_user_or_key() -> None:
    result = session_settings(Target("box", "10.0.0.5", port=None), ppk_path=None, host_keys=[])
    values = result.values
    assert values["PortNumber"] == 22
    assert isinstance(values["PortNumber"], int)
    assert values["Protocol"] == "ssh"
    assert "UserName" not in values
    assert "PublicKeyFile" not in values
    assert "SSHManualHostKeys" not in values
    assert "HostKey" not in values
    assert any("no host key for 10.0.0.5" in w and "ssh jup-box" in w for w in result.warnings)


def test_explicit_port_is_an_int_and_the_missing_host_key_warning_names_it() -> None:
    result = session_settings(
        Target("box", "box.example.org", port=2222), ppk_path=None, host_keys=[]
    )
    assert result.values["PortNumber"] == 2222
    assert any("[box.example.org]:2222" in w for w in result.warnings)


def test_every_forward_is_written_with_its_bind_address() -> None:
    forwards = (
        Forward(8888, 8889),
        Forward(6006, 6006),
        Forward(8890, 8891, remote_host="::1", bind="::1"),
        Forward(8892, 80, remote_host="web.internal"),
    )
    assert port_forwardings(forwards) == (
        "4L127.0.0.1:8888=localhost:8889,"
        "4L127.0.0.1:6006=localhost:6006,"
        "6L[::1]:8890=[::1]:8891,"
        "4L127.0.0.1:8892=web.internal:80"
    )


def test_map_items_escape_equals_comma_and_backslash_like_wmap() -> None:
    assert escape_map_item("a=b,c\\d") == "a\\=b\\,c\\\\d"
    assert escape_map_item("L8888") == "L8888"


def test_unescape_map_reads_like_gppmap() -> None:
    stored = "L8888=localhost:8889,4L127.0.0.1:6006=x:1,"
    assert unescape_map(stored) == [("L8888", "localhost:8889"), ("4L127.0.0.1:6006", "x:1")]
    escaped = escape_map_item("k=,\\") + "=" + escape_map_item("v=1,2")
    assert unescape_map(escaped + ",other=x") == [("k=,\\", "v=1,2"), ("other", "x")]
    # PuTTY: the value is what follows the LAST unescaped '='; no trimming of spaces.
    assert unescape_map("a=b=c, b=d") == [("a", "c"), (" b", "d")]
    assert unescape_map("") == []


def test_pinned_keys_are_comma_joined_and_escaped() -> None:
    blob = KnownHostKey("ecdsa-sha2-nistp256", "AAAAE2VjZHNh=")
    result = session_settings(Target("g", "g.example.org"), ppk_path=None, host_keys=[ED, blob])
    assert result.values["SSHManualHostKeys"] == ED.fingerprint + ",AAAAE2VjZHNh\\="


def test_pinned_key_types_come_first_in_the_host_key_order() -> None:
    # Verified with plink 0.78: with only the ECDSA key pinned and ed25519 first in the list,
    # plink picks ed25519 and aborts ("Host key not in manually configured list").
    assert hostkey_preference([EC]) == "ecdsa,ed25519,ed448,rsa,dsa,WARN"
    assert hostkey_preference([EC, ED]) == "ed25519,ecdsa,ed448,rsa,dsa,WARN"
    # The user's own order is kept; types below WARN stay below it.
    assert hostkey_preference([KnownHostKey("ssh-dss", "x")], "rsa,WARN,dsa") == (
        "rsa,WARN,dsa,ed25519,ed448,ecdsa"
    )
    assert hostkey_preference([KnownHostKey("ssh-rsa", "x")], "ecdsa,ed25519,rsa,WARN,dsa") == (
        "rsa,ecdsa,ed25519,WARN,dsa,ed448"
    )


def test_default_settings_come_first_and_ours_win() -> None:
    defaults: dict[str, str | int] = {
        "Font": "Consolas",
        "TermWidth": 120,
        "PortNumber": 2200,
        "Protocol": "telnet",
        "HostName": "old.example.org",
        "PortForwardings": "L1=elsewhere:1",
        "SSHManualHostKeys": "SHA256:someone-else",
        "LocalPortAcceptAll": 1,
        "UserName": "bob",
        "PingIntervalSecs": 30,
        "DetachedCertificate": "/x/cert.pub",
        "HostKey": "rsa,ecdsa,ed25519,WARN,dsa",
    }
    target = Target("gpu", "gpu.example.org", identity_file="/k/id")
    result = session_settings(target, ppk_path=PPK, host_keys=[EC], defaults=defaults)
    values = result.values
    assert list(values)[:3] == ["Present", "Font", "TermWidth"]
    assert values["Font"] == "Consolas"
    assert values["TermWidth"] == 120
    assert values["PingIntervalSecs"] == 30
    assert values["UserName"] == "bob"  # no user on the target: the user's default stays
    assert values["PortNumber"] == 22
    assert values["Protocol"] == "ssh"
    assert values["HostName"] == "gpu.example.org"
    assert values["PortForwardings"] == "4L127.0.0.1:8888=localhost:8889"
    assert values["SSHManualHostKeys"] == EC.fingerprint
    assert values["LocalPortAcceptAll"] == 0
    assert "DetachedCertificate" not in values
    assert values["HostKey"] == "ecdsa,rsa,ed25519,WARN,dsa,ed448"


@pytest.mark.parametrize(
    ("defaults", "expected"),
    [
        ({}, (0, 30)),
        ({"PingInterval": "0", "PingIntervalSecs": "0"}, (0, 30)),
        ({"PingIntervalSecs": "15"}, (None, "15")),
        ({"PingInterval": 2}, (2, None)),
        ({"PingInterval": "1x", "PingIntervalSecs": "junk"}, ("1x", "junk")),
    ],
)
def test_keepalive_mirrors_server_alive_interval_unless_the_user_has_one(
    defaults: dict[str, str | int], expected: tuple[object, object]
) -> None:
    values = session_settings(
        Target("a", "a.example.org"), ppk_path=None, host_keys=[], defaults=defaults
    ).values
    assert (values.get("PingInterval"), values.get("PingIntervalSecs")) == expected


def test_defaults_pins_are_dropped_even_without_our_own() -> None:
    defaults: dict[str, str | int] = {"SSHManualHostKeys": "SHA256:x", "PortForwardings": "L1=a:1"}
    values = session_settings(
        Target("a", "a.example.org"), ppk_path=None, host_keys=[], defaults=defaults
    ).values
    assert "SSHManualHostKeys" not in values
    assert values["PortForwardings"] == "4L127.0.0.1:8888=localhost:8889"


def test_single_hop_proxy_jump_becomes_putty_ssh_proxy() -> None:
    target = Target("gpu", "node7.internal", proxy_jump="alice@login.example.org:2222")
    result = session_settings(target, ppk_path=None, host_keys=[ED])
    values = result.values
    assert values["ProxyMethod"] == 6
    assert values["ProxyHost"] == "login.example.org"
    assert values["ProxyPort"] == 2222
    assert values["ProxyUsername"] == "alice"
    assert any("0.77" in w and "Pageant" in w for w in result.warnings)


def test_proxy_jump_defaults_to_port_22_and_no_user() -> None:
    values = session_settings(
        Target("gpu", "n.internal", proxy_jump="login"), ppk_path=None, host_keys=[ED]
    ).values
    assert (values["ProxyHost"], values["ProxyPort"], values["ProxyUsername"]) == ("login", 22, "")


def test_multi_hop_proxy_jump_is_not_expressed_and_says_so() -> None:
    target = Target("gpu", "n.internal", proxy_jump="a.example.org,b@c.example.org:2")
    result = session_settings(target, ppk_path=None, host_keys=[ED])
    assert "ProxyMethod" not in result.values
    assert any("chain jump hosts" in w for w in result.warnings)


def test_proxy_jump_none_means_no_proxy() -> None:
    result = session_settings(
        Target("gpu", "n.internal", proxy_jump="none"), ppk_path=None, host_keys=[ED]
    )
    assert "ProxyMethod" not in result.values


def test_parse_proxy_jump_handles_ipv6_and_users() -> None:
    hops = parse_proxy_jump("[::1]:2200,bob@h.example.org")
    assert [(h.user, h.host, h.port) for h in hops] == [
        (None, "::1", 2200),
        ("bob", "h.example.org", 22),
    ]


def test_an_identity_without_ppk_is_a_warning() -> None:
    result = session_settings(
        Target("a", "a.example.org", identity_file="/k/id"), ppk_path=None, host_keys=[ED]
    )
    assert "PublicKeyFile" not in result.values
    assert any("Pageant" in w for w in result.warnings)


# --- known_hosts, with ssh-keygen as the oracle ---------------------------------------------

needs_keygen = pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="ssh-keygen missing")


def _keygen(path: Path, kind: str) -> str:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", kind, "-N", "", "-C", kind, "-f", str(path)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return " ".join(path.with_name(path.name + ".pub").read_text().split()[:2])


def _oracle(known_hosts: Path, lookup: str) -> list[str]:
    """Fingerprints ssh-keygen finds for ``lookup`` (``host`` or ``[host]:port``)."""
    out = subprocess.run(
        ["ssh-keygen", "-l", "-F", lookup, "-f", str(known_hosts)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    ).stdout
    return [line.split()[2] for line in out.splitlines() if line and not line.startswith("#")]


@pytest.fixture(scope="module")
def host_keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    if shutil.which("ssh-keygen") is None:
        pytest.skip("ssh-keygen missing (install openssh-client)")
    base = tmp_path_factory.mktemp("hostkeys")
    return {kind: _keygen(base / kind, kind) for kind in ("ed25519", "ecdsa", "rsa")}


LOOKUPS = [
    ("gpu.example.org", None),
    ("GPU.Example.ORG", 22),
    ("gpu.example.org", 2222),
    ("bad.example.org", None),
    ("x.example.org", None),
    ("gpu2", None),
    ("10.1.2.3", 22),
    ("nowhere.example.net", None),
    ("a1.wild.org", 2200),
]


def _known_hosts_text(keys: dict[str, str]) -> str:
    return (
        "\n".join(
            [
                "# a comment, then a blank line",
                "",
                f"gpu.example.org {keys['ed25519']} comment here",
                f"*.example.org,!bad.example.org {keys['ecdsa']}",
                f"[gpu.example.org]:2222 {keys['rsa']}",
                f"[gpu.example.org]:2222 {keys['ecdsa']}",
                f"a,gpu2,b {keys['rsa']}",
                f"10.1.2.3 {keys['ed25519']}",
                f"gpu.example.org {keys['ed25519']}",  # a duplicate is reported once
                f"[a?.wild.org]:2200 {keys['ed25519']}",
                "garbage line",
                "broken.example.org ssh-ed25519 not-base64!",
            ]
        )
        + "\n"
    )


def _fp_by_blob(keys: dict[str, str], tmp: Path) -> dict[str, str]:
    result = {}
    for kind, line in keys.items():
        pub = tmp / f"{kind}.pub"
        pub.write_text(line + "\n")
        out = subprocess.run(
            ["ssh-keygen", "-lf", str(pub)], capture_output=True, text=True, check=True
        )
        result[kind] = out.stdout.split()[1]
    return result


@needs_keygen
@pytest.mark.parametrize(("host", "port"), LOOKUPS)
def test_fingerprints_match_ssh_keygen(
    host: str, port: int | None, host_keys: dict[str, str], tmp_path: Path
) -> None:
    known = tmp_path / "known_hosts"
    known.write_text(_known_hosts_text(host_keys))
    lookup = host.lower() if port in (None, 22) else f"[{host.lower()}]:{port}"
    expected = list(dict.fromkeys(_oracle(known, lookup)))
    assert known_host_fingerprints(known.read_text(), host, port) == expected


@needs_keygen
@pytest.mark.parametrize(("host", "port"), LOOKUPS)
def test_hashed_known_hosts_give_the_same_fingerprints(
    host: str, port: int | None, host_keys: dict[str, str], tmp_path: Path
) -> None:
    known = tmp_path / "known_hosts"
    # ssh-keygen -H refuses files with invalid lines; wildcard lines stay unhashed.
    plain = "".join(
        line + "\n"
        for line in _known_hosts_text(host_keys).splitlines()
        if line and not line.startswith(("#", "garbage", "broken"))
    )
    known.write_text(plain)
    subprocess.run(
        ["ssh-keygen", "-H", "-f", str(known)], capture_output=True, check=True, timeout=30
    )
    hashed = known.read_text()
    assert "|1|" in hashed
    lookup = host.lower() if port in (None, 22) else f"[{host.lower()}]:{port}"
    expected = list(dict.fromkeys(_oracle(known, lookup)))
    assert sorted(known_host_fingerprints(hashed, host, port)) == sorted(expected)
    assert sorted(known_host_fingerprints(hashed, host, port)) == sorted(
        known_host_fingerprints(plain, host, port)
    )


@needs_keygen
def test_fingerprints_are_ssh_keygen_lf_format(host_keys: dict[str, str], tmp_path: Path) -> None:
    fps = _fp_by_blob(host_keys, tmp_path)
    text = f"h.example.org {host_keys['ed25519']}\nh.example.org {host_keys['rsa']}\n"
    keys = known_host_keys(text, "h.example.org")
    assert [(k.keytype, k.fingerprint) for k in keys] == [
        ("ssh-ed25519", fps["ed25519"]),
        ("ssh-rsa", fps["rsa"]),
    ]
    assert all(
        k.fingerprint.startswith("SHA256:") and not k.fingerprint.endswith("=") for k in keys
    )
    assert [k.putty_name for k in keys] == ["ed25519", "rsa"]


@needs_keygen
def test_revoked_keys_and_cert_authorities_are_never_pinned(host_keys: dict[str, str]) -> None:
    text = (
        f"h.example.org {host_keys['ed25519']}\n"
        f"h.example.org {host_keys['rsa']}\n"
        f"@revoked * {host_keys['rsa']}\n"
        f"@cert-authority *.example.org {host_keys['ecdsa']}\n"
    )
    keys = known_host_keys(text, "h.example.org")
    assert [k.keytype for k in keys] == ["ssh-ed25519"]


def test_a_key_whose_type_disagrees_with_its_blob_is_ignored() -> None:
    blob = "AAAAC3NzaC1lZDI1NTE5AAAAIIzTIn+nb7zBRH6pLrF/CD/GxK0ctgq/V+nHdrrICqFP"
    assert known_host_fingerprints(f"h ssh-ed25519 {blob}\n", "h")
    assert known_host_fingerprints(f"h ssh-rsa {blob}\n", "h") == []
