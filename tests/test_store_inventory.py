"""The inventory: a versioned YAML schema, validated on load with file:line in every error.

* Each schema error (unknown key, wrong type, bad or missing version, missing hostname,
  duplicate key, invalid YAML, a YAML tag that would build an object) is an InventoryError
  (exit 2) naming ``file:line`` of the culprit.
* ``dumps``/``loads`` round-trip any valid inventory, including values YAML 1.1 would otherwise
  read as numbers, booleans or null.
* With no inventory file but a managed section in the ssh config (a config synced from another
  machine), sshjup adopts the section's hosts.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from sshjup.cli import cli
from sshjup.errors import InventoryError
from sshjup.models import Forward, JupyterSpec, Target
from sshjup.store import inventory, paths
from sshjup.store.inventory import Inventory

SOURCE = "tunnels.yaml"


def load_text(text: str) -> Inventory:
    return inventory.loads(textwrap.dedent(text).lstrip("\n"), SOURCE)


def error_for(text: str) -> InventoryError:
    with pytest.raises(InventoryError) as info:
        load_text(text)
    assert info.value.exit_code == 2
    assert info.value.hint, "every error names a fix"
    return info.value


# --- schema errors -----------------------------------------------------------------------------

SCHEMA_ERRORS = {
    "unknown-top-level-key": (
        """
        version: 1
        colour: blue
        hosts: {}
        """,
        2,
        "unknown key 'colour'",
    ),
    "unknown-host-key": (
        """
        version: 1
        hosts:
          gpu:
            hostname: gpu.example.org
            hostnme: typo.example.org
        """,
        5,
        "unknown key 'hostnme'",
    ),
    "unknown-jupyter-key": (
        """
        version: 1
        hosts:
          gpu:
            hostname: gpu.example.org
            jupyter:
              kind: lab
              colour: blue
        """,
        7,
        "unknown key 'colour'",
    ),
    "hostname-not-text": (
        """
        version: 1
        hosts:
          gpu:
            hostname: 42
        """,
        4,
        "hostname must be text",
    ),
    "port-quoted": (
        """
        version: 1
        hosts:
          gpu:
            hostname: gpu.example.org
            port: "22"
        """,
        5,
        "port must be a whole decimal number",
    ),
    "port-float": (
        """
        version: 1
        hosts:
          gpu:
            hostname: gpu.example.org
            local_port: 8888.5
        """,
        5,
        "local_port: expected text, a whole number or true/false, got '8888.5'",
    ),
    "port-a-list": (
        """
        version: 1
        hosts:
          gpu:
            hostname: gpu.example.org
            remote_port: [8889]
        """,
        5,
        "remote_port: expected text, a whole number or true/false, got a list or map",
    ),
    "hosts-a-list": (
        """
        version: 1
        hosts:
          - gpu
        """,
        3,
        "hosts must be a mapping",
    ),
    "host-a-string": (
        """
        version: 1
        hosts:
          gpu: gpu.example.org
        """,
        3,
        "must be a mapping",
    ),
    "top-level-a-list": (
        """
        - version: 1
        """,
        1,
        "the inventory must be a mapping",
    ),
    "forwards-not-a-list": (
        """
        version: 1
        hosts:
          gpu:
            hostname: gpu.example.org
            forwards: "6006:6006"
        """,
        5,
        "forwards must be a list",
    ),
    "putty-not-a-bool": (
        """
        version: 1
        hosts:
          gpu:
            hostname: gpu.example.org
            putty: maybe
        """,
        5,
        "putty must be true or false",
    ),
    "key-not-text": (
        """
        version: 1
        hosts:
          123:
            hostname: gpu.example.org
        """,
        3,
        "must be text",
    ),
    "version-2": (
        """
        version: 2
        hosts: {}
        """,
        1,
        "unsupported inventory version 2",
    ),
    "version-quoted": (
        """
        version: "1"
        hosts: {}
        """,
        1,
        "unsupported inventory version '1'",
    ),
    "version-missing": (
        """
        hosts:
          gpu:
            hostname: gpu.example.org
        """,
        1,
        "missing `version: 1`",
    ),
    "hostname-missing": (
        """
        version: 1
        hosts:
          gpu:
            user: alice
        """,
        4,
        "host 'gpu': missing hostname",
    ),
    "duplicate-host": (
        """
        version: 1
        hosts:
          gpu:
            hostname: a.example.org
          gpu:
            hostname: b.example.org
        """,
        5,
        "'gpu' appears twice",
    ),
    "duplicate-field": (
        """
        version: 1
        hosts:
          gpu:
            hostname: a.example.org
            user: alice
            user: mallory
        """,
        6,
        "'user' appears twice",
    ),
    "duplicate-top-level": (
        """
        version: 1
        hosts: {}
        version: 1
        """,
        3,
        "'version' appears twice",
    ),
    "invalid-yaml-unclosed-quote": (
        """
        version: 1
        hosts:
          gpu:
            hostname: "gpu.example.org
        """,
        5,
        "not valid YAML",
    ),
    "invalid-yaml-tab-indent": (
        "version: 1\nhosts:\n\tgpu:\n",
        3,
        "not valid YAML",
    ),
    "invalid-yaml-bad-indent": (
        """
        version: 1
        hosts:
          gpu:
            hostname: gpu.example.org
           user: alice
        """,
        5,
        "not valid YAML",
    ),
    "python-object-tag": (
        """
        version: 1
        hosts:
          gpu:
            hostname: !!python/object/apply:os.system ["echo owned"]
        """,
        4,
        "hostname: expected text, a whole number or true/false",
    ),
    "bad-jupyter-kind": (
        """
        version: 1
        hosts:
          gpu:
            hostname: gpu.example.org
            jupyter:
              kind: voila
        """,
        6,
        "jupyter kind",
    ),
}


@pytest.mark.parametrize(("text", "line", "problem"), SCHEMA_ERRORS.values(), ids=SCHEMA_ERRORS)
def test_schema_errors_name_file_line_and_problem(text: str, line: int, problem: str) -> None:
    err = error_for(text)
    assert err.message.startswith(f"{SOURCE}:{line}: "), err.message
    assert problem in err.message


def test_an_error_from_apply_names_the_real_file_and_exits_2(tmp_path: Path) -> None:
    source = tmp_path / "tunnels.yaml"
    source.write_text("version: 1\nhosts:\n  gpu:\n    hostname: gpu.example.org\n    prot: 22\n")
    result = CliRunner().invoke(cli, ["apply", str(source)])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: {source}:5: host 'gpu': unknown key 'prot'")
    assert "Hint: allowed keys: " in result.stderr


def test_the_app_inventory_is_validated_too_and_names_its_path() -> None:
    path = paths.inventory_path()
    path.parent.mkdir(parents=True)
    path.write_text("version: 1\nhosts:\n  gpu:\n    hostname: gpu.example.org\n    port: 0\n")
    result = CliRunner().invoke(cli, ["list"])
    assert result.exit_code == 2
    assert f"{path}:5: host 'gpu': port: 0 is not a port number" in result.stderr


@pytest.mark.parametrize(
    "text",
    ["", "# only a comment\n", "version: 1\n", "version: 1\nhosts:\n", "version: 1\nhosts: {}\n"],
    ids=["empty", "comment", "no-hosts", "null-hosts", "empty-hosts"],
)
def test_an_empty_inventory_has_no_hosts(text: str) -> None:
    assert inventory.loads(text, SOURCE).hosts == {}


def test_defaults_fill_what_the_file_leaves_out() -> None:
    inv = load_text(
        """
        version: 1
        hosts:
          gpu:
            hostname: gpu.example.org
        """
    )
    assert inv.hosts["gpu"] == Target("gpu", "gpu.example.org")


# --- round trip --------------------------------------------------------------------------------

FULL = Target(
    "gpu",
    "gpu.example.org",
    forwards=(Forward(8890, 8891), Forward(6006, 6006), Forward(8265, 8265, "10.0.0.7")),
    user="alice",
    port=2222,
    identity_file="~/.ssh/id_gpu",
    proxy_jump="bob@bastion.example.org:2200,10.0.0.1",
    putty=True,
    jupyter=JupyterSpec("notebook", "/opt/conda/bin/jupyter", ("--debug",), "~/work"),
)


def test_dumps_then_loads_gives_back_every_field() -> None:
    inv = Inventory({"gpu": FULL, "cpu": Target("cpu", "10.0.0.5")})
    text = inventory.dumps(inv)
    assert text.startswith(inventory.HEADER)
    again = inventory.loads(text, SOURCE)
    assert again == inv
    assert list(again.hosts) == ["gpu", "cpu"]  # the order is kept
    assert inventory.dumps(again) == text


@pytest.mark.parametrize(
    "word", ["yes", "no", "on", "off", "true", "null", "123", "1e3", "0x10", "010", "1_000", "1:30"]
)
def test_values_yaml_would_read_as_other_types_survive_the_round_trip(word: str) -> None:
    valid_name = "_" not in word and ":" not in word
    target = Target(
        word if valid_name else "w",
        word if valid_name else "h.example.org",  # a host name may be all digits, e.g. "123"
        user=word if ":" not in word else None,
        identity_file=word,
    )
    inv = Inventory({target.name: target})
    assert inventory.loads(inventory.dumps(inv), SOURCE) == inv


names = st.from_regex(r"[a-z0-9][a-z0-9._-]{0,20}", fullmatch=True)
labels = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)
hostnames = st.one_of(
    st.lists(labels, min_size=1, max_size=4).map(".".join),
    st.ip_addresses().map(str),
)
users = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9._@-]{0,15}", fullmatch=True)
ports = st.integers(1, 65535)
paths_ = st.from_regex(r"[A-Za-z0-9._/~+-][A-Za-z0-9._/~+:-]{0,30}", fullmatch=True).filter(
    lambda p: not p.startswith("-")
)


@st.composite
def targets(draw: st.DrawFn, name: str) -> Target:
    local_ports = draw(st.lists(ports, min_size=1, max_size=3, unique=True))
    forwards = tuple(Forward(lp, draw(ports)) for lp in local_ports)
    return Target(
        name,
        draw(hostnames),
        forwards=forwards,
        user=draw(st.none() | users),
        port=draw(st.none() | ports),
        identity_file=draw(st.none() | paths_),
        proxy_jump=draw(st.none() | hostnames.filter(lambda h: ":" not in h)),
        putty=draw(st.none() | st.booleans()),
    )


@st.composite
def inventories(draw: st.DrawFn) -> Inventory:
    chosen = draw(st.lists(names, max_size=4, unique=True))
    return Inventory({name: draw(targets(name)) for name in chosen})


@settings(max_examples=150, deadline=None)
@given(inventories())
def test_any_valid_inventory_round_trips(inv: Inventory) -> None:
    text = inventory.dumps(inv)
    again = inventory.loads(text, SOURCE)
    assert again == inv
    assert list(again.hosts) == list(inv.hosts)
    assert inventory.dumps(again) == text


# --- adopting the section when there is no inventory -------------------------------------------


def run(*argv: str) -> str:
    result = CliRunner().invoke(cli, list(argv))
    assert result.exit_code == 0, result.output
    return result.stdout


def test_without_an_inventory_the_sections_hosts_are_adopted(ssh_config: Path) -> None:
    ssh_config.write_text("Host build\n    HostName build.example.org\n")
    run(
        "add",
        "alice@gpu.example.org:2222",
        "--name",
        "gpu",
        "--identity-file",
        "~/.ssh/id_gpu",
        "--proxy-jump",
        "bob@bastion.example.org",
        "--local-port",
        "18890",
        "--remote-port",
        "18891",
        "--forward",
        "16006:6006",
    )
    run("add", "10.0.0.5", "--name", "cpu", "--local-port", "18892")
    listed = json.loads(run("list", "--json"))
    exported = run("export")
    config_before = ssh_config.read_bytes()

    paths.inventory_path().unlink()
    assert json.loads(run("list", "--json")) == listed
    assert run("export") == exported
    # Adopting is a read: nothing is written until the next change.
    assert not paths.inventory_path().exists()
    assert ssh_config.read_bytes() == config_before

    # The next change writes the adopted hosts and the new one.
    run("add", "tpu.example.org", "--local-port", "18893")
    inv = inventory.load(paths.inventory_path())
    assert inv is not None
    assert list(inv.hosts) == ["gpu", "cpu", "tpu"]
    assert inv.hosts["gpu"] == Target(
        "gpu",
        "gpu.example.org",
        forwards=(Forward(18890, 18891), Forward(16006, 6006)),
        user="alice",
        port=2222,
        identity_file="~/.ssh/id_gpu",
        proxy_jump="bob@bastion.example.org",
    )


def test_without_an_inventory_or_a_section_there_are_no_hosts(ssh_config: Path) -> None:
    ssh_config.write_text("Host jup-mine\n    HostName mine.example.org\n")
    assert json.loads(run("list", "--json")) == []
