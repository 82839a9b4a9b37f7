"""Where things live. The only module that reads the location environment variables.

* ssh config: ``--ssh-config`` > ``$SSHJUP_SSH_CONFIG`` > ``~/.ssh/config``
* state (inventory, locks): ``$SSHJUP_HOME`` > ``click.get_app_dir("sshjup")`` (computed here
  without importing click, with the same rules, so the library stays click-free)
* control sockets: ``$SSHJUP_CONTROL_DIR`` > ``~/.ssh`` for the default config, else the
  directory of the config file given
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

APP_NAME = "sshjup"


def home() -> Path:
    return Path(os.path.expanduser("~"))


def ssh_home() -> Path:
    """The home directory OpenSSH uses: from the password database, not ``$HOME``.

    ``ssh`` reads ``~/.ssh/config`` and expands ``~`` (also in relative Include paths) from
    there, so this decides whether sshjup must pass ``-F``.
    """
    if os.name == "posix":
        import pwd  # noqa: PLC0415 (POSIX only)

        try:
            return Path(pwd.getpwuid(os.getuid()).pw_dir)
        except KeyError:  # pragma: no cover - no passwd entry (some containers)
            pass
    return home()


def default_ssh_config() -> Path:
    """The file ``ssh`` reads when no ``-F`` is given."""
    return ssh_home() / ".ssh" / "config"


def user_ssh_config() -> Path:
    """``~/.ssh/config`` under ``$HOME``: sshjup's default target."""
    return home() / ".ssh" / "config"


def ssh_config_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    if explicit:
        return Path(explicit).expanduser()
    env = os.environ.get("SSHJUP_SSH_CONFIG")
    if env:
        return Path(env).expanduser()
    return user_ssh_config()


def is_default_ssh_config(path: Path) -> bool:
    """True when ``path`` is the file ssh reads without ``-F`` (then sshjup passes no ``-F``)."""
    try:
        return path.expanduser().absolute() == default_ssh_config().absolute()
    except OSError:
        return False


def app_dir() -> Path:
    """The state directory; same rules as ``click.get_app_dir("sshjup")``."""
    env = os.environ.get("SSHJUP_HOME")
    if env:
        return Path(env).expanduser()
    if sys.platform == "win32":
        base = os.environ.get("APPDATA") or str(home())
        return Path(base) / APP_NAME
    if sys.platform == "darwin":
        return home() / "Library" / "Application Support" / APP_NAME
    xdg = os.environ.get("XDG_CONFIG_HOME") or str(home() / ".config")
    return Path(xdg) / APP_NAME


def inventory_path() -> Path:
    return app_dir() / "inventory.yaml"


def control_dir(ssh_config: Path) -> tuple[str, Path]:
    """The ControlPath directory as written in the config, and as a real path to create.

    For the user's own ``~/.ssh/config`` the config says ``~/.ssh`` (portable across machines,
    as ssh expands ``~`` itself). For any other config file, the sockets go beside it, so tests
    and alternative configs never touch the real ``~/.ssh``.
    """
    env = os.environ.get("SSHJUP_CONTROL_DIR")
    if env:
        real = Path(env).expanduser().absolute()
        return str(real), real
    if is_default_ssh_config(ssh_config):
        return "~/.ssh", ssh_home() / ".ssh"
    real = ssh_config.expanduser().absolute().parent
    return str(real), real


__all__ = [
    "APP_NAME",
    "app_dir",
    "control_dir",
    "default_ssh_config",
    "home",
    "ssh_home",
    "user_ssh_config",
    "inventory_path",
    "is_default_ssh_config",
    "ssh_config_path",
]
