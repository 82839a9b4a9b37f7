"""What a doctor check is: :class:`Check`, its statuses, its documented details, the report.

The bottom of :mod:`sshjup.doctor`: every check module imports this one, and nothing else of
the package.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from sshjup.models import name_from_alias
from sshjup.records import dataclass, field, replace

if TYPE_CHECKING:
    pass


Status = Literal["pass", "warn", "fail"]
STATUSES: tuple[Status, ...] = ("pass", "warn", "fail")
SECTION_LINES = (
    "sshjup's section (from `# >>> sshjup managed section` to `# <<< sshjup end of managed "
    "section`)"
)
REWRITE_FIX = (
    "rewrite it from the inventory: `sshjup export > tunnels.yaml && sshjup apply tunnels.yaml`"
)


@dataclass(frozen=True)
class Check:
    """One finding. ``to_json()`` is the stable shape of ``sshjup doctor --json``."""

    id: str
    status: Status
    summary: str
    fix: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "summary": self.summary,
            "fix": self.fix,
            "details": self.details,
        }


# The keys of ``details`` for each kind of check (the part of ``id`` before ``:``): always all
# of them, ``null`` (or empty) when not known. docs/json.md documents them; a test checks both.
DETAIL_KEYS: dict[str, tuple[str, ...]] = {
    "openssh": ("version", "version_text", "features", "debian_patched"),
    "inventory": ("path", "hosts"),
    "config.read": ("path",),
    "config.parse": ("path", "exists", "command", "error"),
    "home": ("home", "ssh_home", "ssh_reads", "alias", "resolved_hostname"),
    "config.permissions": ("path", "mode", "owner_uid", "verdict", "checked_by_ssh"),
    "ssh_dir.permissions": ("path", "mode", "owner_uid"),
    "section": ("path", "begin_line", "end_line", "state"),
    "resolve": ("host", "alias", "expected", "resolved", "overrides", "error"),
    "key": ("host", "path", "mode"),
    "control": (
        "host",
        "alias",
        "control_path",
        "control_master",
        "socket_exists",
        "running",
        "pid",
        "port_open",
    ),
    "port": ("host", "ports"),
    "putty": ("host", "session", "location", "state", "changes"),
    "ppk": ("host", "ppk", "identity_file"),
    "keyring": ("backend", "tokens"),
    "remote": ("host", "alias"),
    "jupyter": ("host", "alias", "kind", "path", "server_version", "app_version"),
    "server": ("host", "alias", "remote_port", "running", "servers"),
    "job": ("host", "alias", "job_id", "state", "node", "time_left"),
    "host": ("host",),
}
_EMPTY_LISTS = {"hosts", "overrides", "changes", "servers", "ports"}
_EMPTY_DICTS = {"features", "tokens"}


def kind_of(check_id: str) -> str:
    """``resolve:gpu`` -> ``resolve``; ``config.parse`` -> ``config.parse``."""
    return check_id.partition(":")[0]


def normalised(check: Check) -> Check:
    """Every documented details key present; a fix for everything that does not pass."""
    keys = DETAIL_KEYS.get(kind_of(check.id), ())
    details: dict[str, Any] = {}
    for key in keys:
        default: Any = [] if key in _EMPTY_LISTS else {} if key in _EMPTY_DICTS else None
        details[key] = check.details.get(key, default)
    details.update({k: v for k, v in check.details.items() if k not in details})
    host = check.id.partition(":")[2]
    if "host" in keys and details["host"] is None and host:
        details["host"] = host
    fix = check.fix
    if check.status != "pass" and not fix:
        fix = f"see the `{kind_of(check.id)}` check in docs/troubleshooting.md"
    return replace(check, fix=fix, details=details)


def report_json(checks: list[Check]) -> dict[str, Any]:
    """The whole ``sshjup doctor --json`` document."""
    counts = {s: sum(1 for c in checks if c.status == s) for s in STATUSES}
    return {
        "ok": counts["fail"] == 0,
        "counts": counts,
        "checks": [c.to_json() for c in checks],
    }


Progress = Callable[[str], None]


def host_of(check: Check) -> str | None:
    """The managed host a check is about (``None`` for the global checks)."""
    _, sep, name = check.id.partition(":")
    return name_from_alias(name) if sep else None
