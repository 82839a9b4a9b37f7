"""Hostile values are refused before anything is written: exit 2, the field named, files untouched.

A newline (or CR, U+2028, U+2029, NEL, form feed, vertical tab) in a value would start a new
ssh_config directive such as ``ProxyCommand``; a space adds a Host pattern; ``#`` cuts the value;
``%`` and ``$`` are expanded by ssh; a leading ``-`` turns a host into an ssh option. Each such
value, in every field, from each of the three places values come from:

* the command line (``sshjup add`` and ``sshjup edit``),
* an inventory file given to ``sshjup apply`` (the error also names file:line),
* what ``ssh -G`` reports for an alias the user's config already has (``sshjup add ALIAS``),

must give exit code 2, a message naming the field, and the ssh config, the inventory and every
other file sshjup keeps byte-identical (still absent when they did not exist).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from sshjup.cli import cli
from sshjup.models import Forward, Target
from sshjup.ssh import sshconfig
from sshjup.store import inventory
from sshjup.store.inventory import Inventory

BAD_CHARS = {
    "newline": "\n",
    "cr": "\r",
    "u2028": "\u2028",
    "u2029": "\u2029",
    "nel": "\x85",
    "formfeed": "\f",
    "vtab": "\v",
    "nul": "\x00",
    "dquote": '"',
    "squote": "'",
    "backslash": "\\",
    "hash": "#",
    "equals": "=",
    "space": " ",
    "tab": "\t",
    "pct-h": "%h",
    "pct-x": "%x",
    "dollar-home": "$HOME",
    "star": "*",
    "question": "?",
    "bang": "!",
    "comma": ",",
}
BAD_PORTS = {
    "zero": "0",
    "65536": "65536",
    "minus-one": "-1",
    "8888x": "8888x",
    "hex": "0x10",
    "empty": "",
    "leading-space": " 8888",
    "trailing-newline": "8888\n",
    "plus": "+8888",
    "fullwidth-digits": "\uff18\uff18\uff18\uff18",
    "huge": "99999999999",
}

USER_CONTENT = (
    b"# my ssh config\n\nHost *.corp\n    User corp-user\n\nHost *\n    ServerAliveInterval 60\n"
)
EXISTING = Target(
    "gpu", "gpu.example.org", forwards=(Forward(8888, 8889),), user="alice", port=2222
)


@dataclass(frozen=True)
class Case:
    """One hostile value in one field: the argv that carries it and how the field may be named."""

    argv: tuple[str, ...]
    names: tuple[str, ...]


def _chars(field: str, make: Callable[[str], str], names: tuple[str, ...], skip: str = "") -> dict:
    return {f"{field}[{k}]": Case(make(v), names) for k, v in BAD_CHARS.items() if v not in skip}


def _ports(field: str, make: Callable[[str], str], names: tuple[str, ...]) -> dict:
    return {f"{field}[port-{k}]": Case(make(v), names) for k, v in BAD_PORTS.items()}


def _add(*argv: str) -> tuple[str, ...]:
    return ("add", *argv)


HOST = ("HOST",)
ADD_CASES: dict[str, Case] = {}
# HOST = [user@]hostname[:port]; "--" so that a leading "-" reaches sshjup, not click.
ADD_CASES |= _chars("HOST-hostname", lambda c: _add("--", f"gpu{c}.example.org"), HOST)
ADD_CASES |= _chars("HOST-user", lambda c: _add("--", f"al{c}ice@gpu.example.org"), HOST)
ADD_CASES |= _ports("HOST-port", lambda p: _add("--", f"gpu.example.org:{p}"), HOST)
ADD_CASES |= _ports("HOST-port-v6", lambda p: _add("--", f"[2001:db8::1]:{p}"), HOST)
ADD_CASES |= {
    "HOST-hostname[leading-dash]": Case(_add("--", "-oProxyCommand=x"), HOST),
    "HOST-hostname[empty]": Case(_add("--", ""), HOST),
    "HOST-hostname[empty-after-user]": Case(_add("--", "alice@"), HOST),
    "HOST-user[leading-dash]": Case(_add("--", "-oProxyCommand=x@gpu.example.org"), HOST),
    "HOST-user[empty]": Case(_add("--", "@gpu.example.org"), HOST),
    # Python's ipaddress accepts any IPv6 scope id: "%" and "$" must not reach HostName.
    "HOST-hostname[v6-scope-pct-h]": Case(_add("--", "fe80::1%h"), HOST),
    "HOST-hostname[v6-scope-dollar]": Case(_add("--", "fe80::1%$HOME"), HOST),
    "HOST-hostname[v6-scope-hash]": Case(_add("--", "[fe80::1%a#b]:22"), HOST),
    "HOST-hostname[v6-scope-eth0]": Case(_add("--", "fe80::1%eth0"), HOST),
}
ADD_CASES |= _chars("--name", lambda c: _add("gpu.example.org", f"--name=g{c}pu"), ("--name",))
ADD_CASES |= {
    "--name[leading-dash]": Case(_add("gpu.example.org", "--name=-gpu"), ("--name",)),
    "--name[empty]": Case(_add("gpu.example.org", "--name="), ("--name",)),
    "--name[upper-case]": Case(_add("gpu.example.org", "--name=GPU"), ("--name",)),
    "--name[too-long]": Case(_add("gpu.example.org", "--name=" + "g" * 60), ("--name",)),
}
# The option values below all go through `add`; `edit` gets the same values further down.
OPTION_FIELDS: dict[str, tuple[tuple[str, ...], Callable[[str], str], str]] = {
    # option: (names accepted in the message, value with the character inside, chars allowed)
    "--user": (("--user", "user"), lambda c: f"al{c}ice", ""),
    "--identity-file": (
        ("--identity-file", "identity_file", "identity file"),
        lambda c: f"~/.ssh/id{c}_gpu",
        " \\",  # a key path may hold spaces and backslashes (written quoted)
    ),
    "--proxy-jump": (
        ("--proxy-jump", "proxy_jump", "proxy jump"),
        lambda c: f"bas{c}tion.example.org",
        ",",  # separates jump hosts
    ),
    "--forward": (("--forward",), lambda c: f"8890:lo{c}calhost:8891", ""),
}
OPTION_EXTRA: dict[str, list[tuple[str, str]]] = {
    "--user": [("leading-dash", "-oProxyCommand=x"), ("empty", ""), ("dot-first", ".alice")],
    "--identity-file": [("leading-dash", "-oProxyCommand=x"), ("empty", "")],
    "--proxy-jump": [
        ("leading-dash", "-oProxyCommand=x"),
        ("empty", ""),
        ("empty-hop", "a.example.org,,b.example.org"),
        ("trailing-comma", "bastion.example.org,"),
        ("user-leading-dash", "-x@bastion.example.org"),
        ("host-leading-dash", "alice@-bastion.example.org"),
        *((f"user-{k}", f"al{v}ice@bastion.example.org") for k, v in BAD_CHARS.items() if v != ","),
        *((f"port-{k}", f"bastion.example.org:{v}") for k, v in BAD_PORTS.items()),
    ],
    "--forward": [
        ("host-leading-dash", "8890:-evil:8891"),
        ("empty", ""),
        ("no-colon", "8890"),
        ("too-many-colons", "1:2:3:4"),
        *((f"local-port-{k}", f"{v}:8891") for k, v in BAD_PORTS.items()),
        *((f"remote-port-{k}", f"8890:{v}") for k, v in BAD_PORTS.items()),
    ],
}
PORT_OPTIONS = ("--port", "--local-port", "--remote-port")


def _option_values(option: str) -> dict[str, str]:
    """Every hostile value for one option, by id."""
    if option in PORT_OPTIONS:
        return {f"port-{k}": v for k, v in BAD_PORTS.items()}
    _, make, allowed = OPTION_FIELDS[option]
    values = {k: make(v) for k, v in BAD_CHARS.items() if v not in allowed}
    values.update(OPTION_EXTRA[option])
    return values


def _option_names(option: str) -> tuple[str, ...]:
    if option in PORT_OPTIONS:
        return (option,)
    return OPTION_FIELDS[option][0]


for _option in (*OPTION_FIELDS, *PORT_OPTIONS):
    for _key, _value in _option_values(_option).items():
        ADD_CASES[f"{_option}[{_key}]"] = Case(
            _add("gpu.example.org", "--name=web", f"{_option}={_value}"), _option_names(_option)
        )

# `edit` takes the same options (an empty value there means "remove the setting": not hostile).
EDIT_CASES: dict[str, Case] = {}
for _option in (*OPTION_FIELDS, *PORT_OPTIONS, "--hostname"):
    if _option == "--hostname":
        values = {k: f"gpu{v}.example.org" for k, v in BAD_CHARS.items()}
        values |= {"leading-dash": "-oProxyCommand=x", "v6-scope": "fe80::1%h"}
        names: tuple[str, ...] = ("--hostname", "hostname")
    else:
        values = {k: v for k, v in _option_values(_option).items() if v != ""}
        names = _option_names(_option)
    for _key, _value in values.items():
        EDIT_CASES[f"{_option}[{_key}]"] = Case(("edit", "gpu", f"{_option}={_value}"), names)


# --- helpers -----------------------------------------------------------------------------------


def snapshot(*roots: Path) -> dict[str, object]:
    """Every file and directory under ``roots``: bytes, mode and mtime (absent roots as None)."""
    out: dict[str, object] = {}
    for root in roots:
        if not root.exists():
            out[str(root)] = None
            continue
        for path in [root, *sorted(root.rglob("*"))]:
            st = path.lstat()
            if path.is_symlink():
                out[str(path)] = ("link", os.readlink(path))
            elif path.is_dir():
                out[str(path)] = ("dir", st.st_mode)
            else:
                out[str(path)] = (path.read_bytes(), st.st_mode, st.st_mtime_ns)
    return out


def app_dir() -> Path:
    return Path(os.environ["SSHJUP_HOME"])


def config_path() -> Path:
    return Path(os.environ["SSHJUP_SSH_CONFIG"])


def watched() -> tuple[Path, Path]:
    """What sshjup may write: the ssh directory (config, backup, lock) and the app dir."""
    return config_path().parent, app_dir()


def write_existing_state() -> None:
    """A user config with sshjup's section for EXISTING in it, and the matching inventory."""
    inv = Inventory({EXISTING.name: EXISTING})
    caps = sshconfig.Capabilities()
    body = sshconfig.render_body(inv.targets(), caps, os.environ["SSHJUP_CONTROL_DIR"])
    text = sshconfig.plan_text(sshconfig.decode(USER_CONTENT), body)
    config_path().write_bytes(text.encode())
    config_path().chmod(0o600)
    app_dir().mkdir(mode=0o700)
    (app_dir() / "inventory.yaml").write_text(inventory.dumps(inv))


