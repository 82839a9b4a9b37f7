"""PuTTY saved sessions: the same tunnel as ``ssh jup-NAME`` from PuTTY's "Load" button.

Callers use :mod:`sshjup.putty.sync` (plan, apply, remove, export) and
:func:`sshjup.putty.store.get_store`; the other modules are its parts:

* ``escape``: session names as registry keys (Windows) and file names (Unix);
* ``settings``: pure renderer, Target -> session values; known_hosts fingerprints;
* ``store``/``unix``/``windows``: the session store per platform (registry behind a seam);
* ``regfile``: ``.reg`` export; ``keys``: ``.ppk`` conversion with puttygen.
"""

from __future__ import annotations

TYPE_CHECKING = False  # (typing's costs `sshjup add` ~4 ms to import; mypy takes it as True)
if TYPE_CHECKING:
    from typing import Any

    from sshjup.putty.store import SessionStore, get_store, settings_digest, store_exists
    from sshjup.putty.sync import (
        RegExport,
        SessionPlan,
        apply_session,
        export_reg,
        plan_session,
        remove_session,
        session_state,
    )

# Loaded on first use: `sshjup add` asks sshjup.putty.store whether PuTTY is here at all, and
# should not pay for importing the whole package (keys, settings, sync) to hear "no".
_HOMES = {
    "SessionStore": "store",
    "get_store": "store",
    "settings_digest": "store",
    "store_exists": "store",
    "RegExport": "sync",
    "SessionPlan": "sync",
    "apply_session": "sync",
    "export_reg": "sync",
    "plan_session": "sync",
    "remove_session": "sync",
    "session_state": "sync",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        msg = f"module {__name__!r} has no attribute {name!r}"
        raise AttributeError(msg)
    import importlib  # noqa: PLC0415

    return getattr(importlib.import_module(f"{__name__}.{home}"), name)


__all__ = [
    "RegExport",
    "SessionPlan",
    "SessionStore",
    "apply_session",
    "export_reg",
    "get_store",
    "plan_session",
    "remove_session",
    "session_state",
    "settings_digest",
    "store_exists",
]
