#!/usr/bin/env python3
"""Interop driver: Espressif's own protocomm client modules against `rainmaker-prov sim`.

The client code under test is the one shipped in the PyPI package `esp-rainmaker-cli`
(`rmaker_tools.common.security` Security0/1/2, `rmaker_tools.common.transport.Transport_HTTP`,
`rmaker_tools.common.prov` request/response helpers). This file only sequences those modules the
way ESP-IDF's `esp_prov` does (proto-ver, session handshake, scan, set/apply config, status
polling); it never encodes or decrypts a message itself. The package's high-level
`provision_device()` is not used because it hard-codes the SoftAP address 192.168.4.1:80.

Run one case per invocation (see `--help`); it prints `PASS <case>` or `FAIL <case>: <why>` and
exits 0 or 1. `scripts/interop-test.sh` starts a fresh simulator for each case.

Determinism (security 2): up to ESP-IDF v5.5.4 the Python SRP client sends A in minimal length
(it does not left-pad to 384 bytes) and strips leading zero bytes from the salt and from
H(I ":" P). Our simulator is strict like firmware and rejects a short A, so with OS randomness
about 1 session in 256 would fail. Instead of retrying, `pin_srp_randomness()` replaces the
module's random source with a seeded `random.Random` (test-only, not a CSPRNG) and every A drawn
is checked to be 384 bytes long, so a case either always passes or always fails. The default seed
(1) was checked to give full-length A values for the first four draws; seed 121 gives a short A on
the first draw and is used by the `sec2-short-a` case to show that the strict device rejects it.
The salt leading-zero quirk cannot trigger: the simulator never generates a salt starting with 00,
and the credentials used here (`wifiprov` / `abcd1234`) have an H(I:P) that starts with 0x71.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import random
import sys
import time
from typing import Any, Callable, Optional

import importlib.util
import os

# The package's modules do `import proto` and fall back to adding rmaker_tools/rmaker_prov to
# sys.path. Put that directory first ourselves so that no other `proto` (for instance the
# workspace's Rust `proto/` crate when run from the repository root) can shadow it.
_RMAKER = importlib.util.find_spec("rmaker_tools")
if _RMAKER is None or _RMAKER.origin is None:
    sys.exit("esp_client.py: the esp-rainmaker-cli package is not installed (run scripts/interop-test.sh)")
sys.path.insert(0, os.path.join(os.path.dirname(_RMAKER.origin), "rmaker_prov"))

import proto as esp_proto  # noqa: E402  (the package's generated protobuf modules)
from rmaker_tools.common import prov as esp_prov_msgs  # noqa: E402
from rmaker_tools.common import security as esp_security  # noqa: E402
from rmaker_tools.common.security import srp6a as esp_srp6a  # noqa: E402
from rmaker_tools.common.transport import transport_http as esp_http  # noqa: E402

SRP_A_LEN = 384  # bytes of the 3072-bit group (docs/protocol.md 4.3.1)
LONG_SSID = "0123456789abcdefghijklmnopqrstuv"  # the simulator's 32-byte SSID


class CaseFailed(Exception):
    """A check of the interop case did not hold."""


def check(cond: bool, what: str) -> None:
    if not cond:
        raise CaseFailed(what)


# ------------------------------------------------------------------------------------------------
# Making the Python SRP client deterministic


def pin_srp_randomness(seed: int) -> None:
    """Replace `srp6a.get_random` (os.urandom based) with a seeded generator.

    `Srp6a.__init__` draws its secret through `get_random_of_length(32)`, which calls the
    module-global `get_random`; patching that name is enough.
    """
    rng = random.Random(seed)

    def seeded_random(nbytes: int) -> int:
        return rng.getrandbits(nbytes * 8)

    esp_srp6a.get_random = seeded_random


def client_a_length(sec: Any) -> int:
    """Length in bytes of the A the Python client put on the wire (after its Cmd0)."""
    return len(esp_srp6a.long_to_bytes(sec.srp6a_ctx.A))


# ------------------------------------------------------------------------------------------------
# Transport wrapper: counts exchanges and keeps library chatter off stdout


class CountingTransport:
    """Wraps `Transport_HTTP`, counting every request/response exchange per endpoint."""

    def __init__(self, host: str, timeout: float = 15.0, quiet: bool = True) -> None:
        self.quiet = quiet
        with self._maybe_quiet():
            self.inner = esp_http.Transport_HTTP(host, timeout=timeout)
        self.counts: dict[str, int] = {}

    def _maybe_quiet(self):
        return contextlib.redirect_stdout(io.StringIO()) if self.quiet else contextlib.nullcontext()

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def send_data(self, ep_name: str, data: str) -> str:
        self.counts[ep_name] = self.counts.get(ep_name, 0) + 1
        return self.inner.send_data(ep_name, data)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.inner.conn.close()


def quietly(quiet: bool, fn: Callable[..., Any], *args: Any) -> Any:
    """Calls one of the package's helpers, which print progress to stdout."""
    if not quiet:
        return fn(*args)
    with contextlib.redirect_stdout(io.StringIO()):
        return fn(*args)


