"""Does a Jupyter answer through the tunnel? One HTTP request to the local end, with a timeout.

``sshjup open`` and ``sshjup url`` ask before they hand out a URL: a URL on a dead port opens an
empty browser tab and exits 0. ``GET /api`` answers ``{"version": ...}`` without a token on every
jupyter_server; anything else means the tunnel is down, reaches nothing, or reaches another program.
"""

from __future__ import annotations

import http.client
import json

from sshjup.errors import JupyterUnreachable
from sshjup.models import Target

LOOPBACK = "127.0.0.1"
PROBE_TIMEOUT = 5.0


def _fixes(target: Target) -> str:
    return f"start it with `sshjup jupyter start {target.name}`"


def check_jupyter_answers(
    target: Target, *, tunnel_up: bool, timeout: float = PROBE_TIMEOUT
) -> None:
    """Raise :class:`JupyterUnreachable` (naming the command to run) unless Jupyter answers.

    ``tunnel_up``: the caller has just brought the tunnel up (``open``); a refused connection
    then means the forward failed, not that the tunnel is down.
    """
    port = target.local_port
    where = f"{LOOPBACK}:{port}"
    conn = http.client.HTTPConnection(LOOPBACK, port, timeout=timeout)
    try:
        conn.request("GET", "/api", headers={"Accept": "application/json"})
        response = conn.getresponse()
        body = response.read(4096)
        status = response.status
        server = response.getheader("Server") or ""
    except ConnectionRefusedError:
        if tunnel_up:
            msg = f"nothing listens on {where}, the local end of {target.alias}"
            raise JupyterUnreachable(
                msg, hint=f"check the tunnel with `sshjup status {target.name}`"
            ) from None
        msg = f"nothing listens on {where}: the tunnel {target.alias} is not up"
        hint = (
            f"open it with `sshjup up {target.name}` (or `ssh {target.alias}`), and if no Jupyter "
            f"runs on the remote, {_fixes(target)}"
        )
        raise JupyterUnreachable(msg, hint=hint) from None
    except (OSError, http.client.HTTPException):
        # ssh accepted the connection, but its forward to the remote port reached nothing
        # (ssh closes the channel), or the far end does not speak HTTP within the timeout.
        msg = (
            f"no Jupyter answers through {target.alias} "
            f"({where} -> remote port {target.remote_port})"
        )
        raise JupyterUnreachable(msg, hint=_fixes(target)) from None
    finally:
        conn.close()
    try:
        answer = json.loads(body)
    except ValueError:
        answer = None
    if server.startswith("TornadoServer"):
        return  # Jupyter's web server; under a --ServerApp.base_url, /api itself is a 404
    if status != 200 or not isinstance(answer, dict) or "version" not in answer:  # noqa: PLR2004
        msg = (
            f"{where} answers HTTP {status}, but not as a Jupyter server "
            f"(GET /api gives no version)"
        )
        hint = (
            f"another program may hold local port {port}: pick another with "
            f"`sshjup edit {target.name} --local-port PORT`, or {_fixes(target)}"
        )
        raise JupyterUnreachable(msg, hint=hint)


__all__ = ["PROBE_TIMEOUT", "check_jupyter_answers"]
