#!/usr/bin/env bash
# What the end-to-end tests need from a fresh Debian machine beyond the apt packages
# (openssh-server, openssh-client): the tests start their own throwaway sshd on 127.0.0.1
# with their own keys and config; this script never starts or configures the system sshd.
# Idempotent; safe to run again.
set -euo pipefail

need() {
    if ! command -v "$1" >/dev/null 2>&1 && [ ! -x "$2" ]; then
        echo "setup-sshd: $1 is missing (apt-get install -y $3)" >&2
        exit 1
    fi
}
need sshd /usr/sbin/sshd openssh-server
need ssh /usr/bin/ssh openssh-client
need ssh-keygen /usr/bin/ssh-keygen openssh-client

if [ "$(id -u)" -eq 0 ]; then
    # sshd running as root needs its privilege-separation directory; /run is a tmpfs, so it
    # is gone after every boot (the Debian package creates it only when its service starts).
    mkdir -p /run/sshd
    chmod 0755 /run/sshd
    # ...and the unprivileged user it drops to before authentication.
    if ! getent passwd sshd >/dev/null; then
        useradd --system --no-create-home --home-dir /run/sshd --shell /usr/sbin/nologin sshd
    fi
else
    echo "setup-sshd: not root; tests will run sshd as $(id -un) (only that user can log in)" >&2
fi

# Loopback must resolve: the tunnel forwards to "localhost" on the sshd side.
if ! getent hosts localhost >/dev/null; then
    echo "setup-sshd: 'localhost' does not resolve; add '127.0.0.1 localhost' to /etc/hosts" >&2
    exit 1
fi

/usr/sbin/sshd -V 2>&1 | head -n 1 || ssh -V
