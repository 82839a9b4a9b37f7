#!/bin/sh
#$ -N sshjup-hpc
#$ -j y
#$ -S /bin/sh
#$ -l h_rt=2:00:00
set -u
umask 077
if [ -d "$HOME/.local/bin" ]; then PATH="$HOME/.local/bin:$PATH"; export PATH; fi
JUPYTER="$HOME"/venv/bin/jupyter
if ! command -v "$JUPYTER" >/dev/null 2>&1; then
  echo "@@sshjup missing-jupyter $JUPYTER"
  exit 3
fi
state="${XDG_STATE_HOME:-$HOME/.local/state}/sshjup"
ready="${SSHJUP_READY_FILE:-$state/job-hpc.ready}"
tokenfile="$state/job-hpc.token"
JUPYTER_TOKEN=$(cat "$tokenfile") || { echo "@@sshjup error token" > "$ready"; exit 5; }
rm -f "$tokenfile"
export JUPYTER_TOKEN
addr=$(hostname -i | cut -d' ' -f1)
if [ -z "$addr" ]; then echo "@@sshjup error node-address" > "$ready"; exit 5; fi
cdir="$("$JUPYTER" --config-dir)"/sshjup/jup-hpc || exit 5
JUPYTER_CONFIG_PATH="$cdir${JUPYTER_CONFIG_PATH:+:$JUPYTER_CONFIG_PATH}"
export JUPYTER_CONFIG_PATH
cd "$HOME" || exit 5
"$JUPYTER" lab --no-browser --ServerApp.ip="$addr" --ServerApp.port=0 --ServerApp.port_retries=0 --ServerApp.root_dir="$HOME"/work &
pid=$!
trap 'kill -TERM "$pid" 2>/dev/null' TERM INT
i=0
while kill -0 "$pid" 2>/dev/null; do
  port=$("$JUPYTER" server list --json 2>/dev/null | grep "\"pid\": $pid[,}]" | sed -n 's/.*"port": \([0-9][0-9]*\).*/\1/p' | head -n 1)
  if [ -n "$port" ]; then
    echo "@@sshjup ready $addr $port" > "$ready"
    break
  fi
  i=$((i + 1)); sleep 1
done
wait "$pid"
status=$?
echo "@@sshjup exited $status" >> "$ready"
exit "$status"
