"""The inventory: sshjup's YAML record of the hosts it manages, and the one source of truth.

The managed section of the ssh config (and each PuTTY session) is rendered from it. The file is
versioned (``version: 1``) and validated on load; an error names the file and the line. The only
module that imports yaml.

    version: 1
    hosts:
      gpu:
        hostname: gpu.example.org
        user: alice
        local_port: 8888
        remote_port: 8889
        forwards: ["6006:6006"]
        remote_socket: /home/alice/.local/share/sshjup/jupyter-gpu.sock  # (optional)
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from sshjup.errors import InvalidInput, InventoryError
from sshjup.models import (
    DEFAULT_LOCAL_PORT,
    DEFAULT_REMOTE_PORT,
    Forward,
    JupyterSpec,
    Target,
    validate_hostname,
    validate_key_path,
    validate_name,
    validate_port,
    validate_proxy_jump,
    validate_socket_path,
    validate_ssh_option,
    validate_user,
)
from sshjup.records import dataclass, field
from sshjup.store import fileio

TYPE_CHECKING = False  # (typing's costs `sshjup add` ~4 ms to import; mypy takes it as True)
if TYPE_CHECKING:
    from typing import Any


SCHEMA_VERSION = 1
_HOST_KEYS = {
    "hostname",
    "user",
    "port",
    "identity_file",
    "proxy_jump",
    "local_port",
    "remote_port",
    "remote_socket",
    "forwards",
    "putty",
    "jupyter",
    "ssh_options",
    "companion",
}
_JUPYTER_KEYS = {"kind", "command", "args", "root_dir"}
HEADER = (
    "# sshjup inventory: the Jupyter tunnels sshjup manages.\n"
    "# Change it with `sshjup add/edit/remove`, or edit it and run `sshjup apply FILE`.\n"
)


@dataclass
class Inventory:
    """Managed hosts by name, in a stable order (the order they were added)."""

    hosts: dict[str, Target] = field(default_factory=dict)

    def targets(self) -> list[Target]:
        return list(self.hosts.values())


def _yaml() -> Any:
    import yaml  # noqa: PLC0415 (imported only by the commands that read or write YAML)

    return yaml


def load(path: Path) -> Inventory | None:
    """The inventory at ``path``, or ``None`` when the file does not exist."""
    data = fileio.read_bytes(path)
    if data is None:
        return None
    return loads(data.decode("utf-8", "replace"), str(path))


def loads(text: str, source: str) -> Inventory:
    """Parse and validate inventory text; errors say ``source:line: what, fix``."""
    quick = _usual_inventory(text) if len(text) >= _USUAL_MIN_SIZE else None
    if quick is not None:
        return quick
    root = _plain_compose(text)
    if root is None:
        root = _yaml_compose(text, source)
    return _from_root(root, source)


# --- the usual inventory, read straight into Targets ------------------------------------------
#
# What sshjup writes for hosts of plain values (and what most hand-written files look like):
# `version: 1`, `hosts:`, then per host its name and its plain `key: value` lines. One pattern
# match per host reads them in the order dumps writes them; a host whose keys come in another
# order is read line by line. Anything else (a comment or blank line, a quote, a list, a key
# twice, a bad value) returns None and the reader below takes the text, so every error is its
# error, with its line and hint.

_W = r"((?:[A-Za-z0-9/]|~/)[A-Za-z0-9._/@+-]*)"  # a word _plain_text may take for text
_N = r"([1-9][0-9]{0,5})"  # a decimal number YAML reads as an int (validate_port checks range)
_B = r"(true|false)"
_NAME = r"([a-z0-9][a-z0-9._-]{0,58})"  # a host name the pattern takes (validate_name checks)
_USUAL_KEYS = (
    "hostname",
    "user",
    "port",
    "identity_file",
    "proxy_jump",
    "local_port",
    "remote_port",
    "remote_socket",
    "putty",
    "companion",
)  # (in the order dumps writes them; hostname is the one a host must have)
_USUAL_KEY_SET = frozenset(_USUAL_KEYS)
_USUAL_NUMBERS = frozenset({"port", "local_port", "remote_port"})
_USUAL_BOOLS = frozenset({"putty", "companion"})


def _usual_line(key: str) -> str:
    value = _N if key in _USUAL_NUMBERS else _B if key in _USUAL_BOOLS else _W
    line = rf"    {key}: {value}\n"
    return line if key == "hostname" else f"(?:{line})?"


# One group for the name, then one for each key of _USUAL_KEYS, in its order.
_USUAL_HOST_PATTERN = rf"  {_NAME}:\n" + "".join(_usual_line(key) for key in _USUAL_KEYS)
_ANY_ORDER_PATTERN = rf"  {_NAME}:\n((?:    [a-z_]+: [^\n]*\n)+)"
_USUAL_TOP = "version: 1\nhosts:\n"
# Below about 40 hosts the compile costs more than the shortcut saves: the general reader
# reads those (the same Inventory, the same errors).
_USUAL_MIN_SIZE = 4096


def _usual_inventory(text: str) -> Inventory | None:
    """The Inventory :func:`loads` reads from ``text`` when it has the usual form, else None
    (and None when a value is refused: the general reader then names its line)."""
    at = 0
    while text.startswith("#", at):  # comment lines at the top (HEADER)
        end = text.find("\n", at)
        if end < 0 or not text[at:end].isprintable():  # (what YAML reads as a comment line)
            return None
        at = end + 1
    if not text.startswith(_USUAL_TOP, at):
        return None
    at += len(_USUAL_TOP)
    size = len(text)
    if at == size:
        return None  # (`hosts:` alone is null: the general reader says what that means)
    hosts: dict[str, Target] = {}
    # (Compiled when first used, about 0.5 ms, and then kept by re; the second only for a
    # host whose keys come in another order.)
    match = re.compile(_USUAL_HOST_PATTERN).match
    plain, text_word = _plain_text, _TEXT_WORD.fullmatch
    jupyter = JupyterSpec()
    known: dict[str, tuple[Target, int, int]] = {}  # the hosts whose text dumps would write
    try:
        while at < size:
            m = match(text, at)
            if m is not None and not text.startswith("    ", end := m.end()):
                name, hostname, user, port, key, jump, local, remote, socket, putty, comp = (
                    m.groups()
                )
                # (dumps writes both ports, and companion only when true)
                written = local is not None and remote is not None and comp != "false"
            else:  # (keys in another order, or one the pattern does not take)
                written = False
                m = re.compile(_ANY_ORDER_PATTERN).match(text, at)
                fields = None if m is None else _any_order(m.group(2))
                if m is None or fields is None:
                    return None
                name, end = m.group(1), m.end()
                hostname, user, port, key, jump, local, remote, socket, putty, comp = fields
            # (Each name and host name is new: the pattern itself, not its cache; the other
            # words mostly repeat.)
            if name in hosts or not text_word(name) or not text_word(hostname):
                return None
            if (
                (user is not None and not plain(user))
                or (key is not None and not plain(key))
                or (jump is not None and not plain(jump))
                or (socket is not None and not plain(socket))
            ):
                return None
            hosts[name] = target = Target.plain(
                name,
                hostname,
                DEFAULT_LOCAL_PORT if local is None else int(local),
                DEFAULT_REMOTE_PORT if remote is None else int(remote),
                remote_socket=socket,
                user=user,
                port=None if port is None else int(port),
                identity_file=key,
                proxy_jump=jump,
                putty=None if putty is None else putty == "true",
                companion=comp == "true",
                jupyter=jupyter,
            )
            if written:
                known[name] = (target, at, end)
            at = end
    except InvalidInput:
        return None
    _LAST_READ[:] = [(text, known)]
    return Inventory(hosts)


# The text the usual reader read last, and where each host's lines are in it when they are the
# lines _usual_dump writes for that host: a command that reads an inventory and writes it back
# (`apply FILE`, `add` or `edit` on a large inventory) copies them instead of writing them
# again (about 2 ms for 1,000 hosts). A host's lines are taken only with the very Target object
# read (records that cannot change) under its name.
_LAST_READ: list[tuple[str, dict[str, tuple[Target, int, int]]]] = []


def _any_order(body: str) -> tuple[Any, ...] | None:
    """The values of a host's ``    key: value`` lines as _USUAL_HOST_PATTERN's groups give
    them (in _USUAL_KEYS' order, None where absent; text is checked by the caller), or None
    for a key that is not one of them or is there twice, a number that is not plain decimal
    and a true/false that is neither."""
    values: dict[str, str] = {}
    for line in body[4:-1].split("\n    "):
        key, _, value = line.partition(": ")
        if key in values or key not in _USUAL_KEY_SET:
            return None
        if key in _USUAL_NUMBERS:
            decimal = value.isascii() and value.isdigit() and value[0] != "0"
            if not decimal or len(value) > 6:  # noqa: PLR2004 (at most 6 digits, as _N)
                return None
        elif key in _USUAL_BOOLS and value not in ("true", "false"):
            return None
        values[key] = value
    if "hostname" not in values:
        return None
    return tuple(values.get(k) for k in _USUAL_KEYS)


def _yaml_compose(text: str, source: str) -> Any:
    yaml = _yaml()
    loader_cls = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return yaml.compose(text, Loader=loader_cls)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        msg = f"{where}: not valid YAML ({problem})"
        raise InventoryError(msg, hint="fix the YAML syntax at that line") from err


def _from_root(root: Any, source: str) -> Inventory:
    if root is None:
        return Inventory()
    top = _mapping(root, source, "the inventory")
    version_node = top.get("version")
    if version_node is None:
        _fail(source, root, "missing `version: 1`", "add `version: 1` at the top")
    version = _scalar(version_node, source)
    if version != SCHEMA_VERSION:
        _fail(
            source,
            version_node,
            f"unsupported inventory version {version!r}",
            f"this sshjup reads version {SCHEMA_VERSION}; upgrade sshjup or fix the file",
        )
    for key, node in top.items():
        if key not in {"version", "hosts"}:
            _fail(source, node, f"unknown key {key!r}", "allowed keys: version, hosts")
    inventory = Inventory()
    hosts_node = top.get("hosts")
    if hosts_node is None or _is_null(hosts_node):
        return inventory
    hosts = _mapping(hosts_node, source, "hosts")
    key_nodes = {k.value: k for k, _ in hosts_node.value}  # errors about a name point here
    for name, node in hosts.items():
        try:
            validate_name(name, "host name")
            inventory.hosts[name] = _target(name, node, source)
        except InventoryError:
            raise
        except InvalidInput as err:
            _fail(source, key_nodes[name], f"host {name!r}: {err.message}", err.hint or "fix it")
    return inventory


def _fail(source: str, node: Any, problem: str, hint: str) -> None:
    msg = f"{source}:{node.start_mark.line + 1}: {problem}"
    raise InventoryError(msg, hint=hint)


def _is_null(node: Any) -> bool:
    return bool(node.tag.endswith(":null"))


def _mapping(node: Any, source: str, what: str) -> dict[str, Any]:
    if not node.tag.endswith(":map"):
        _fail(source, node, f"{what} must be a mapping", "use `key: value` lines")
    out: dict[str, Any] = {}
    for key_node, value_node in node.value:
        key = key_node.value
        if not isinstance(key, str) or not key_node.tag.endswith(":str"):
            _fail(source, key_node, f"{what}: key {key!r} must be text", "quote the key")
        if key in out:
            _fail(source, key_node, f"{what}: {key!r} appears twice", "keep one of them")
        out[key] = value_node
    return out


def _scalar(node: Any, source: str, what: str = "value") -> Any:
    """Construct a scalar with YAML's safe types (int, bool, str, null)."""
    if not node.tag.endswith((":int", ":bool", ":str", ":null")):
        got = repr(node.value) if isinstance(node.value, str) else "a list or map"
        msg = f"{what}: expected text, a whole number or true/false, got {got}"
        _fail(source, node, msg, "write a single plain value")
    value = node.value
    if node.tag == _STR_TAG:
        return value  # what SafeConstructor builds for a string, without its bookkeeping
    if node.tag == _INT_TAG and value.isascii() and value.isdigit() and value[:1] != "0":
        return int(value)  # a plain decimal (YAML 1.1 reads a leading 0 as octal: not here)
    if node.tag == _BOOL_TAG and value in ("true", "false"):
        return value == "true"
    return _constructor().construct_object(node, deep=True)


_STR_TAG = "tag:yaml.org,2002:str"
_INT_TAG = "tag:yaml.org,2002:int"
_BOOL_TAG = "tag:yaml.org,2002:bool"
_MAP_TAG = "tag:yaml.org,2002:map"


_CONSTRUCTOR: list[Any] = []


def _constructor() -> Any:
    """One reusable safe constructor (building a loader per value would be slow)."""
    if not _CONSTRUCTOR:
        _CONSTRUCTOR.append(_yaml().SafeLoader(""))
    constructor = _CONSTRUCTOR[0]
    constructor.constructed_objects.clear()
    return constructor


def _text(node: Any, source: str, what: str) -> str | None:
    value = _scalar(node, source, what)
    if value is None:
        return None
    if not isinstance(value, str):
        _fail(source, node, f"{what} must be text, got {value!r}", f"quote the {what}")
    return str(value)


def _int(node: Any, source: str, what: str) -> int | None:
    value = _scalar(node, source, what)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or node.value != str(value):
        got = node.value if isinstance(value, int) else value
        _fail(source, node, f"{what} must be a whole decimal number, got {got!r}", "e.g. 8888")
    return int(value)


def _str_list(node: Any, source: str, what: str) -> list[str]:
    if _is_null(node):
        return []
    if not node.tag.endswith(":seq"):
        _fail(source, node, f"{what} must be a list", f'write {what}: ["..."]')
    out = []
    for item in node.value:
        value = _scalar(item, source)
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            _fail(source, item, f"{what}: {value!r} must be text", "quote it")
        out.append(str(value))
    return out


# The keys of the usual host entry: plain scalars that _target_quick builds without the per-key
# bookkeeping (which only serves to name the line of a bad value).
_QUICK_TEXT = ("hostname", "user", "identity_file", "proxy_jump", "remote_socket")
_QUICK_INT = ("port", "local_port", "remote_port")
_QUICK_KEYS = frozenset({*_QUICK_TEXT, *_QUICK_INT, "putty"})


def _target(name: str, node: Any, source: str) -> Target:
    """The host entry ``node`` as a validated Target; errors name the line of the bad value."""
    try:
        quick = _target_quick(name, node)
    except InvalidInput:  # (which line is wrong: the checked path says, as it always did)
        quick = None
    return quick if quick is not None else _target_checked(name, node, source)


def _target_quick(name: str, node: Any) -> Target | None:
    """The same Target as :func:`_target_checked` for an entry of plain text, numbers and
    true/false under the usual keys (None for anything else). Target and Forward validate
    every value themselves; when one refuses, the checked path runs to name its line."""
    if node.tag != _MAP_TAG:
        return None
    values: dict[str, Any] = {}
    for key_node, value_node in node.value:
        key, tag, value = key_node.value, value_node.tag, value_node.value
        if key_node.tag != _STR_TAG or key not in _QUICK_KEYS or key in values:
            return None
        if tag == _STR_TAG and key in _QUICK_TEXT:
            values[key] = value
        elif tag == _INT_TAG and key in _QUICK_INT and value.isascii() and value.isdigit():
            if value[0] == "0":
                return None
            values[key] = int(value)
        elif tag == _BOOL_TAG and key == "putty" and value in ("true", "false"):
            values[key] = value == "true"
        else:
            return None
    if "hostname" not in values:
        return None
    return Target.plain(
        name,
        values["hostname"],
        values.get("local_port", DEFAULT_LOCAL_PORT),
        values.get("remote_port", DEFAULT_REMOTE_PORT),
        remote_socket=values.get("remote_socket"),
        user=values.get("user"),
        port=values.get("port"),
        identity_file=values.get("identity_file"),
        proxy_jump=values.get("proxy_jump"),
        putty=values.get("putty"),
    )


def _target_checked(name: str, node: Any, source: str) -> Target:
    fields = _mapping(node, source, f"host {name!r}")
    for key, value in fields.items():
        if key not in _HOST_KEYS:
            _fail(source, value, f"host {name!r}: unknown key {key!r}", _allowed(_HOST_KEYS))

    def text(key: str) -> str | None:
        return _text(fields[key], source, key) if key in fields else None

    def number(key: str) -> int | None:
        return _int(fields[key], source, key) if key in fields else None

    def checked(key: str, make: Any) -> Any:
        try:
            return make()
        except InventoryError:
            raise  # already names its own line
        except InvalidInput as err:
            _fail(source, fields.get(key, node), f"host {name!r}: {err.message}", err.hint or "")
            raise  # pragma: no cover - _fail always raises

    hostname = text("hostname")
    if hostname is None:
        _fail(source, node, f"host {name!r}: missing hostname", "add `hostname: HOST`")
        raise AssertionError  # pragma: no cover - _fail always raises
    validators = {
        "hostname": validate_hostname,
        "user": validate_user,
        "identity_file": validate_key_path,
        "proxy_jump": validate_proxy_jump,
        "port": validate_port,
        "local_port": validate_port,
        "remote_port": validate_port,
        "remote_socket": validate_socket_path,
    }
    for key, validate in validators.items():
        value = number(key) if key.endswith("port") else text(key)
        if value is not None:
            checked(key, lambda v=value, f=validate, k=key: f(v, k))
    local_port = number("local_port") or DEFAULT_LOCAL_PORT
    remote_port = number("remote_port") or DEFAULT_REMOTE_PORT
    remote_socket = text("remote_socket")
    main = checked(
        "local_port", lambda: Forward(local_port, remote_port, remote_socket=remote_socket)
    )
    extra = [
        checked("forwards", lambda spec=spec: Forward.parse(spec))
        for spec in (
            _str_list(fields["forwards"], source, "forwards") if "forwards" in fields else []
        )
    ]
    putty_value = _scalar(fields["putty"], source) if "putty" in fields else None
    if putty_value is not None and not isinstance(putty_value, bool):
        _fail(source, fields["putty"], "putty must be true or false", "write putty: true")
    companion = _scalar(fields["companion"], source) if "companion" in fields else False
    if not isinstance(companion, bool):
        _fail(
            source, fields["companion"], "companion must be true or false", "write companion: true"
        )
    jupyter = JupyterSpec()
    if "jupyter" in fields:
        jupyter = checked("jupyter", lambda: _jupyter(fields["jupyter"], source, name))
    port = number("port")
    ssh_options: tuple[tuple[str, str], ...] = ()
    if "ssh_options" in fields:
        options = _mapping(fields["ssh_options"], source, f"host {name!r}: ssh_options")
        ssh_options = tuple(
            checked(
                "ssh_options",
                lambda k=k, v=v: validate_ssh_option(
                    str(k), str(_scalar(v, source, "ssh option value")), "ssh_options"
                ),
            )
            for k, v in options.items()
        )
    target: Target = checked(
        "hostname",
        lambda: Target(
            name=name,
            hostname=hostname,
            forwards=(main, *extra),
            user=text("user"),
            port=port,
            identity_file=text("identity_file"),
            proxy_jump=text("proxy_jump"),
            putty=putty_value,
            jupyter=jupyter,
            ssh_options=ssh_options,
            companion=companion,
        ),
    )
    return target


def _jupyter(node: Any, source: str, name: str) -> JupyterSpec:
    fields = _mapping(node, source, f"host {name!r}: jupyter")
    for key, value in fields.items():
        if key not in _JUPYTER_KEYS:
            _fail(
                source,
                value,
                f"host {name!r}: jupyter: unknown key {key!r}",
                _allowed(_JUPYTER_KEYS),
            )
    kind = _text(fields["kind"], source, "kind") if "kind" in fields else None
    return JupyterSpec(
        kind=kind or "lab",
        command=_text(fields["command"], source, "command") if "command" in fields else None,
        args=tuple(_str_list(fields["args"], source, "args")) if "args" in fields else (),
        root_dir=_text(fields["root_dir"], source, "root_dir") if "root_dir" in fields else None,
    )


def _allowed(keys: Iterable[str]) -> str:
    return "allowed keys: " + ", ".join(sorted(keys))


def to_data(inventory: Inventory) -> dict[str, Any]:
    """Plain data for YAML: only what differs from the defaults is written."""
    hosts: dict[str, Any] = {}
    for name, t in inventory.hosts.items():
        entry: dict[str, Any] = {"hostname": t.hostname}
        for key in ("user", "port", "identity_file", "proxy_jump"):
            value = getattr(t, key)
            if value is not None:
                entry[key] = value
        entry["local_port"] = t.local_port
        entry["remote_port"] = t.remote_port
        if t.remote_socket is not None:
            entry["remote_socket"] = t.remote_socket
        if len(t.forwards) > 1:
            entry["forwards"] = [f.spec() for f in t.forwards[1:]]
        if t.putty is not None:
            entry["putty"] = t.putty
        if t.ssh_options:
            entry["ssh_options"] = dict(t.ssh_options)
        if t.companion:
            entry["companion"] = True
        jupyter = _jupyter_data(t.jupyter)
        if jupyter:
            entry["jupyter"] = jupyter
        hosts[name] = entry
    return {"version": SCHEMA_VERSION, "hosts": hosts}


def _jupyter_data(spec: JupyterSpec) -> Mapping[str, Any]:
    out: dict[str, Any] = {}
    if spec.kind != "lab":
        out["kind"] = spec.kind
    if spec.command is not None:
        out["command"] = spec.command
    if spec.args:
        out["args"] = list(spec.args)
    if spec.root_dir is not None:
        out["root_dir"] = spec.root_dir
    return out


def dumps(inventory: Inventory) -> str:
    usual = _usual_dump(inventory)
    if usual is not None:
        return HEADER + usual
    data = to_data(inventory)
    plain = _plain_dump(data)
    if plain is not None:
        return HEADER + plain
    yaml = _yaml()
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    # The nodes yaml.dump(data, sort_keys=False, default_flow_style=False) would represent,
    # built directly: its generic representer costs as much as the emitter on 1,000 hosts.
    body = yaml.serialize(_node(yaml.nodes, data), Dumper=dumper)
    return HEADER + str(body)


_TAG = "tag:yaml.org,2002:"


def _node(nodes: Any, value: Any) -> Any:
    """The YAML node SafeRepresenter makes for ``value`` (block style, keys in order)."""
    if isinstance(value, bool):
        return nodes.ScalarNode(_TAG + "bool", "true" if value else "false")
    if isinstance(value, int):
        return nodes.ScalarNode(_TAG + "int", str(value))
    if isinstance(value, str):
        return nodes.ScalarNode(_TAG + "str", value)
    if isinstance(value, list):
        return nodes.SequenceNode(_TAG + "seq", [_node(nodes, v) for v in value], flow_style=False)
    if isinstance(value, dict):
        pairs = [(_node(nodes, k), _node(nodes, v)) for k, v in value.items()]
        return nodes.MappingNode(_TAG + "map", pairs, flow_style=False)
    msg = f"cannot write {value!r} to the inventory"  # pragma: no cover - to_data makes none
    raise TypeError(msg)  # pragma: no cover


# --- the inventory sshjup writes, without yaml -------------------------------------------------
#
# Most inventories are maps of maps of plain words, numbers and true/false: the text sshjup
# writes for them (and reads back) has one form, which these functions write and read without
# importing yaml (about 10 ms a command). Anything else (a list, a value that YAML would quote
# or read as another type, a comment or blank line inside) goes to yaml. tests/test_fast_paths.py
# checks both against yaml.

# Words YAML 1.1 writes without quotes and reads back as the same text: a letter, digit, / or ~/
# first, then letters, digits and ``. _ / @ + -``; not a bool or null word, no number or date.
# That is: such a word with a letter other than e (1.5e+3 is a float) and not 0x, 0b or 0o first
# (hex, binary, octal), or numbers with two dots or more (an IPv4 address: not a float).
_TEXT_WORD = re.compile(
    r"(?!(?i:y|n|yes|no|true|false|on|off|null)\Z)"
    r"(?:(?!0[xXbBoO])(?=.*?[A-DF-Za-df-z])(?:[A-Za-z0-9/]|~/)[A-Za-z0-9._/@+-]*"
    r"|[0-9]+(?:\.[0-9]+){2,})"
)
_PLAIN_KEY_LINE = re.compile(r"( *)([A-Za-z0-9][A-Za-z0-9._/@+-]*):(?: (.*))?")


@functools.lru_cache(maxsize=8192)  # (a dump after a load asks about the same words)
def _plain_text(value: str) -> bool:
    """True when YAML writes ``value`` unquoted and reads it back as this text."""
    return _TEXT_WORD.fullmatch(value) is not None


_DEFAULT_JUPYTER = JupyterSpec()


def _usual_dump(inventory: Inventory) -> str | None:
    """``_plain_dump(to_data(inventory))`` for hosts of one forward, no ssh options and the
    default Jupyter (the usual form, which _usual_inventory reads back), written straight
    from the Targets; None for anything else."""
    if not inventory.hosts:
        return None
    plain = _plain_text
    out = ["version: 1\nhosts:\n"]
    add = out.append
    text, known = _LAST_READ[0] if _LAST_READ else ("", {})
    for name, t in inventory.hosts.items():
        read = known.get(name)
        if read is not None and read[0] is t:  # (its lines as they were read)
            add(text[read[1] : read[2]])
            continue
        if len(t.forwards) != 1 or t.ssh_options or t.jupyter != _DEFAULT_JUPYTER:
            return None
        if not plain(name) or not plain(t.hostname):
            return None
        add(f"  {name}:\n    hostname: {t.hostname}\n")
        if t.user is not None:
            if not plain(t.user):
                return None
            add(f"    user: {t.user}\n")
        if t.port is not None:
            if type(t.port) is not int:  # (validate_port also takes "22")
                return None
            add(f"    port: {t.port}\n")
        for key, value in (("identity_file", t.identity_file), ("proxy_jump", t.proxy_jump)):
            if value is not None:
                if not plain(value):
                    return None
                add(f"    {key}: {value}\n")
        forward = t.forwards[0]
        if type(forward.local_port) is not int or type(forward.remote_port) is not int:
            return None
        add(f"    local_port: {forward.local_port}\n    remote_port: {forward.remote_port}\n")
        if forward.remote_socket is not None:
            if not plain(forward.remote_socket):
                return None
            add(f"    remote_socket: {forward.remote_socket}\n")
        if t.putty is not None:
            if not isinstance(t.putty, bool):  # (a Target does not check it)
                return None
            add("    putty: true\n" if t.putty else "    putty: false\n")
        if t.companion:
            add("    companion: true\n")
    return "".join(out)


def _plain_dump(data: Mapping[str, Any], indent: str = "") -> str | None:
    """``data`` as yaml.serialize writes it in block style, or None for yaml to write it."""
    lines: list[str] = []
    if not data:
        return None  # (`{}`: yaml writes it)
    for key, value in data.items():
        if not _plain_text(key):
            return None
        if isinstance(value, bool):
            lines.append(f"{indent}{key}: {'true' if value else 'false'}\n")
        elif isinstance(value, int) or (isinstance(value, str) and _plain_text(value)):
            lines.append(f"{indent}{key}: {value}\n")
        elif isinstance(value, dict):
            inner = _plain_dump(value, indent + "  ")
            if inner is None:
                return None
            lines.append(f"{indent}{key}:\n{inner}")
        else:
            return None
    return "".join(lines)


class _Node:
    """The part of a yaml node that the validation above reads: ``tag``, ``value`` and
    ``start_mark.line`` (the node is its own mark: one object a node, not two)."""

    __slots__ = ("line", "tag", "value")

    def __init__(self, tag: str, value: Any, line: int) -> None:
        self.tag = tag
        self.value = value
        self.line = line  # 0-based, as yaml's marks

    @property
    def start_mark(self) -> _Node:
        return self

    def __repr__(self) -> str:
        return f"_Node({self.tag!r}, {self.value!r}, line={self.line})"


def _plain_compose(text: str) -> _Node | None:
    """What yaml.compose makes of ``text`` when it has the form _plain_dump writes (comment
    lines at the top allowed), else None."""
    root = _Node(_MAP_TAG, [], 0)
    stack: list[tuple[int, _Node]] = [(-1, root)]
    maps = [root]
    lines = text.split("\n")
    if lines[-1] != "":
        return None  # (sshjup's files end with a newline)
    header = True
    for number, line in enumerate(lines[:-1]):
        if header and line.startswith("#"):
            continue
        header = False
        match = _PLAIN_KEY_LINE.fullmatch(line)
        if match is None:
            return None
        spaces, key, value = match.groups()
        depth = len(spaces)
        while stack[-1][0] >= depth:
            stack.pop()
        parent_depth, parent = stack[-1]
        if depth != (parent_depth + 2 if parent_depth >= 0 else 0):
            return None
        if not _plain_text(key):
            return None
        if not parent.value:
            parent.line = number  # (yaml marks a block mapping where its first key is)
        key_node = _Node(_STR_TAG, key, number)
        if value is None:
            child = _Node(_MAP_TAG, [], number)
            parent.value.append((key_node, child))
            stack.append((depth, child))
            maps.append(child)
        elif value.isascii() and value.isdigit() and value[0] != "0":
            parent.value.append((key_node, _Node(_INT_TAG, value, number)))
        elif value in ("true", "false"):
            parent.value.append((key_node, _Node(_BOOL_TAG, value, number)))
        elif _plain_text(value):
            parent.value.append((key_node, _Node(_STR_TAG, value, number)))
        else:
            return None
    for node in maps:
        if not node.value:
            return None  # (`key:` with nothing under it is null in YAML; so is an empty file)
    return root


def save(inventory: Inventory, path: Path) -> None:
    fileio.atomic_write(path, dumps(inventory).encode("utf-8"))


__all__ = ["SCHEMA_VERSION", "Inventory", "dumps", "load", "loads", "save", "to_data"]
