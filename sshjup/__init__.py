"""sshjup: a Jupyter tunnel that plain `ssh ALIAS` and a PuTTY saved session both open.

The public library surface, for editor plugins and scripts written in Python, is the names in
``__all__`` below and nothing else (docs/library.md documents each one). Everything else,
``sshjup.hosts`` and the packages under it included, is internal and may change in any release.

``import sshjup`` is cheap: each name is imported on first use, so a plugin that only asks for
``sshjup.url(...)`` never pays for PuTTY, doctor or the CLI.

Example::

    import sshjup

    where = sshjup.Where.locate()            # ~/.ssh/config and the inventory
    print([t.name for t in sshjup.list_targets(where)])
    sshjup.tunnel_up(where, "gpu")
    print(sshjup.url(where, "gpu").url)      # http://127.0.0.1:8888/?token=...
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

# name -> the module that defines it ("module:attribute" where the public name differs).
# The one list of what sshjup offers as a library.
_PUBLIC: dict[str, str] = {
    # where the files are, and the model
    "Where": "sshjup.hosts",
    "Target": "sshjup.models",
    "Forward": "sshjup.models",
    "JupyterSpec": "sshjup.models",
    # managed hosts: read, change (each returns a ChangeResult; dry_run gives the diff)
    "ChangeResult": "sshjup.hosts",
    "list_targets": "sshjup.hosts",
    "get_target": "sshjup.hosts",
    "show_target": "sshjup.hosts",
    "add_target": "sshjup.hosts",
    "edit_target": "sshjup.hosts",
    "remove_target": "sshjup.hosts",
    "load_inventory_file": "sshjup.hosts",
    "apply_inventory": "sshjup.hosts",
    "export_inventory": "sshjup.hosts",
    # the background tunnel
    "tunnel_up": "sshjup.hosts",
    "tunnel_down": "sshjup.hosts",
    "tunnel_status": "sshjup.hosts",
    # Jupyter on the remote, URLs and tokens
    "url": "sshjup.jupyter.service",
    "UrlResult": "sshjup.jupyter.service",
    "jupyter_start": "sshjup.jupyter.service:start",
    "jupyter_stop": "sshjup.jupyter.service:stop",
    "jupyter_status": "sshjup.jupyter.service:status",
    "token_get": "sshjup.jupyter.service",
    # diagnosis
    "run_checks": "sshjup.doctor",
    "Check": "sshjup.doctor",
    # errors: every failure is an SshjupError with .message, .hint and .exit_code
    "SshjupError": "sshjup.errors",
    "InvalidInput": "sshjup.errors",
    "NotFound": "sshjup.errors",
    "Conflict": "sshjup.errors",
}

TYPE_CHECKING = False  # (typing's costs `sshjup add` ~4 ms to import; mypy takes it as True)
if TYPE_CHECKING:
    from typing import Any

    from sshjup.doctor import Check, run_checks
    from sshjup.errors import Conflict, InvalidInput, NotFound, SshjupError
    from sshjup.hosts import (
        ChangeResult,
        Where,
        add_target,
        apply_inventory,
        edit_target,
        export_inventory,
        get_target,
        list_targets,
        load_inventory_file,
        remove_target,
        show_target,
        tunnel_down,
        tunnel_status,
        tunnel_up,
    )
    from sshjup.jupyter.service import UrlResult, token_get, url
    from sshjup.jupyter.service import start as jupyter_start
    from sshjup.jupyter.service import status as jupyter_status
    from sshjup.jupyter.service import stop as jupyter_stop
    from sshjup.models import Forward, JupyterSpec, Target


def __getattr__(name: str) -> Any:
    where = _PUBLIC.get(name)
    if where is None:
        msg = f"module 'sshjup' has no attribute {name!r}"
        raise AttributeError(msg)
    module, _, attribute = where.partition(":")
    value = getattr(importlib.import_module(module), attribute or name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_PUBLIC])


__all__ = [
    "ChangeResult",
    "Check",
    "Conflict",
    "Forward",
    "InvalidInput",
    "JupyterSpec",
    "NotFound",
    "SshjupError",
    "Target",
    "UrlResult",
    "Where",
    "__version__",
    "add_target",
    "apply_inventory",
    "edit_target",
    "export_inventory",
    "get_target",
    "jupyter_start",
    "jupyter_status",
    "jupyter_stop",
    "list_targets",
    "load_inventory_file",
    "remove_target",
    "run_checks",
    "show_target",
    "token_get",
    "tunnel_down",
    "tunnel_status",
    "tunnel_up",
    "url",
]
