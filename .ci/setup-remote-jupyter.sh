#!/usr/bin/env bash
# Prepare this machine to play the "remote" side of sshjup's end-to-end Jupyter tests.
#
# Creates an unprivileged login account (Jupyter refuses to run as root) and a Python virtual
# environment with jupyter_server that this account can run. The venv lives outside root's home
# (an unprivileged account cannot traverse /root). Idempotent: run it as often as you like.
#
# Run as root on Debian 12 (CI calls it from .ci/run). Environment overrides:
#   SSHJUP_REMOTE_USER   account name          (default: sshjup-remote)
#   SSHJUP_REMOTE_VENV   virtual environment   (default: /opt/sshjup-remote-venv)
# The tests find the account and the venv through SSHJUP_TEST_REMOTE_USER and
# SSHJUP_TEST_REMOTE_JUPYTER (default: <venv>/bin/jupyter).
set -euo pipefail

user="${SSHJUP_REMOTE_USER:-sshjup-remote}"
venv="${SSHJUP_REMOTE_VENV:-/opt/sshjup-remote-venv}"

if [ "$(id -u)" -ne 0 ]; then
    echo "setup-remote-jupyter: run this as root" >&2
    exit 1
fi

# /usr/bin/python3 -m venv needs Debian's python3-venv (ensurepip).
if ! /usr/bin/python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq python3-venv >/dev/null
fi

# The account: a home directory, a login shell, no password (key-only logins through the
# test sshd). useradd leaves the password field "!" (locked), and OpenSSH refuses logins to a
# locked account even with a key; "*" means "no password can match" but is not locked.
if ! id -u "$user" >/dev/null 2>&1; then
    useradd --create-home --shell /bin/sh --user-group "$user"
fi
usermod -p '*' "$user"
home="$(getent passwd "$user" | cut -d: -f6)"
install -d -m 0755 -o "$user" -g "$(id -gn "$user")" "$home"

# The venv: owned by root, readable and runnable by everyone, outside root's home.
# ipykernel: the remote kernels of `sshjup kernel start` (jupyter_client's `jupyter kernel`).
if [ ! -x "$venv/bin/jupyter-server" ] || ! "$venv/bin/python" -c 'import ipykernel' 2>/dev/null; then
    /usr/bin/python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check jupyter_server ipykernel
fi
chmod -R a+rX "$venv"

# Check the account can run it (as the tests will, through sshd).
if command -v runuser >/dev/null 2>&1; then
    runuser -u "$user" -- "$venv/bin/jupyter" server --version >/dev/null
fi
echo "setup-remote-jupyter: $user can run $venv/bin/jupyter ($("$venv/bin/jupyter" server --version))"
