#!/usr/bin/env python3
"""Full-flow wall-time benchmark: `rainmaker-prov provision` vs Espressif's Python client.

Run by scripts/bench-flow.sh (which builds the release binary and the virtualenv); not part of CI.

For every security scheme and client, each run gets a fresh simulator
(`rainmaker-prov sim --latency-ms 40 --join-delay-ms 3000 --no-auto-stop`, kernel-chosen
loopback port) and times one provisioning flow against it. The flow is the same for every
client: proto-ver, handshake, SetConfig RefPeer-Home/secretpass, ApplyConfig, GetStatus polling
until Connected. No Wi-Fi scan and no custom endpoint for any client.

Clients:
- `rainmaker-prov`: `rainmaker-prov -vv provision --json ...` (release build) as a child process.
  Wall time = the child process from spawn to exit. Exchanges = the transport's
  `http transport: POST /<endpoint>` debug lines in its -vv log.
- `python-same-polls`: Espressif's protocomm client modules (driven by esp_client.py) with the
  status-poll pauses of rainmaker-prov's default PollOptions (every 300 ms), so both
  clients make the same requests. Run as a child process too (`--python-once`), so wall time
  includes the interpreter start and the imports; the in-process flow time is reported as well.
  Exchanges are counted by wrapping the package's Transport_HTTP (CountingTransport).
- `python-esp-prov-polls`: the same, but with esp_prov's / the RainMaker CLI's cadence (sleep 5 s
  before every GetStatus), i.e. what the upstream tool really takes.

"Fixed waits" are the pauses between status polls plus 40 ms of simulated latency per exchange;
wall time minus them is what the client itself (process start, crypto, HTTP) costs.

Independently of the client, every run also counts the `device http server: POST` debug lines of
the simulator (run with -vv), which must equal the client-side count.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from typing import Optional

HERE = os.path.dirname(os.path.abspath(__file__))
POP = "abcd1234"
SSID, PASSPHRASE = "RefPeer-Home", "secretpass"
POLL_INTERVAL_S = 0.3  # rainmaker-prov's default status-poll interval (core PollOptions)
LISTEN_RE = re.compile(r"^rainmaker-prov sim: listening on (\S+) ")


class Sim:
    """A `rainmaker-prov sim` child process on a free loopback port."""

    def __init__(self, binary: str, sec: int, latency_ms: int, join_delay_ms: int) -> None:
        args = [binary, "-vv", "sim", "--transport", "softap", "--listen", "127.0.0.1:0",
                "--sec", str(sec), "--latency-ms", str(latency_ms),
                "--join-delay-ms", str(join_delay_ms), "--no-auto-stop"]
        if sec == 1:
            args += ["--pop", POP]
        if sec == 2:
            args += ["--username", "wifiprov", "--password", POP, "--sec-patch-ver", "1"]
        self.stderr_path = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"bench-sim-{os.getpid()}.log")
        self._stderr = open(self.stderr_path, "w+b")
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self._stderr, text=True)
        line = self.proc.stdout.readline() if self.proc.stdout else ""
        m = LISTEN_RE.match(line)
        if not m:
            self.stop()
            raise RuntimeError(f"simulator did not start: {line!r}")
        self.addr = m.group(1)

    def device_posts(self) -> int:
        self._stderr.flush()
        with open(self.stderr_path, "rb") as f:
            return sum(1 for ln in f if b"device http server: POST /" in ln)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(2)  # SIGINT: the simulator shuts down cleanly
            try:
                self.proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._stderr.close()
        os.unlink(self.stderr_path)


def run_ours(binary: str, addr: str, sec: int) -> dict:
    args = [binary, "-vv", "provision", "--transport", "softap", "--host", addr, "--sec", str(sec),
            "--pop", POP, "--ssid", SSID, "--passphrase", PASSPHRASE, "--json"]
    t0 = time.perf_counter()
    p = subprocess.run(args, capture_output=True, text=True, timeout=120)
    wall = time.perf_counter() - t0
    out = json.loads(p.stdout.strip().splitlines()[-1]) if p.stdout.strip() else {}
    if p.returncode != 0 or not out.get("ok"):
        raise RuntimeError(f"rainmaker-prov provision failed ({p.returncode}): {p.stdout} {p.stderr[-2000:]}")
    exchanges = len(re.findall(r"http transport: POST /", p.stderr))
    polls = len(re.findall(r"http transport: POST /prov-config", p.stderr)) - 2  # minus set + apply
    return {"wall": wall, "exchanges": exchanges, "polls": polls, "schedule": "same"}


def run_python(addr: str, sec: int, schedule: str, latency_ms: int) -> dict:
    args = [sys.executable, os.path.abspath(__file__), "--python-once", "--host", addr,
            "--sec", str(sec), "--schedule", schedule, "--latency-ms", str(latency_ms)]
    t0 = time.perf_counter()
    p = subprocess.run(args, capture_output=True, text=True, timeout=120)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        raise RuntimeError(f"python client failed: {p.stdout} {p.stderr[-2000:]}")
    once = json.loads(p.stdout.strip().splitlines()[-1])
    return {"wall": wall, "flow": once["flow"], "exchanges": once["exchanges"], "polls": once["polls"],
            "schedule": schedule}


def same_schedule(latency_ms: int):
    """The status-poll pauses of rainmaker-prov's default PollOptions: a poll starts every 300 ms
    (the first 300 ms after apply), so the pause after a poll is 300 ms minus that exchange's
    time, here the simulator's latency."""
    def pause(i: int) -> float:
        return POLL_INTERVAL_S if i == 0 else max(POLL_INTERVAL_S - latency_ms / 1000, POLL_INTERVAL_S / 4)
    return pause


