#!/usr/bin/env bash
# Install a single-node Slurm for the end-to-end tests (idempotent; run as root).
#
# Only the packages and a munge key: the tests (tests/support/slurm.py) write their own
# slurm.conf in a temp dir and start and stop munged, slurmctld and slurmd themselves, so
# nothing is left running. Debian's packages do not start the daemons without systemd.
set -euo pipefail

if command -v apt-get >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        slurm-wlm munge >/dev/null
fi

key=/etc/munge/munge.key
if [ ! -s "$key" ]; then
    install -d -o munge -g munge -m 0700 /etc/munge
    dd if=/dev/urandom of="$key" bs=1024 count=1 status=none
fi
chown munge:munge "$key"
chmod 0400 "$key"
