"""PuTTY saved sessions: the same tunnel as ``ssh jup-NAME`` from PuTTY's "Load" button.

Callers use :mod:`sshjup.putty.sync` (plan, apply, remove, export) and
:func:`sshjup.putty.store.get_store`; the other modules are its parts:

* ``escape``: session names as registry keys (Windows) and file names (Unix);
* ``settings``: pure renderer, Target -> session values; known_hosts fingerprints;
* ``store``/``unix``/``windows``: the session store per platform (registry behind a seam);
* ``regfile``: ``.reg`` export; ``keys``: ``.ppk`` conversion with puttygen.
"""

from __future__ import annotations

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
