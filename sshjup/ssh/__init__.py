"""Everything OpenSSH: config text, placement, capabilities, resolution and tunnels.

:mod:`~sshjup.ssh.sshconfig` renders a Host block and edits sshjup's marked section of an
ssh config as text (a pure module, the only importer of sshconf);
:mod:`~sshjup.ssh.openssh` asks the installed client what it can do (``ssh -V``) and what an
alias resolves to (``ssh -G``); :mod:`~sshjup.ssh.tunnel` starts, checks and stops a tunnel
through its control socket; :mod:`~sshjup.ssh.reconcile` brings running tunnels in step with
an inventory change; :mod:`~sshjup.ssh.keep` is the ``sshjup keep`` supervisor.

May import: :mod:`sshjup.store`, :mod:`sshjup.proc`, :mod:`sshjup.models`,
:mod:`sshjup.errors`. Never imports click, the PuTTY or Jupyter packages, or the façades.
"""