def run(*argv: str) -> Result:
    return CliRunner().invoke(cli, list(argv))


def refusal_problem(result: Result, names: tuple[str, ...]) -> str | None:
    """Why ``result`` is not a clean refusal (exit 2, one-line error naming the field), or None."""
    message = result.stderr
    if result.exit_code != 2 or not isinstance(result.exception, SystemExit):
        return f"exit {result.exit_code} ({result.exception!r}): {result.output!r}"
    if not message.startswith("Error: ") or "Traceback" in message:
        return f"not a one-line error: {message!r}"
    if not any(name in message for name in names):
        return f"no field name {names} in {message!r}"
    return None


def assert_refused(result: Result, names: tuple[str, ...]) -> None:
    problem = refusal_problem(result, names)
    assert problem is None, problem


def reset(*, existing: bool) -> None:
    """Back to no files at all, or to the existing config and inventory."""
    ssh_dir, app = watched()
    for path in ssh_dir.iterdir():
        path.unlink()
    shutil.rmtree(app, ignore_errors=True)
    if existing:
        write_existing_state()


def by_field(cases: dict[str, Case]) -> dict[str, dict[str, Case]]:
    """``{"--user": {"--user[newline]": case, ...}, ...}``: one test per field."""
    grouped: dict[str, dict[str, Case]] = {}
    for key, case in cases.items():
        grouped.setdefault(key.split("[", 1)[0], {})[key] = case
    return grouped


