"""Write, load, unload and look at the per-user service for ``sshjup keep NAME``.

The file goes through the one writer (:func:`sshjup.store.fileio.atomic_write`); the platform's
own tool loads it (through :mod:`sshjup.proc`). When that tool is missing or refuses (no user
session bus, say), the file is still written and the command to run is given back as a line
for people: sshjup never half-pretends a service runs.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from sshjup import proc
from sshjup.errors import InvalidInput, ToolMissing
from sshjup.records import dataclass, field
from sshjup.services import render
from sshjup.store import fileio

_TOOL_TIMEOUT = 30.0


@dataclass
class ServicePlan:
    """One service: where its file goes, what it says, how the platform loads and unloads it."""

    platform: str
    name: str
    path: Path
    data: bytes
    load: list[list[str]] = field(default_factory=list)
    unload: list[list[str]] = field(default_factory=list)
    state: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        encoding = "utf-16" if self.platform == "windows" else "utf-8"
        return self.data.decode(encoding)


def current_platform() -> str:
    if sys.platform == "darwin":
        return "macos"
    if sys.platform.startswith("win"):
        return "windows"
    return "linux"


def keep_argv(name: str) -> list[str]:
    """How the service starts keep: the installed ``sshjup`` script, else this Python."""
    script = shutil.which("sshjup")
    if script:
        return [str(Path(script).absolute()), "keep", name]
    return [sys.executable, "-m", "sshjup", "keep", name]


def _config_home() -> Path:
    env = os.environ.get("XDG_CONFIG_HOME")
    return Path(env) if env else Path.home() / ".config"


def plan(name: str, platform: str | None = None, argv: list[str] | None = None) -> ServicePlan:
    """What ``service install NAME`` writes and runs, for ``platform`` (default: this one)."""
    platform = platform or current_platform()
    argv = argv or keep_argv(name)
    if platform == "linux":
        unit = render.unit_name(name)
        return ServicePlan(
            platform,
            name,
            _config_home() / "systemd" / "user" / unit,
            render.systemd_unit(name, argv).encode("utf-8"),
            load=[
                ["systemctl", "--user", "daemon-reload"],
                ["systemctl", "--user", "enable", "--now", unit],
            ],
            unload=[
                ["systemctl", "--user", "disable", "--now", unit],
                ["systemctl", "--user", "daemon-reload"],
            ],
            state=["systemctl", "--user", "is-active", unit],
        )
    if platform == "macos":
        label = render.agent_label(name)
        path = Path.home() / "Library" / "LaunchAgents" / f"{label}.plist"
        log = str(Path.home() / "Library" / "Logs" / f"{label}.log")
        domain = f"gui/{os.getuid()}" if hasattr(os, "getuid") else "gui/501"
        return ServicePlan(
            platform,
            name,
            path,
            render.launchd_plist(name, argv, log),
            load=[["launchctl", "bootstrap", domain, str(path)]],
            unload=[["launchctl", "bootout", f"{domain}/{label}"]],
            state=["launchctl", "print", f"{domain}/{label}"],
        )
    if platform == "windows":
        task = render.task_name(name)
        appdata = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        path = Path(appdata) / "sshjup" / f"{task}.xml"
        return ServicePlan(
            platform,
            name,
            path,
            render.task_xml(name, argv).encode("utf-16"),
            load=[
                ["schtasks", "/Create", "/TN", task, "/XML", str(path), "/F"],
                ["schtasks", "/Run", "/TN", task],
            ],
            unload=[["schtasks", "/End", "/TN", task], ["schtasks", "/Delete", "/TN", task, "/F"]],
            state=["schtasks", "/Query", "/TN", task],
        )
    msg = f"unknown platform {platform!r}"
    raise InvalidInput(msg, hint=f"use one of: {', '.join(render.PLATFORMS)}")


def _run_all(commands: list[list[str]]) -> list[str]:
    """Run each command; lines for people. The first that cannot run stops the rest."""
    said = []
    for argv in commands:
        shown = " ".join(argv)
        try:
            result = proc.run(argv, timeout=_TOOL_TIMEOUT)
        except ToolMissing:
            said.append(f"{argv[0]} is not available here: run `{shown}` where it is")
            return said
        if result.returncode != 0:
            last = (result.stderr.strip().splitlines() or ["no message"])[-1]
            said.append(f"`{shown}` failed ({last}); run it yourself once the problem is fixed")
            return said
        said.append(f"ran `{shown}`")
    return said


def install(service: ServicePlan, *, enable: bool = True) -> list[str]:
    fileio.ensure_dir(service.path.parent)
    fileio.atomic_write(service.path, service.data, backup=False, new_mode=0o644)
    said = [f"wrote {service.path}"]
    if enable:
        said += _run_all(service.load)
    else:
        said.append(
            "to start it now and at every login: " + "; ".join(" ".join(c) for c in service.load)
        )
    return said


def uninstall(service: ServicePlan, *, disable: bool = True) -> list[str]:
    said = _run_all(service.unload) if disable else []
    if fileio.read_bytes(service.path) is None:
        said.append(f"{service.path} does not exist: nothing to remove")
        return said
    fileio.delete_file(service.path, backup=False)
    said.append(f"removed {service.path}")
    return said


def status(service: ServicePlan) -> tuple[bool, list[str]]:
    """(installed, lines): the file, and what the platform's tool says about the service."""
    installed = fileio.read_bytes(service.path) is not None
    said = [f"{service.path}: {'installed' if installed else 'not installed'}"]
    try:
        result = proc.run(service.state, timeout=_TOOL_TIMEOUT)
        answer = (result.stdout.strip() or result.stderr.strip() or "no answer").splitlines()
        said.append(f"{' '.join(service.state)}: {answer[0]}")
    except ToolMissing:
        said.append(f"{service.state[0]} is not available here")
    return installed, said


__all__ = ["ServicePlan", "current_platform", "install", "keep_argv", "plan", "status", "uninstall"]
