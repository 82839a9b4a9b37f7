"""The local URL of a Jupyter behind the tunnel (pure; a module of its own so that
``sshjup url``, the command editor plugins call most, need not import the script renderers of
:mod:`sshjup.jupyter.scripts`, which re-exports what is here)."""

from __future__ import annotations

from urllib.parse import quote

from sshjup.errors import InvalidInput
from sshjup.models import validate_port

LOOPBACK = "127.0.0.1"
_UI_PATHS = {"lab": "lab", "notebook": "tree", "server": ""}


def local_url(
    local_port: int,
    token: str | None,
    *,
    kind: str = "server",
    base_url: str = "/",
) -> str:
    """The URL on this machine's end of the tunnel.

    ``kind="server"`` gives the server root, ``http://127.0.0.1:8888/?token=T`` (what an editor's
    "existing Jupyter server" box wants); ``"lab"`` opens JupyterLab (``/lab?token=T``),
    ``"notebook"`` the Notebook 7 tree (``/tree?token=T``). No token (password mode): no query.
    """
    validate_port(local_port, "local port")
    if kind not in _UI_PATHS:
        msg = f"unknown Jupyter kind {kind!r}"
        raise InvalidInput(msg, hint="use lab, notebook or server")
    base = "/" + base_url.strip("/") + "/" if base_url.strip("/") else "/"
    url = f"http://{LOOPBACK}:{local_port}{base}{_UI_PATHS[kind]}"
    if token:
        url += "?token=" + quote(token, safe="")
    return url


__all__ = ["LOOPBACK", "local_url"]