def check_refusals(cases: dict[str, Case], states: tuple[bool, ...]) -> None:
    """Run every case from every starting state; report every value that got through."""
    problems = []
    for key, case in cases.items():
        for existing in states:
            reset(existing=existing)
            before = snapshot(*watched())
            problem = refusal_problem(run(*case.argv), case.names)
            if problem is None and snapshot(*watched()) != before:
                problem = "files changed"
            if problem is not None:
                state = "existing files" if existing else "no files"
                problems.append(f"{key} ({state}): {problem}")
    assert not problems, "\n".join(problems)


# --- the command line --------------------------------------------------------------------------

ADD_BY_FIELD = by_field(ADD_CASES)
EDIT_BY_FIELD = by_field(EDIT_CASES)


@pytest.mark.parametrize("field", ADD_BY_FIELD)
def test_add_refuses_hostile_values_and_writes_nothing(field: str) -> None:
    # From no files at all (they stay absent: no ~/.ssh/config, no app dir, no lock file) and
    # from an existing config and inventory (byte-identical afterwards, mode and mtime too).
    check_refusals(ADD_BY_FIELD[field], states=(False, True))


@pytest.mark.parametrize("field", EDIT_BY_FIELD)
def test_edit_refuses_hostile_values_and_writes_nothing(field: str) -> None:
    check_refusals(EDIT_BY_FIELD[field], states=(True,))