def python_once(addr: str, sec: int, schedule: str, latency_ms: int) -> None:
    """One flow with Espressif's modules, in this process; prints a JSON summary."""
    sys.path.insert(0, HERE)
    sys.dont_write_bytecode = True  # no __pycache__ in the source tree
    import esp_client as ec

    ec.pin_srp_randomness(1)  # verified full-length A, see esp_client.py
    sleeps = same_schedule(latency_ms) if schedule == "same" else ec.esp_prov_schedule
    t0 = time.perf_counter()
    tp = ec.CountingTransport(addr)
    info = ec.get_version(tp)
    patch = int(info.get("prov", {}).get("sec_patch_ver", 0))
    sec_ctx = ec.make_security(sec, POP, "wifiprov", POP, patch)
    ec.handshake(tp, sec_ctx, sec)
    ec.set_and_apply(tp, sec_ctx, SSID, PASSPHRASE, True)
    polls = ec.poll_until_connected(tp, sec_ctx, sleeps, 120.0, True)
    flow = time.perf_counter() - t0
    tp.close()
    print(json.dumps({"flow": flow, "exchanges": tp.total, "counts": tp.counts, "polls": polls}))


def fixed_waits(r: dict, latency_ms: int) -> float:
    """Seconds a run must spend no matter how fast the client is: its pauses between status
    polls plus the simulator's per-exchange latency."""
    if r["schedule"] == "same":
        pause = same_schedule(latency_ms)
        sleeps = sum(pause(i) for i in range(r["polls"]))
    else:
        sleeps = 5.0 * r["polls"]
    return sleeps + r["exchanges"] * latency_ms / 1000


def summary(values: list[float]) -> str:
    return (f"median {statistics.median(values) * 1000:.0f} ms "
            f"(min {min(values) * 1000:.0f}, max {max(values) * 1000:.0f})")


def main(argv: Optional[list[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--bin", help="release rainmaker-prov binary")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--schemes", default="1,2")
    p.add_argument("--clients", default="rainmaker-prov,python-same-polls,python-esp-prov-polls")
    p.add_argument("--latency-ms", type=int, default=40)
    p.add_argument("--join-delay-ms", type=int, default=3000)
    p.add_argument("--python-once", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--host", help=argparse.SUPPRESS)
    p.add_argument("--sec", type=int, help=argparse.SUPPRESS)
    p.add_argument("--schedule", choices=("same", "esp"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.python_once:
        python_once(args.host, args.sec, args.schedule, args.latency_ms)
        return 0
    if not args.bin:
        p.error("--bin is required")

    rows = []
    for sec in (int(s) for s in args.schemes.split(",")):
        for client in args.clients.split(","):
            results = []
            for i in range(args.runs):
                sim = Sim(args.bin, sec, args.latency_ms, args.join_delay_ms)
                try:
                    if client == "rainmaker-prov":
                        r = run_ours(args.bin, sim.addr, sec)
                    elif client == "python-same-polls":
                        r = run_python(sim.addr, sec, "same", args.latency_ms)
                    elif client == "python-esp-prov-polls":
                        r = run_python(sim.addr, sec, "esp", args.latency_ms)
                    else:
                        raise SystemExit(f"unknown client {client}")
                    time.sleep(0.05)  # let the simulator log the last request
                    r["device_posts"] = sim.device_posts()
                finally:
                    sim.stop()
                if r["device_posts"] != r["exchanges"]:
                    raise SystemExit(f"{client} sec{sec}: client counted {r['exchanges']} exchanges, "
                                     f"device saw {r['device_posts']}")
                results.append(r)
                print(f"  sec{sec} {client} run {i + 1}: {r['wall'] * 1000:.0f} ms, {r['exchanges']} exchanges",
                      file=sys.stderr)
            walls = [r["wall"] for r in results]
            flows = [r["flow"] for r in results if "flow" in r]
            exch = sorted({r["exchanges"] for r in results})
            excess = [r["wall"] - fixed_waits(r, args.latency_ms) for r in results]
            polls = sorted({r["polls"] for r in results})
            rows.append((sec, client, summary(walls), summary(flows) if flows else "-",
                         "/".join(str(e) for e in exch), "/".join(str(n) for n in polls),
                         f"{statistics.median(excess) * 1000:.0f} ms"))

    print("| scheme | client | process wall time | in-process flow time | exchanges | status polls "
          "| wall time minus fixed waits (median) |")
    print("|---|---|---|---|---|---|---|")
    for sec, client, wall, flow, exch, polls, excess in rows:
        print(f"| sec{sec} | {client} | {wall} | {flow} | {exch} | {polls} | {excess} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
