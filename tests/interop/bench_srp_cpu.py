#!/usr/bin/env python3
"""Handshake CPU benchmark: rainmaker-prov's phone side vs Espressif's Python client.

Run by scripts/bench-srp-cpu.sh (which builds the release driver and the virtualenv); not CI.

One simulated device per scheme (`handshake_cpu sim --sec N`, the example in tests/examples,
release build, loopback HTTP, security 1 PoP `abcd1234` / security 2 `wifiprov`/`abcd1234`
patch 1) serves both clients. Each client process runs N sessions, one session = a new HTTP
transport, `proto-ver`, the whole `prov-session` handshake; nothing else:

- ours: `handshake_cpu client --host ADDR --sec S --sessions N` (DeviceSession::connect on a
  current-thread tokio runtime);
- theirs: this script with `--python-client` (Espressif's `esp-rainmaker-cli` protocomm
  modules driven by esp_client.py: CountingTransport, get_version, Security1/Security2,
  handshake).

A client's cost per session = (median CPU of the N-session runs - median CPU of the 0-session
runs) / N, where CPU = user + system time of the child process (os.wait4), so process start-up,
imports and runtime set-up cancel out. Runs are interleaved: for every round, ours N, theirs N,
ours 0, theirs 0. The device's CPU per session (from /proc/<pid>/stat of the simulator around the
N-session runs) is reported as well.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
POP = "abcd1234"
LISTEN_RE = re.compile(r"^listening on (\S+)")
CLK_TCK = os.sysconf("SC_CLK_TCK")


def python_client(host: str, sec: int, sessions: int) -> None:
    """N sessions with Espressif's modules, in this process."""
    sys.path.insert(0, HERE)
    sys.dont_write_bytecode = True  # no __pycache__ in the source tree
    import esp_client as ec

    # Seeded SRP secrets (see esp_client.py): a short A (1 draw in 256) would be rejected by the
    # strict device, so a Security2 whose A is short is replaced; the count goes to stderr.
    ec.pin_srp_randomness(1)
    redraws = 0
    for _ in range(sessions):
        tp = ec.CountingTransport(host)
        info = ec.get_version(tp)
        patch = int(info.get("prov", {}).get("sec_patch_ver", 0))
        sec_ctx = ec.make_security(sec, POP, "wifiprov", POP, patch)
        if sec == 2:
            first = sec_ctx.security_session(None)
            while ec.client_a_length(sec_ctx) != ec.SRP_A_LEN:
                redraws += 1
                sec_ctx = ec.make_security(sec, POP, "wifiprov", POP, patch)
                first = sec_ctx.security_session(None)
            response = tp.send_data("prov-session", first)
            while True:
                request = sec_ctx.security_session(response)
                if request is None:
                    break
                response = tp.send_data("prov-session", request)
        else:
            ec.handshake(tp, sec_ctx, sec)
        tp.close()
    if redraws:
        print(f"python client: {redraws} short A redrawn", file=sys.stderr)


class Sim:
    """The simulated device (handshake_cpu sim) on a free loopback port."""

    def __init__(self, driver: str, sec: int) -> None:
        self.proc = subprocess.Popen([driver, "sim", "--sec", str(sec)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline() if self.proc.stdout else ""
        m = LISTEN_RE.match(line)
        if not m:
            self.stop()
            raise RuntimeError(f"simulator did not start: {line!r}")
        self.addr = m.group(1)

    def cpu(self) -> float:
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime

    def stop(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def run_child(args: list[str]) -> float:
    """Runs a client to completion; returns its user + system CPU seconds."""
    p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(p.pid, 0)
    err = p.stderr.read().decode(errors="replace") if p.stderr else ""
    if p.stderr:
        p.stderr.close()
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({p.returncode}): {err[-2000:]}")
    if err.strip():
        print(f"  ({os.path.basename(args[0])}: {err.strip()})", file=sys.stderr)
    return usage.ru_utime + usage.ru_stime


def measure(driver: str, sec: int, sessions: int, rounds: int) -> dict:
    sim = Sim(driver, sec)
    try:
        ours = lambda n: [driver, "client", "--host", sim.addr, "--sec", str(sec), "--sessions", str(n)]
        theirs = lambda n: [sys.executable, os.path.abspath(__file__), "--python-client", "--host",
                            sim.addr, "--sec", str(sec), "--sessions", str(n)]
        # Warm-up (page cache, the device's verifier table): one session each, not counted.
        run_child(ours(1))
        run_child(theirs(1))
        cpu = {("ours", sessions): [], ("theirs", sessions): [], ("ours", 0): [], ("theirs", 0): []}
        device = []
        for r in range(rounds):
            for who, n in (("ours", sessions), ("theirs", sessions), ("ours", 0), ("theirs", 0)):
                before = sim.cpu()
                cpu[(who, n)].append(run_child(ours(n) if who == "ours" else theirs(n)))
                if n:
                    device.append((sim.cpu() - before) / n)
            print(f"  sec{sec} round {r + 1}/{rounds}: ours {cpu[('ours', sessions)][-1]:.3f}/"
                  f"{cpu[('ours', 0)][-1]:.3f} s, theirs {cpu[('theirs', sessions)][-1]:.3f}/"
                  f"{cpu[('theirs', 0)][-1]:.3f} s (N/0 sessions)", file=sys.stderr)
    finally:
        sim.stop()
    med = {k: statistics.median(v) for k, v in cpu.items()}
    per = {who: (med[(who, sessions)] - med[(who, 0)]) / sessions for who in ("ours", "theirs")}
    return {"ours": per["ours"], "theirs": per["theirs"], "ratio": per["ours"] / per["theirs"],
            "device": statistics.median(device), "medians": med}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--driver", help="the handshake_cpu example binary (release)")
    ap.add_argument("--sessions", type=int, default=40, help="sessions per measured run (default 40)")
    ap.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default 5)")
    ap.add_argument("--sec", default="2,1", help="schemes to measure (default 2,1)")
    ap.add_argument("--python-client", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--host", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.python_client:
        python_client(args.host, int(args.sec), args.sessions)
        return 0
    if not args.driver:
        ap.error("--driver is required")
    print(f"handshake CPU per session, {args.sessions} sessions per run, {args.rounds} interleaved rounds, "
          f"{os.cpu_count()} cores")
    print("| scheme | rainmaker-prov client | Espressif Python client | ratio | device (simulator) |")
    print("|---|---:|---:|---:|---:|")
    for sec in [int(s) for s in args.sec.split(",")]:
        r = measure(args.driver, sec, args.sessions, args.rounds)
        print(f"| sec{sec} | {r['ours'] * 1e3:.2f} ms | {r['theirs'] * 1e3:.2f} ms | {r['ratio']:.3f} | "
              f"{r['device'] * 1e3:.2f} ms |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