class PlaintextTap:
    """Wraps a Security object to remember the last decrypted response (for extra checks).

    The wrapped object still does all the cryptography; this only observes its output.
    """

    def __init__(self, sec: Any) -> None:
        self.sec = sec
        self.last_plain: Optional[bytes] = None
        self.verbose = getattr(sec, "verbose", False)

    def encrypt_data(self, data: bytes) -> bytes:
        return self.sec.encrypt_data(data)

    def decrypt_data(self, data: bytes) -> bytes:
        plain = self.sec.decrypt_data(data)
        self.last_plain = bytes(plain)
        return plain


# ------------------------------------------------------------------------------------------------
# Flow steps, sequenced like esp_prov / rmaker_prov's prov_util


def make_security(sec_ver: int, pop: str, username: str, password: str, patch: int) -> Any:
    if sec_ver == 0:
        return esp_security.Security0(False)
    if sec_ver == 1:
        return esp_security.Security1(pop, False)
    return esp_security.Security2(patch, username, password, False)


def get_version(tp: CountingTransport) -> dict:
    # esp_prov sends the dummy body '---' (protocomm_httpd rejects an empty body).
    return json.loads(tp.send_data("proto-ver", "---"))


def handshake(tp: CountingTransport, sec: Any, sec_ver: int) -> int:
    """Runs the Security object's state machine over `prov-session`; returns the exchange count.

    For security 2 the length of the client's A is checked after Cmd0 has been built (see the
    module docstring): a short A means the pinned seed no longer suits this client version.
    """
    response = None
    exchanges = 0
    while True:
        request = sec.security_session(response)
        if request is None:
            return exchanges
        if sec_ver == 2 and exchanges == 0 and client_a_length(sec) != SRP_A_LEN:
            raise CaseFailed(
                f"the pinned seed produced a {client_a_length(sec)}-byte A; the Python client "
                "(<= ESP-IDF v5.5.4) does not pad it and the strict device would reject it: "
                "pick another --seed")
        response = tp.send_data("prov-session", request)
        exchanges += 1


def scan(tp: CountingTransport, sec: Any, page: int, quiet: bool) -> list[dict]:
    msgs = esp_prov_msgs
    # esp_prov on SoftAP: blocking scan, group_channels = 5, period 120 ms.
    resp = tp.send_data("prov-scan", msgs.scan_start_request(sec, blocking=True, passive=False,
                                                             group_channels=5, period_ms=120))
    quietly(quiet, msgs.scan_start_response, sec, resp)
    deadline = time.monotonic() + 20
    while True:
        resp = tp.send_data("prov-scan", msgs.scan_status_request(sec))
        status = quietly(quiet, msgs.scan_status_response, sec, resp)
        if status["finished"]:
            break
        check(time.monotonic() < deadline, "scan did not finish within 20 s")
        time.sleep(0.1)
    aps: list[dict] = []
    index, remaining = 0, status["count"]
    while remaining:
        count = min(remaining, page)
        resp = tp.send_data("prov-scan", msgs.scan_result_request(sec, index, count))
        got = quietly(quiet, msgs.scan_result_response, sec, resp)
        # scan_result_response silently skips entries whose auth mode it cannot name.
        check(len(got) == count, f"scan page at {index}: asked {count} entries, the client decoded {len(got)}")
        aps += got
        index += count
        remaining -= count
    check(len(aps) == status["count"], f"scan: status said {status['count']} entries, read {len(aps)}")
    return aps


def custom_echo(tp: CountingTransport, sec: Any, payload: bytes) -> bytes:
    enc = sec.encrypt_data(payload)
    resp = tp.send_data("custom-data", enc.decode("latin-1") if isinstance(enc, bytes) else enc)
    return bytes(sec.decrypt_data(resp.encode("latin-1")))


