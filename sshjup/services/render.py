"""Service definitions for ``sshjup keep NAME``, rendered as text (pure: no I/O)."""

from __future__ import annotations

import plistlib
from collections.abc import Sequence
from xml.sax.saxutils import escape

from sshjup.models import validate_name

TASK_NS = "http://schemas.microsoft.com/windows/2004/02/mit/task"
PLATFORMS = ("linux", "macos", "windows")


def unit_name(name: str) -> str:
    """``sshjup-NAME.service`` (systemd)."""
    return f"sshjup-{validate_name(name)}.service"


def agent_label(name: str) -> str:
    """``org.sshjup.keep.NAME`` (launchd label, also the plist's file name stem)."""
    return f"org.sshjup.keep.{validate_name(name)}"


def task_name(name: str) -> str:
    """``sshjup-NAME`` (Task Scheduler)."""
    return f"sshjup-{validate_name(name)}"


def _systemd_word(word: str) -> str:
    """One ExecStart word: double-quoted, with systemd's specifiers and variables escaped."""
    text = word.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%").replace("$", "$$")
    return f'"{text}"'


def systemd_unit(name: str, argv: Sequence[str]) -> str:
    """A systemd user unit that runs ``argv`` (``sshjup keep NAME``) at login, restarting it."""
    exec_start = " ".join(_systemd_word(w) for w in argv)
    return (
        "[Unit]\n"
        f"Description=sshjup: keep the tunnel jup-{validate_name(name)} up\n"
        "After=network-online.target\n"
        "Wants=network-online.target\n"
        "\n"
        "[Service]\n"
        "Type=simple\n"
        f"ExecStart={exec_start}\n"
        # keep exits 0 when told to stop and 9 when the tunnel needs a person: do not loop on 9.
        "Restart=on-failure\n"
        "RestartSec=10\n"
        "RestartPreventExitStatus=9\n"
        "\n"
        "[Install]\n"
        "WantedBy=default.target\n"
    )


def launchd_plist(name: str, argv: Sequence[str], log_path: str) -> bytes:
    """A launchd agent (``~/Library/LaunchAgents/LABEL.plist``) running ``argv`` at login."""
    return plistlib.dumps(
        {
            "Label": agent_label(name),
            "ProgramArguments": list(argv),
            "RunAtLoad": True,
            "KeepAlive": {"SuccessfulExit": False},
            "ThrottleInterval": 10,
            "StandardOutPath": log_path,
            "StandardErrorPath": log_path,
        },
        sort_keys=True,
    )


def windows_command_line(argv: Sequence[str]) -> str:
    """Join words the way the Microsoft C runtime splits them again (pure).

    A word with a space, tab or quote (or an empty one) is double-quoted; backslashes before a
    quote, or before the closing quote, are doubled, and the quote is escaped.
    """
    out = []
    for word in argv:
        if word and not any(c in word for c in ' \t"'):
            out.append(word)
            continue
        quoted, backslashes = ['"'], 0
        for char in word:
            if char == "\\":
                backslashes += 1
                continue
            if char == '"':
                quoted.append("\\" * (2 * backslashes + 1) + '"')
            else:
                quoted.append("\\" * backslashes + char)
            backslashes = 0
        quoted.append("\\" * (2 * backslashes) + '"')
        out.append("".join(quoted))
    return " ".join(out)


def task_xml(name: str, argv: Sequence[str]) -> str:
    """A Task Scheduler task (schema 1.2) that runs ``argv`` at this user's logon.

    Registered with ``schtasks /Create /TN sshjup-NAME /XML FILE`` (the file in UTF-16).
    """
    command = escape(argv[0])
    arguments = escape(windows_command_line(argv[1:]))
    return f"""<?xml version="1.0" encoding="UTF-16"?>
<Task version="1.2" xmlns="{TASK_NS}">
  <RegistrationInfo>
    <Description>sshjup: keep the tunnel jup-{validate_name(name)} up</Description>
  </RegistrationInfo>
  <Triggers>
    <LogonTrigger>
      <Enabled>true</Enabled>
    </LogonTrigger>
  </Triggers>
  <Principals>
    <Principal id="Author">
      <LogonType>InteractiveToken</LogonType>
      <RunLevel>LeastPrivilege</RunLevel>
    </Principal>
  </Principals>
  <Settings>
    <MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy>
    <DisallowStartIfOnBatteries>false</DisallowStartIfOnBatteries>
    <StopIfGoingOnBatteries>false</StopIfGoingOnBatteries>
    <ExecutionTimeLimit>PT0S</ExecutionTimeLimit>
    <RestartOnFailure>
      <Interval>PT1M</Interval>
      <Count>999</Count>
    </RestartOnFailure>
    <Enabled>true</Enabled>
  </Settings>
  <Actions Context="Author">
    <Exec>
      <Command>{command}</Command>
      <Arguments>{arguments}</Arguments>
    </Exec>
  </Actions>
</Task>
"""


__all__ = [
    "PLATFORMS",
    "TASK_NS",
    "agent_label",
    "launchd_plist",
    "systemd_unit",
    "task_name",
    "task_xml",
    "unit_name",
    "windows_command_line",
]
