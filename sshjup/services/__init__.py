"""Per-user services that run ``sshjup keep NAME`` at login (issue 8).

:mod:`~sshjup.services.render` renders the service definitions (a systemd user unit, a launchd
agent, a Task Scheduler task) as pure functions; :mod:`~sshjup.services.install` writes them
through the one writer (:mod:`sshjup.store.fileio`) and asks the platform's own tool to load
them (``systemctl --user``, ``launchctl``, ``schtasks``) through :mod:`sshjup.proc`.

May import: :mod:`sshjup.store`, :mod:`sshjup.proc`, :mod:`sshjup.models`,
:mod:`sshjup.errors`. Never imports click.
"""