def set_and_apply(tp: CountingTransport, sec: Any, ssid: str, passphrase: str, quiet: bool) -> None:
    msgs = esp_prov_msgs
    resp = tp.send_data("prov-config", msgs.config_set_config_request(sec, ssid, passphrase))
    status = quietly(quiet, msgs.config_set_config_response, sec, resp)
    check(status == 0, f"SetConfig status {status}")
    resp = tp.send_data("prov-config", msgs.config_apply_config_request(sec))
    status = quietly(quiet, msgs.config_apply_config_response, sec, resp)
    check(status == 0, f"ApplyConfig status {status}")


def get_status(tp: CountingTransport, sec: Any, quiet: bool) -> str:
    resp = tp.send_data("prov-config", esp_prov_msgs.config_get_status_request(sec))
    return quietly(quiet, esp_prov_msgs.config_get_status_response, sec, resp)


def poll_until_connected(tp: CountingTransport, sec: Any, sleeps: Callable[[int], float],
                         deadline_s: float, quiet: bool) -> int:
    """Polls GetStatus, sleeping `sleeps(i)` seconds before poll i; returns the number of polls."""
    start = time.monotonic()
    polls = 0
    while True:
        time.sleep(sleeps(polls))
        state = get_status(tp, sec, quiet)
        polls += 1
        if state == "connected":
            return polls
        check(state == "connecting", f"Wi-Fi state {state!r} after {polls} polls")
        check(time.monotonic() - start < deadline_s, f"still connecting after {deadline_s} s")


def esp_prov_schedule(i: int) -> float:
    """esp_prov / the RainMaker CLI sleep 5 s before every status request."""
    return 5.0


# ------------------------------------------------------------------------------------------------
# Cases


def case_flow(args: argparse.Namespace) -> str:
    quiet = not args.verbose
    tp = CountingTransport(args.host, quiet=quiet)
    try:
        info = get_version(tp)
        provinfo = info.get("prov", {})
        check(provinfo.get("sec_ver") == args.sec, f"proto-ver sec_ver {provinfo.get('sec_ver')}, expected {args.sec}")
        caps = provinfo.get("cap", [])
        check("wifi_scan" in caps, f"proto-ver cap {caps} lacks wifi_scan")
        if args.sec == 0:
            check("no_sec" in caps, f"proto-ver cap {caps} lacks no_sec")
        if args.sec == 1:
            check(("no_pop" in caps) == (args.pop == ""), f"proto-ver cap {caps} vs PoP given: {args.pop != ''}")
        if args.sec == 2:
            check(provinfo.get("sec_patch_ver", 0) == args.sec_patch_ver,
                  f"proto-ver sec_patch_ver {provinfo.get('sec_patch_ver')}, expected {args.sec_patch_ver}")

        raw_sec = make_security(args.sec, args.pop, args.username, args.password, args.sec_patch_ver)
        n = handshake(tp, raw_sec, args.sec)
        check(n == (1 if args.sec == 0 else 2), f"handshake took {n} exchanges")
        if args.sec == 2:
            want = 12 if args.sec_patch_ver == 1 else 16
            check(len(raw_sec.nonce) == want, f"device_nonce is {len(raw_sec.nonce)} bytes, expected {want}")
        sec = PlaintextTap(raw_sec)

        aps = scan(tp, sec, args.scan_page, quiet)
        ssids = [ap["ssid"] for ap in aps]
        check(len(aps) == 16, f"scan returned {len(aps)} networks, expected 16")
        check(LONG_SSID in ssids, f"32-byte SSID missing from scan: {ssids}")
        check("RefPeer-Home" in ssids, "RefPeer-Home missing from scan")
        rssis = [ap["rssi"] for ap in aps]
        check(rssis == sorted(rssis, reverse=True), f"scan not sorted by RSSI: {rssis}")
        check(all(len(ap["bssid"]) == 12 for ap in aps), "a BSSID is not 6 bytes")

        payload = f"hello from esp-rainmaker-cli, sec{args.sec}".encode()
        echo = custom_echo(tp, sec, payload)
        check(echo == payload, f"custom-data echoed {echo!r}")

        set_and_apply(tp, sec, args.ssid, args.passphrase, quiet)
        polls = poll_until_connected(tp, sec, lambda i: 0.1, 20.0, quiet)
        status = esp_proto.wifi_config_pb2.WiFiConfigPayload()
        status.ParseFromString(sec.last_plain or b"")
        got_ssid = status.resp_get_status.connected.ssid
        check(got_ssid == args.ssid.encode(), f"connected to {got_ssid!r}")
        check(status.resp_get_status.connected.ip4_addr != "", "no IPv4 address in Connected status")
        return (f"{tp.total} exchanges ({', '.join(f'{k} {v}' for k, v in sorted(tp.counts.items()))}), "
                f"{len(aps)} networks, {polls} status polls")
    finally:
        tp.close()