def test_a_refused_add_leaves_no_directory_behind(isolated: Path) -> None:
    shutil.rmtree(isolated / ".ssh")
    assert_refused(run("add", "gpu.example.org", "--user", "al\nice"), ("user",))
    assert not (isolated / ".ssh").exists()
    assert not app_dir().exists()


def test_hostile_cases_cover_every_field_and_value() -> None:
    """The tables above really hold every field and every hostile value the issue lists."""
    assert set(ADD_BY_FIELD) >= {
        "HOST-hostname",
        "HOST-user",
        "HOST-port",
        "--name",
        "--user",
        "--port",
        "--identity-file",
        "--proxy-jump",
        "--local-port",
        "--remote-port",
        "--forward",
    }
    for field in ("HOST-hostname", "HOST-user", "--name", "--user", "--identity-file", "--forward"):
        allowed = {"space", "backslash"} if field == "--identity-file" else set()  # quoted
        for char in set(BAD_CHARS) - allowed:
            assert f"{field}[{char}]" in ADD_CASES
    for field in ("HOST-port", "--port", "--local-port", "--remote-port"):
        for port in BAD_PORTS:
            assert f"{field}[port-{port}]" in ADD_CASES
    assert set(EDIT_BY_FIELD) == {*OPTION_FIELDS, *PORT_OPTIONS, "--hostname"}


# --- an inventory file given to `sshjup apply` -----------------------------------------------

# Plain YAML for each hostile value: JSON strings are YAML double-quoted scalars (with \u escapes,
# so NUL, NEL and U+2028 reach the value without being refused by the YAML reader itself).
TEXT_FIELDS = {
    "hostname": (lambda c: f"gpu{c}.example.org", "-oProxyCommand=x", ""),
    "user": (lambda c: f"al{c}ice", "-oProxyCommand=x", ","),
    "identity_file": (lambda c: f"~/.ssh/id{c}_gpu", "-oProxyCommand=x", " \\"),
    "proxy_jump": (lambda c: f"bas{c}tion.example.org", "-oProxyCommand=x", ","),
}
YAML_PORTS = {
    "zero": "0",
    "65536": "65536",
    "minus-one": "-1",
    "8888x": "8888x",
    "hex": "0x10",
    "octal": "010",
    "underscore": "8_888",
    "plus": "+8888",
    "sexagesimal": "1:30",
    "quoted": '"8888"',
    "empty-string": '""',
    "float": "8888.0",
    "bool": "true",
    "list": "[8888]",
    "map": "{port: 8888}",
}
FORWARDS = {
    **{f"local-{k}": f"{v}:8891" for k, v in BAD_PORTS.items()},
    **{f"remote-{k}": f"8890:{v}" for k, v in BAD_PORTS.items()},
    **{f"host-{k}": f"8890:lo{v}calhost:8891" for k, v in BAD_CHARS.items()},
    "host-leading-dash": "8890:-evil:8891",
    "no-colon": "8890",
}


