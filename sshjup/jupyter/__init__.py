"""Jupyter on the remote: the scripts, the runner that sends them over ssh, and the façade.

:mod:`~sshjup.jupyter.scripts` renders the POSIX shell scripts run on the remote and parses
what they print (pure: no process, no file); :mod:`~sshjup.jupyter.remote` runs them through
the alias (``ssh -o SessionType=default -o ClearAllForwardings=yes``, secrets on stdin);
:mod:`~sshjup.jupyter.service` is the façade the CLI calls: set up, start, stop, status, URLs
and tokens for one managed host. Remote kernels: :mod:`~sshjup.jupyter.kernels` (pure: scripts,
connection file, names, Jupyter dirs) and :mod:`~sshjup.jupyter.kernelops` (start, list, attach,
stop them through the alias's master; the ``jup-NAME`` kernelspec), and
:mod:`~sshjup.jupyter.launcher` (``sshjup kernel run``, the launcher that kernelspec runs).

May import: :mod:`sshjup.hosts`, :mod:`sshjup.ssh`, :mod:`sshjup.store`, :mod:`sshjup.proc`,
:mod:`sshjup.models`, :mod:`sshjup.errors`. Never imports click.
"""
