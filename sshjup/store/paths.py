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

from sshjup.errors import InvalidInput

APP_NAME = "sshjup"


def _usable(path: Path, what: str) -> Path:
    """Refuse a path the file system cannot take (a NUL, a lone surrogate) with exit 2."""
    try:
        if "\0" in os.fspath(path):
            raise ValueError
        os.fsencode(path)
    except (UnicodeEncodeError, ValueError):
        msg = f"{what}: the path {str(path)!r} cannot be used on this system"
        raise InvalidInput(msg, hint="give the path as the file system spells it") from None
    return path


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
        return _in_cwd(_usable(Path(explicit).expanduser(), "--ssh-config"), "--ssh-config")
    env = os.environ.get("SSHJUP_SSH_CONFIG")
    if env:
        path = _usable(Path(env).expanduser(), "SSHJUP_SSH_CONFIG")
        return _in_cwd(path, "SSHJUP_SSH_CONFIG")
    return user_ssh_config()


def _in_cwd(path: Path, what: str) -> Path:
    """Refuse a relative path while the current directory is gone (deleted, or no longer
    reachable): there is no file it could name. Exit 2, before anything is read or written."""
    if path.is_absolute():
        return path
    try:
        Path.cwd()
    except OSError as err:  # (FileNotFoundError once the directory was deleted)
        msg = (
            f"{what}: the relative path {str(path)!r} cannot be found: the current "
            f"directory no longer exists ({err.strerror or err})"
        )
        hint = "cd to a directory that exists, or give the ssh config's absolute path"
        raise InvalidInput(msg, hint=hint) from None
    return path


def ssh_config_chosen() -> bool:
    """True when ``$SSHJUP_SSH_CONFIG`` names the config (the user chose a file on purpose)."""
    return bool(os.environ.get("SSHJUP_SSH_CONFIG"))


def is_default_ssh_config(path: Path) -> bool:
    """True when ``path`` is the file ssh reads without ``-F`` (then sshjup passes no ``-F``)."""
    try:
        return path.expanduser().absolute() == default_ssh_config().absolute()
    except OSError:
        return False


def ssh_command(alias: str, ssh_config: Path, *options: str) -> str:
    """The ``ssh`` command line a user types for ``alias``: with ``-F FILE`` unless ``ssh_config``
    is the file ssh reads by itself (a hint that leaves ``-F`` out sends the user elsewhere)."""
    import shlex  # noqa: PLC0415

    words = ["ssh", *options]
    if not is_default_ssh_config(ssh_config):
        words += ["-F", str(ssh_config)]
    return " ".join(shlex.quote(w) for w in [*words, alias])


def sshjup_command(ssh_config: Path, *words: str) -> str:
    """The ``sshjup`` command line a user types (a hint): with ``--ssh-config FILE`` unless
    ``ssh_config`` is the user's own ``~/.ssh/config`` (what sshjup uses without it), so the
    command acts on the config the hint came from."""
    import shlex  # noqa: PLC0415

    argv = ["sshjup", *words]
    if not is_users_config(ssh_config):
        argv += ["--ssh-config", str(ssh_config)]
    return " ".join(shlex.quote(w) for w in argv)


def app_dir() -> Path:
    """The state directory; same rules as ``click.get_app_dir("sshjup")``."""
    env = os.environ.get("SSHJUP_HOME")
    if env:
        return _usable(Path(env).expanduser(), "SSHJUP_HOME")
    if sys.platform == "win32":
        base = os.environ.get("APPDATA") or str(home())
        return Path(base) / APP_NAME
    if sys.platform == "darwin":
        return home() / "Library" / "Application Support" / APP_NAME
    xdg = os.environ.get("XDG_CONFIG_HOME") or str(home() / ".config")
    return Path(xdg) / APP_NAME


LEGACY_INVENTORY = "inventory.yaml"


def inventory_path(ssh_config: Path | None = None) -> Path:
    """The inventory of one ssh config: each config has its own, so ``--ssh-config A`` and
    ``--ssh-config B`` never write each other's hosts.

    The user's own ``~/.ssh/config`` keeps ``inventory.yaml`` (the one file older versions
    had); any other config has ``inventories/<file name>-<16 hex digits>.yaml``, keyed by a
    digest of the config's real path (symlinks followed).
    """
    config = ssh_config_path() if ssh_config is None else ssh_config
    if is_users_config(config):
        return app_dir() / LEGACY_INVENTORY
    from sshjup.store.digest import sha256  # noqa: PLC0415

    real = os.path.realpath(config.expanduser().absolute())
    digest = sha256(os.fsencode(real)).hexdigest()[:16]
    stem = "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "_" for c in config.name)
    return app_dir() / "inventories" / f"{stem[:40] or 'config'}-{digest}.yaml"


def is_users_config(config: Path) -> bool:
    """``~/.ssh/config`` (under ``$HOME`` or the password database's home)."""
    try:
        absolute = config.expanduser().absolute()
    except OSError:  # pragma: no cover - no working directory
        return False
    return absolute in (user_ssh_config().absolute(), default_ssh_config().absolute())


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
    "is_users_config",
    "ssh_command",
    "ssh_config_chosen",
    "sshjup_command",
    "ssh_config_path",
]