@dataclass(frozen=True)
class InventoryCase:
    field: str  # the YAML key whose line the error must name ("" = the host's name key)
    yaml_value: str
    names: tuple[str, ...]


INVENTORY_CASES: dict[str, InventoryCase] = {}
for _field, (_make, _dash, _allowed) in TEXT_FIELDS.items():
    _names = (_field, _field.replace("_", " "))
    for _key, _char in BAD_CHARS.items():
        if _char not in _allowed:
            INVENTORY_CASES[f"{_field}[{_key}]"] = InventoryCase(
                _field, json.dumps(_make(_char)), _names
            )
    INVENTORY_CASES[f"{_field}[leading-dash]"] = InventoryCase(_field, json.dumps(_dash), _names)
    INVENTORY_CASES[f"{_field}[empty]"] = InventoryCase(_field, '""', _names)
for _field in ("port", "local_port", "remote_port"):
    for _key, _raw in YAML_PORTS.items():
        INVENTORY_CASES[f"{_field}[{_key}]"] = InventoryCase(
            _field, _raw, (_field, _field.replace("_", " "))
        )
for _key, _spec in FORWARDS.items():
    INVENTORY_CASES[f"forwards[{_key}]"] = InventoryCase(
        "forwards", json.dumps([_spec]), ("forward",)
    )
INVENTORY_CASES["forwards[not-a-list]"] = InventoryCase("forwards", '"8890:8891"', ("forward",))
for _key, _char in {**BAD_CHARS, "leading-dash": "-", "upper": "G"}.items():
    INVENTORY_CASES[f"host-name[{_key}]"] = InventoryCase(
        "", json.dumps(f"g{_char}pu" if _key != "leading-dash" else "-gpu"), ("name",)
    )
INVENTORY_CASES["host-name[empty]"] = InventoryCase("", '""', ("name",))


def inventory_text(case: InventoryCase) -> tuple[str, int]:
    """An inventory with one hostile value, and the (1-based) line the error must name."""
    name = case.yaml_value if case.field == "" else "web"
    lines = ["version: 1", "hosts:", f"  {name}:"]
    fields = {"hostname": '"web.example.org"', "local_port": "8890", "remote_port": "8891"}
    if case.field:
        fields[case.field] = case.yaml_value
    lines += [f"    {key}: {value}" for key, value in fields.items()]
    wanted = 3 if case.field == "" else 4 + list(fields).index(case.field)
    return "\n".join(lines) + "\n", wanted


INVENTORY_BY_FIELD: dict[str, dict[str, InventoryCase]] = {}
for _key, _case in INVENTORY_CASES.items():
    INVENTORY_BY_FIELD.setdefault(_key.split("[", 1)[0], {})[_key] = _case


@pytest.mark.parametrize("field", INVENTORY_BY_FIELD)
def test_apply_refuses_hostile_inventory_values_naming_file_and_line(
    field: str, tmp_path: Path
) -> None:
    problems = []
    source = tmp_path / "tunnels.yaml"
    for key, case in INVENTORY_BY_FIELD[field].items():
        text, line = inventory_text(case)
        source.write_text(text, encoding="utf-8")
        for existing in (False, True):
            reset(existing=existing)
            before = snapshot(*watched())
            for argv in (["apply", str(source), "--yes"], ["apply", str(source), "--dry-run"]):
                result = run(*argv)
                problem = refusal_problem(result, case.names)
                if problem is None and f"{source}:{line}:" not in result.stderr:
                    problem = f"line {line} not named: {result.stderr!r}"
                if problem is None and snapshot(*watched()) != before:
                    problem = "files changed"
                if problem is not None:
                    problems.append(f"{key} {argv[2]} (existing={existing}): {problem}")
    assert not problems, "\n".join(problems)


def test_apply_accepts_the_valid_inventory_the_hostile_cases_start_from(tmp_path: Path) -> None:
    """Guard: without the hostile value, the same inventory applies (exit 0)."""
    text, _ = inventory_text(InventoryCase("user", '"alice"', ("user",)))
    source = tmp_path / "tunnels.yaml"
    source.write_text(text)
    result = run("apply", str(source), "--yes")
    assert result.exit_code == 0, result.output
    assert "Host jup-web" in config_path().read_text()


