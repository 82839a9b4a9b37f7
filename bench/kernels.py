"""Remote kernel benchmarks (issue 11), against the throwaway sshd and the remote account.

Needs root and the account from .ci/setup-remote-jupyter.sh (like the end-to-end tests):

    .venv/bin/python bench/kernels.py [--runs 50]

1. Execute round trip (``1+1``, median of RUNS) through sshjup's forwards vs the same kernel
   through a hand-made ``ssh -N -L`` forward (five ``-L``, one ssh process); target <= 1.1x.
2. ``sshjup kernel start`` to the first result vs the same steps by hand (ssh to start the
   kernel, read its connection file, five forwards on the master, connect); target <= 1.3x.
3. The kernelspec route: jupyter_client's ``KernelManager(kernel_name="jup-bk")`` (the
   launcher ``sshjup kernel run``) from start to the first result, with the tunnel up
   (``tunnel`` route) and down (``own`` route), vs the steps by hand of 2.; reported, no target
   yet (the launcher is a fresh Python process: its import time is in the ratio).
Everything runs in a temp dir (HOME, SSHJUP_HOME, JUPYTER_RUNTIME_DIR...); every kernel and
ssh started here is stopped by its PID or through sshjup.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def round_trip(cf: str, runs: int) -> float:
    import jupyter_client

    c = jupyter_client.BlockingKernelClient(connection_file=cf)
    c.load_connection_file()
    c.start_channels()
    try:
        c.wait_for_ready(timeout=30)
        times = []
        for _ in range(runs + 3):
            t = time.perf_counter()
            c.execute_interactive("1+1", timeout=30, output_hook=lambda m: None)
            times.append(time.perf_counter() - t)
        return statistics.median(times[3:])
    finally:
        c.stop_channels()


def launcher_first_result() -> float:
    """KernelManager on the jup-bk kernelspec: start, connect, run 1+1; seconds; shut down."""
    import jupyter_client

    t = time.perf_counter()
    km = jupyter_client.KernelManager(kernel_name="jup-bk")
    km.start_kernel(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        c = km.client()
        c.start_channels()
        try:
            c.wait_for_ready(timeout=60)
            c.execute_interactive("1+1", timeout=30, output_hook=lambda m: None)
            took = time.perf_counter() - t
        finally:
            c.stop_channels()
    finally:
        km.shutdown_kernel(now=False)
    return took


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--starts", type=int, default=3)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="sjbk"))
    home = base / "home"
    (home / ".ssh").mkdir(parents=True, mode=0o700)
    os.environ.update(
        HOME=str(home),
        SSHJUP_HOME=str(base / "app"),
        SSHJUP_SSH_CONFIG=str(home / ".ssh" / "config"),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_DATA_HOME=str(home / ".local" / "share"),
        JUPYTER_RUNTIME_DIR=str(base / "rt"),
        JUPYTER_DATA_DIR=str(base / "data"),
        SSHJUP_CONTROL_DIR=tempfile.mkdtemp(prefix="sj"),
        PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
    )
    from click.testing import CliRunner

    from sshjup.cli import cli
    from sshjup.jupyter import kernels, remote
    from tests.support.remote_jupyter import remote_jupyter_dirs, remote_user
    from tests.support.sshd import start_sshd, stop_master

    def sj(*a: str) -> str:
        r = CliRunner().invoke(cli, list(a))
        assert r.exit_code == 0, r.output + r.stderr
        return r.stdout

    cfg = home / ".ssh" / "config"
    with start_sshd(base / "sshd", login_user=remote_user()) as server, remote_jupyter_dirs() as d:
        cfg.write_text(server.client_config_tail(server.write_known_hosts(base / "kh")))
        cfg.chmod(0o600)
        sj(
            "add",
            f"{server.user}@127.0.0.1:{server.port}",
            "--name",
            "bk",
            "--identity-file",
            str(server.client_key),
            "--local-port",
            str(free_port()),
        )
        sj("up", "bk")
        try:
            # 2. start to first result: sshjup vs by hand (alternating).
            ours, hand = [], []
            for _ in range(args.starts):
                t = time.perf_counter()
                info = json.loads(
                    sj("kernel", "start", "bk", "--jupyter-cmd", str(d.command), "--json")
                )
                round_trip(info["connection_file"], 1)
                ours.append(time.perf_counter() - t)
                sj("kernel", "stop", "bk", "--all")

                t = time.perf_counter()
                cp = remote.run_script("jup-bk", cfg, kernels.start_script(str(d.command), None))
                started = kernels.parse_started(cp.stdout)
                ports = {ch: free_port() for ch in kernels.CHANNELS}
                specs = [
                    kernels.forward_spec(ports[ch], started.remote_dir, started.remote_ports()[ch])
                    for ch in kernels.CHANNELS
                ]
                for spec in specs:
                    subprocess.run(
                        ["ssh", "-F", str(cfg), "-O", "forward", "-L", spec, "jup-bk"],
                        check=True,
                        capture_output=True,
                    )
                cf = base / "hand.json"
                cf.write_bytes(kernels.local_connection(started.info, ports))
                round_trip(str(cf), 1)
                hand.append(time.perf_counter() - t)
                for spec in specs:
                    subprocess.run(
                        ["ssh", "-F", str(cfg), "-O", "cancel", "-L", spec, "jup-bk"],
                        capture_output=True,
                        check=False,
                    )
                remote.run_script(
                    "jup-bk", cfg, kernels.stop_script(started.pid, started.remote_dir)
                )
                cf.unlink()

            # 3. the kernelspec's launcher, tunnel up and down, vs the same steps by hand.
            sj("kernelspec", "install", "bk", "--jupyter-cmd", str(d.command))
            launched: dict[str, list[float]] = {"tunnel": [], "own": []}
            for route in ("tunnel", "own"):
                if route == "own":
                    sj("down", "bk")
                for _ in range(args.starts):
                    launched[route].append(launcher_first_result())
            sj("up", "bk")

            # 1. round trip: sshjup's forwards vs one hand-made `ssh -N -L` x5 to the same kernel.
            info = json.loads(
                sj("kernel", "start", "bk", "--jupyter-cmd", str(d.command), "--json")
            )
            rp, rdir = info["remote_ports"], info["remote_dir"]
            hp = {ch: free_port() for ch in kernels.CHANNELS}
            argv = [
                "ssh",
                "-F",
                "/dev/null",
                "-N",
                "-i",
                str(server.client_key),
                "-p",
                str(server.port),
                "-o",
                "IdentitiesOnly=yes",
                "-o",
                f"UserKnownHostsFile={base / 'kh'}",
                "-o",
                "BatchMode=yes",
                "-o",
                "ExitOnForwardFailure=yes",
            ]
            for ch in kernels.CHANNELS:
                argv += ["-L", kernels.forward_spec(hp[ch], rdir, rp[ch])]
            argv.append(f"{server.user}@127.0.0.1")
            ssh = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                deadline = time.monotonic() + 15
                while time.monotonic() < deadline:
                    with (
                        contextlib.suppress(OSError),
                        socket.create_connection(("127.0.0.1", hp["hb"]), 0.2),
                    ):
                        break
                    time.sleep(0.1)
                conn = json.loads(Path(info["connection_file"]).read_text())
                for ch in kernels.CHANNELS:
                    conn[f"{ch}_port"] = hp[ch]
                hand_cf = base / "hand-fwd.json"
                hand_cf.write_text(json.dumps(conn))
                hand_cf.chmod(0o600)
                rt_ours, rt_hand = [], []
                for _ in range(3):  # alternate, so load changes hit both
                    rt_ours.append(round_trip(info["connection_file"], args.runs))
                    rt_hand.append(round_trip(str(hand_cf), args.runs))
            finally:
                ssh.terminate()
                ssh.wait(timeout=10)
                sj("kernel", "stop", "bk", "--all")
        finally:
            sj("down", "bk")
            stop_master(cfg, "jup-bk")
    o, h = statistics.median(rt_ours), statistics.median(rt_hand)
    for route, times in launched.items():
        lt = statistics.median(times)
        print(
            f"kernelspec launcher start to first result, {route} route (median of "
            f"{args.starts}): {lt:.2f} s, by hand {statistics.median(hand):.2f} s, "
            f"ratio {lt / statistics.median(hand):.2f} (reported)"
        )
    so, sh = statistics.median(ours), statistics.median(hand)
    print(
        f"execute round trip 1+1 (median of {args.runs}): sshjup {o * 1000:.2f} ms, "
        f"hand-made ssh -N -L {h * 1000:.2f} ms, ratio {o / h:.2f} (target <= 1.10)"
    )
    print(
        f"start to first result (median of {args.starts}): sshjup {so:.2f} s, by hand "
        f"{sh:.2f} s, ratio {so / sh:.2f} (target <= 1.30)"
    )
    return 0 if o / h <= 1.1 and so / sh <= 1.3 else 1


if __name__ == "__main__":
    sys.exit(main())