def wrong_secret_then_right(args: argparse.Namespace) -> str:
    """A wrong PoP / SRP password must fail the handshake at Cmd1 (the device closes the
    connection without answering); a new session with the right secret must then work."""
    quiet = not args.verbose
    wrong = args.wrong_secret
    tp = CountingTransport(args.host, quiet=quiet)
    try:
        get_version(tp)
        bad = make_security(args.sec, wrong, args.username, wrong, args.sec_patch_ver)
        exchanges = 0
        try:
            response = None
            while True:
                request = bad.security_session(response)
                if request is None:
                    break
                if args.sec == 2 and exchanges == 0:
                    check(client_a_length(bad) == SRP_A_LEN, "pinned seed gave a short A (see module docstring)")
                response = tp.send_data("prov-session", request)
                exchanges += 1
        except RuntimeError as err:
            check(exchanges == 1, f"handshake failed at exchange {exchanges + 1}, expected at Cmd1 (2): {err}")
            failure = str(err)
        else:
            raise CaseFailed("handshake with a wrong secret succeeded")
    finally:
        tp.close()

    tp = CountingTransport(args.host, quiet=quiet)
    try:
        sec = make_security(args.sec, args.pop, args.username, args.password, args.sec_patch_ver)
        n = handshake(tp, sec, args.sec)
        check(n == 2, f"handshake took {n} exchanges")
        state = get_status(tp, sec, quiet)
        check(state == "connecting", f"fresh device reports {state!r}")
    finally:
        tp.close()
    return f"wrong secret rejected at Cmd1 ({failure}); right secret then accepted"


def short_a_rejected(args: argparse.Namespace) -> str:
    """The documented quirk, made visible: with a seed whose A is 383 bytes or shorter, the
    unpadded Python client is rejected at Cmd0 by the strict (firmware-like) device."""
    quiet = not args.verbose
    tp = CountingTransport(args.host, quiet=quiet)
    try:
        sec = make_security(2, "", args.username, args.password, args.sec_patch_ver)
        request = sec.security_session(None)
        check(client_a_length(sec) < SRP_A_LEN, f"seed {args.seed} gives a full-length A; pick a short-A seed")
        try:
            tp.send_data("prov-session", request)
        except RuntimeError:
            return f"{client_a_length(sec)}-byte A rejected at Cmd0"
        raise CaseFailed(f"device accepted a {client_a_length(sec)}-byte A")
    finally:
        tp.close()


CASES = {"flow": case_flow, "wrong-secret": wrong_secret_then_right, "short-a": short_a_rejected}


def main(argv: Optional[list[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--host", required=True, help="simulator address host:port")
    p.add_argument("--case", choices=sorted(CASES), default="flow")
    p.add_argument("--name", help="case name printed in the PASS/FAIL line")
    p.add_argument("--sec", type=int, choices=(0, 1, 2), required=True)
    p.add_argument("--pop", default="", help="security 1 PoP ('' for a no_pop device)")
    p.add_argument("--username", default="wifiprov")
    p.add_argument("--password", default="abcd1234", help="security 2 password")
    p.add_argument("--sec-patch-ver", type=int, choices=(0, 1), default=1)
    p.add_argument("--wrong-secret", default="wrong-secret", help="PoP/password for the wrong-secret case")
    p.add_argument("--ssid", default="RefPeer-Home")
    p.add_argument("--passphrase", default="secretpass")
    p.add_argument("--scan-page", type=int, default=4, help="entries per scan-result request")
    p.add_argument("--seed", type=int, default=1, help="seed of the Python SRP client's secret a")
    p.add_argument("--verbose", action="store_true", help="let the package's helpers print")
    args = p.parse_args(argv)
    name = args.name or f"{args.case}-sec{args.sec}"
    pin_srp_randomness(args.seed)
    started = time.monotonic()
    try:
        detail = CASES[args.case](args)
    except (CaseFailed, RuntimeError, ValueError, OSError) as err:
        print(f"FAIL {name}: {type(err).__name__}: {err}")
        return 1
    print(f"PASS {name}: {detail} [{time.monotonic() - started:.2f} s]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