# --- what `ssh -G` reports for an alias the user already has ---------------------------------

# Each setting is accepted by OpenSSH (checked below), but its value must not reach the section.
SSH_G_CASES = {
    "HostName[leading-dash]": ("HostName -oProxyCommand=x", "HostName"),
    "HostName[percent]": ("HostName a%%b", "HostName"),
    "HostName[hash]": ('HostName "a#b"', "HostName"),
    "HostName[star]": ("HostName a*b", "HostName"),
    "HostName[dquote]": ('HostName "a\\"b"', "HostName"),
    "HostName[equals]": ("HostName a=b", "HostName"),
    "HostName[bang]": ("HostName a!b", "HostName"),
    "HostName[dollar]": ("HostName $HOME", "HostName"),
    "HostName[u2028]": ("HostName gpu\u2028x", "HostName"),
    "HostName[formfeed]": ("HostName gpu\fx", "HostName"),
    "HostName[v6-scope]": ("HostName fe80::1%%eth0", "HostName"),
    # A quoted CR: ssh prints it raw, and a reader with universal newlines would see a second
    # line, "proxyjump evil.example.org", and route the tunnel through it.
    "HostName[cr-injects-proxyjump]": (
        'HostName "gpu.example.org\rproxyjump evil.example.org"',
        "HostName",
    ),
    "User[cr-injects-proxyjump]": ('User "alice\rproxyjump evil.example.org"', "User"),
    "User[space]": ('User "a b"', "User"),
    "User[leading-dash]": ("User -oProxyCommand=x", "User"),
    "User[percent]": ("User a%%b", "User"),
    "User[hash]": ('User "a#b"', "User"),
    "User[dollar]": ("User $HOME", "User"),
    "User[comma]": ("User a,b", "User"),
    "User[vtab]": ("User al\vice", "User"),
    "User[nel]": ("User al\x85ice", "User"),
    "ProxyJump[squote]": ("ProxyJump al\\'ice@host", "ProxyJump"),
    "ProxyJump[leading-dash]": ("ProxyJump -oProxyCommand=x", "ProxyJump"),
    "ProxyJump[dollar]": ("ProxyJump a$b@host", "ProxyJump"),
    "ProxyJump[percent]": ("ProxyJump al%ice@host", "ProxyJump"),
    "ProxyJump[equals]": ("ProxyJump a=b@host", "ProxyJump"),
    "ProxyJump[quoted-space]": ('ProxyJump "a b"', "ProxyJump"),
    # (a space is allowed in a key path: tests/test_store_hostile_files.py)
    "IdentityFile[hash]": ('IdentityFile "/tmp/a#b"', "IdentityFile"),
    "IdentityFile[percent]": ("IdentityFile /tmp/%h", "IdentityFile"),
    "IdentityFile[dollar]": ("IdentityFile /tmp/id_$HOME", "IdentityFile"),
}


@pytest.mark.parametrize(("setting", "field"), SSH_G_CASES.values(), ids=SSH_G_CASES.keys())
def test_add_alias_refuses_hostile_value_from_ssh_g(setting: str, field: str) -> None:
    config = config_path()
    config.write_bytes(f"Host myalias\n    {setting}\n".encode())
    config.chmod(0o600)
    # OpenSSH itself accepts the file: the refusal is sshjup's own.
    check = subprocess.run(
        ["ssh", "-F", str(config), "-G", "myalias"], capture_output=True, timeout=20, check=False
    )
    assert check.returncode == 0, check.stderr
    before = snapshot(*watched())
    result = run("add", "myalias")
    assert_refused(result, (field,))
    assert "ssh -G myalias" in result.stderr
    assert snapshot(*watched()) == before
    assert not app_dir().exists()


def test_add_alias_with_plain_values_is_accepted() -> None:
    """Guard for the cases above: the same alias with ordinary values is added."""
    config = config_path()
    config.write_text("Host myalias\n    HostName 192.0.2.7\n    User bob\n")
    result = run("add", "myalias", "--name", "mine")
    assert result.exit_code == 0, result.output
    assert re.search(r"Host jup-mine\n\s+HostName 192\.0\.2\.7\n\s+User bob\n", config.read_text())
