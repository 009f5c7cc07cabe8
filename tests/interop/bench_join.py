#!/usr/bin/env python3
"""Join-lag benchmark: how long after the device has joined Wi-Fi does the client know it?

Run by scripts/bench-join.sh (which builds the release binary and the virtualenv); not part of CI.

For every join delay J (the simulator reports Connected to the first status request made at
least J after ApplyConfig), each client gets a fresh simulator
(`rainmaker-prov -vv sim --transport softap --latency-ms 0 --join-delay-ms J --no-auto-stop`,
security 1, kernel-chosen loopback port) and provisions it once (no Wi-Fi scan).

Clients:
- `rainmaker-prov`: `rainmaker-prov -v provision ...` (release build, default PollOptions) as a
  child process. Its stderr is read line by line as it arrives and time-stamped here:
  lag = t("device connected") - t("applying credentials") - J. Also reported: process wall
  time minus J (process start, handshake, set/apply and the lag together).
- `espressif`: Espressif's protocomm client modules (esp-rainmaker-cli, driven by esp_client.py,
  in this process) with esp_prov's / the RainMaker CLI's status cadence: sleep 5 s before every
  GetStatus. lag = t(Connected answer) - t(ApplyConfig answer) - J. When the virtualenv is not
  available, `--esp-model` replaces it with the same cadence computed (zero exchange time), and
  the output says so.
- `old default (model)`: rainmaker-prov's former default schedule (250 ms, x1.5, at most 2 s),
  computed with zero exchange time, for comparison.

Status exchanges are counted on the device side: the simulator's `device http server: POST
/prov-config` debug lines minus 2 (SetConfig and ApplyConfig).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from typing import Callable, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from bench_flow import POP, SSID, PASSPHRASE, Sim  # noqa: E402

DEFAULT_DELAYS = "1000,2450,3930,5370,6810,8260,9720,11150,12590,14040"


def device_status_polls(sim: Sim) -> int:
    time.sleep(0.05)  # let the simulator log the last request
    sim._stderr.flush()
    with open(sim.stderr_path, "rb") as f:
        return sum(1 for ln in f if b"device http server: POST /prov-config" in ln) - 2


def run_ours(binary: str, addr: str, join_s: float) -> dict:
    args = [binary, "-v", "provision", "--transport", "softap", "--host", addr, "--sec", "1",
            "--pop", POP, "--ssid", SSID, "--passphrase", PASSPHRASE]
    t0 = time.perf_counter()
    p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    applied = connected = None
    tail = []
    assert p.stderr is not None
    for line in p.stderr:
        now = time.perf_counter()
        tail = (tail + [line])[-20:]
        if applied is None and "applying credentials" in line:
            applied = now
        elif connected is None and "device connected" in line:
            connected = now
    rc = p.wait(timeout=120)
    wall = time.perf_counter() - t0
    if rc != 0 or applied is None or connected is None:
        raise RuntimeError(f"rainmaker-prov provision failed ({rc}): {''.join(tail)}")
    return {"lag": connected - applied - join_s, "wall_minus_join": wall - join_s}


def run_espressif(addr: str, join_s: float) -> dict:
    import esp_client as ec

    ec.pin_srp_randomness(1)
    tp = ec.CountingTransport(addr)
    info = ec.get_version(tp)
    patch = int(info.get("prov", {}).get("sec_patch_ver", 0))
    sec_ctx = ec.make_security(1, POP, "wifiprov", POP, patch)
    ec.handshake(tp, sec_ctx, 1)
    ec.set_and_apply(tp, sec_ctx, SSID, PASSPHRASE, True)
    applied = time.perf_counter()
    polls = ec.poll_until_connected(tp, sec_ctx, ec.esp_prov_schedule, 120.0, True)
    connected = time.perf_counter()
    tp.close()
    return {"lag": connected - applied - join_s, "client_polls": polls}


def model(sleeps: Callable[[int], float], join_s: float) -> tuple[float, int]:
    """Lag and status polls of a pause schedule with zero exchange time."""
    t, i = 0.0, 0
    while True:
        t += sleeps(i)
        i += 1
        if t >= join_s:
            return t - join_s, i


def old_default(i: int) -> float:
    return min(0.25 * 1.5 ** i, 2.0)


def esp_prov(i: int) -> float:
    return 5.0


def stats(values: list[float]) -> str:
    return f"mean {statistics.mean(values) * 1000:.0f} ms, worst {max(values) * 1000:.0f} ms"


def main(argv: Optional[list[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--bin", required=True, help="release rainmaker-prov binary")
    p.add_argument("--delays-ms", default=DEFAULT_DELAYS)
    p.add_argument("--esp-model", action="store_true",
                   help="model Espressif's cadence instead of running its client")
    args = p.parse_args(argv)
    delays = [int(d) for d in args.delays_ms.split(",")]
    esp_kind = "esp_prov cadence, modelled" if args.esp_model else "Espressif client, esp_prov cadence"

    rows = []
    for j_ms in delays:
        j = j_ms / 1000
        row = {"j": j_ms}
        sim = Sim(args.bin, 1, 0, j_ms)
        try:
            row.update(run_ours(args.bin, sim.addr, j))
            row["polls"] = device_status_polls(sim)
        finally:
            sim.stop()
        # Polls per second while the device joined (first poll comes one interval after apply).
        row["rate"] = row["polls"] / (j + row["lag"])
        if args.esp_model:
            row["esp_lag"], row["esp_polls"] = model(esp_prov, j)
        else:
            sim = Sim(args.bin, 1, 0, j_ms)
            try:
                r = run_espressif(sim.addr, j)
                row["esp_lag"] = r["lag"]
                row["esp_polls"] = device_status_polls(sim)
            finally:
                sim.stop()
            if row["esp_polls"] != r["client_polls"]:
                raise SystemExit(f"espressif J={j_ms}: client counted {r['client_polls']} status polls, "
                                 f"device saw {row['esp_polls']}")
        row["old_lag"], row["old_polls"] = model(old_default, j)
        rows.append(row)
        print(f"  J={j_ms} ms: ours lag {row['lag'] * 1000:.0f} ms ({row['polls']} polls), "
              f"espressif lag {row['esp_lag'] * 1000:.0f} ms", file=sys.stderr)

    print(f"| join delay | rainmaker-prov wall - J | rainmaker-prov lag | rainmaker-prov status polls "
          f"(polls/s) | {esp_kind}: lag | status polls | old default (model): lag | status polls |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['j']} ms | {r['wall_minus_join'] * 1000:.0f} ms | {r['lag'] * 1000:.0f} ms "
              f"| {r['polls']} ({r['rate']:.2f}/s) | {r['esp_lag'] * 1000:.0f} ms | {r['esp_polls']} "
              f"| {r['old_lag'] * 1000:.0f} ms | {r['old_polls']} |")
    print()
    print(f"summary over {len(rows)} join delays: rainmaker-prov lag {stats([r['lag'] for r in rows])} "
          f"(wall - J: {stats([r['wall_minus_join'] for r in rows])}; "
          f"at most {max(r['rate'] for r in rows):.2f} status polls/s); "
          f"{esp_kind}: lag {stats([r['esp_lag'] for r in rows])}; "
          f"old default (model): lag {stats([r['old_lag'] for r in rows])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
