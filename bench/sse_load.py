#!/usr/bin/env python3
"""Streaming (SSE) load client for scripts/bench. Python 3.11 standard library only.

Opens N streams (each on its own connection) to oci-genai-proxy (`--mode openai`, ends at
`data: [DONE]`) or straight to oci-genai-mock (`--mode oci`, TLS, a pre-signed request, ends at the
event carrying `finishReason`: OCI never terminates the body). Records per stream the time to
the first token and the gaps between events, and checks every stream: HTTP 200, the concatenated
text equals --expect-text, the end marker arrived, no gap above --stall-ms, done before the
deadline. Prints one JSON object on stdout.

  sse_load.py --port P --request FILE --mode openai|oci [--tls-ca CA] -n N [--concurrency C]
              [--ramp S] [--deadline S] [--stall-ms MS] [--expect-text T] [--watch-pid PID]

Loopback only: the host is always 127.0.0.1.
"""

import argparse
import asyncio
import json
import os
import resource
import ssl
import sys
import time

HOST = "127.0.0.1"


def pct(values, p):
    """Nearest-rank percentile of `values` (unsorted ok); None when empty."""
    if not values:
        return None
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(round(p / 100.0 * len(s) + 0.5)) - 1))
    return s[k]


def summary_us(values):
    """Percentiles in microseconds of durations given in seconds."""
    if not values:
        return None
    us = [v * 1e6 for v in values]
    return {
        "n": len(us),
        "p50": round(pct(us, 50), 1),
        "p90": round(pct(us, 90), 1),
        "p99": round(pct(us, 99), 1),
        "p999": round(pct(us, 99.9), 1),
        "max": round(max(us), 1),
        "mean": round(sum(us) / len(us), 1),
    }


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


class Dechunker:
    """Incremental HTTP/1.1 chunked-body decoder."""

    def __init__(self):
        self.buf = b""
        self.left = 0  # bytes left in the current chunk (+2 for its CRLF once read)
        self.in_data = False
        self.finished = False

    def feed(self, data):
        self.buf += data
        out = []
        while True:
            if self.in_data:
                if self.left > 0:
                    take = self.buf[: self.left]
                    out.append(take)
                    self.buf = self.buf[len(take):]
                    self.left -= len(take)
                    if self.left > 0:
                        break
                if len(self.buf) < 2:
                    break
                if self.buf[:2] != b"\r\n":
                    raise ValueError("chunk not followed by CRLF")
                self.buf = self.buf[2:]
                self.in_data = False
            nl = self.buf.find(b"\r\n")
            if nl < 0:
                break
            size_line = self.buf[:nl].split(b";")[0].strip()
            self.buf = self.buf[nl + 2:]
            size = int(size_line, 16)
            if size == 0:
                self.finished = True
                break
            self.left = size
            self.in_data = True
        return b"".join(out)


class Stream:
    __slots__ = ("t0", "t_sent", "t_first", "last", "gaps", "events", "text", "done", "error",
                 "active", "token_times")

    def __init__(self):
        self.t0 = self.t_sent = self.t_first = self.last = None
        self.gaps = []
        self.events = 0
        self.text = []
        self.done = False
        self.error = None
        self.active = False
        self.token_times = []  # arrival of each event that carries text


def event_text(mode, obj):
    """The token text of one event (openai chunk or OCI GENERIC event), '' if none."""
    try:
        if mode == "openai":
            ch = obj.get("choices") or []
            if ch:
                return (ch[0].get("delta") or {}).get("content") or ""
            return ""
        msg = obj.get("message") or {}
        parts = msg.get("content") or []
        return "".join(p.get("text", "") for p in parts if isinstance(p, dict))
    except AttributeError:
        return ""


async def one_stream(args, raw, sslctx, st, state):
    st.t0 = time.perf_counter()
    writer = None
    try:
        if sslctx is not None:
            reader, writer = await asyncio.open_connection(HOST, args.port, ssl=sslctx,
                                                           server_hostname=HOST)
        else:
            reader, writer = await asyncio.open_connection(HOST, args.port)
        writer.write(raw)
        await writer.drain()
        st.t_sent = time.perf_counter()
        head = b""
        while b"\r\n\r\n" not in head:
            data = await reader.read(65536)
            if not data:
                raise ConnectionError("EOF before the response head")
            head += data
        head, rest = head.split(b"\r\n\r\n", 1)
        lines = head.split(b"\r\n")
        status = int(lines[0].split()[1])
        if status != 200:
            raise ConnectionError(f"HTTP {status}: {rest[:200]!r}")
        hdrs = {}
        for ln in lines[1:]:
            k, _, v = ln.partition(b":")
            hdrs[k.strip().lower()] = v.strip().lower()
        chunked = hdrs.get(b"transfer-encoding", b"") == b"chunked"
        dech = Dechunker() if chunked else None
        st.active = True
        state["active"] += 1
        if state["active"] > state["peak_active"]:
            state["peak_active"] = state["active"]
            state["rss_at_peak_active"] = rss_kib(args.watch_pid) if args.watch_pid else None
        pending = b""
        data = rest
        while True:
            now = time.perf_counter()
            if data:
                body = dech.feed(data) if dech else data
                pending += body
                while True:
                    nl = pending.find(b"\n")
                    if nl < 0:
                        break
                    line = pending[:nl].rstrip(b"\r")
                    pending = pending[nl + 1:]
                    if not line.startswith(b"data:"):
                        continue
                    payload = line[5:].strip()
                    if st.last is not None:
                        st.gaps.append(now - st.last)
                    st.last = now
                    st.events += 1
                    if payload == b"[DONE]":
                        st.done = True
                        break
                    obj = json.loads(payload)
                    t = event_text(args.mode, obj)
                    if t:
                        if st.t_first is None:
                            st.t_first = now
                        st.text.append(t)
                        st.token_times.append(now)
                    if args.mode == "oci" and "finishReason" in obj:
                        st.done = True
                        break
                if st.done:
                    break
                if dech is not None and dech.finished:
                    break
            data = await reader.read(65536)
            if not data:
                break
        if not st.done:
            raise ConnectionError("stream ended without its end marker")
        if args.expect_text is not None and "".join(st.text) != args.expect_text:
            raise ValueError("text differs: " + "".join(st.text)[:120])
    except (OSError, ValueError, ConnectionError, asyncio.IncompleteReadError,
            json.JSONDecodeError, IndexError) as e:
        st.error = f"{type(e).__name__}: {e}"
    finally:
        if st.active:
            state["active"] -= 1
        if writer is not None:
            writer.close()
            try:
                await asyncio.wait_for(writer.wait_closed(), 2)
            except (OSError, asyncio.TimeoutError, ssl.SSLError):
                pass


async def run(args):
    with open(args.request, "rb") as f:
        raw = f.read()
    sslctx = None
    if args.tls_ca:
        sslctx = ssl.create_default_context(cafile=args.tls_ca)
    streams = [Stream() for _ in range(args.n)]
    state = {"active": 0, "peak_active": 0, "rss_at_peak_active": None, "rss_max": None}
    sem = asyncio.Semaphore(args.concurrency or args.n)
    stop = asyncio.Event()

    async def watch():
        while not stop.is_set():
            r = rss_kib(args.watch_pid)
            if r is not None and (state["rss_max"] is None or r > state["rss_max"]):
                state["rss_max"] = r
            try:
                await asyncio.wait_for(stop.wait(), 0.1)
            except asyncio.TimeoutError:
                pass

    async def guarded(i, st):
        if args.ramp > 0 and args.n > 1:
            await asyncio.sleep(args.ramp * i / args.n)
        async with sem:
            await one_stream(args, raw, sslctx, st, state)

    watcher = asyncio.create_task(watch()) if args.watch_pid else None
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    tasks = [asyncio.create_task(guarded(i, st)) for i, st in enumerate(streams)]
    _, pending = await asyncio.wait(tasks, timeout=args.deadline)
    timed_out = len(pending)
    for t in pending:
        t.cancel()
    if pending:
        await asyncio.wait(pending, timeout=5)
    wall = time.perf_counter() - t0
    stop.set()
    if watcher:
        await watcher

    ok = [s for s in streams if s.error is None and s.done]
    errors = {}
    for s in streams:
        if s.error is not None:
            key = s.error[:100]
            errors[key] = errors.get(key, 0) + 1
    stall_s = args.stall_ms / 1000.0
    stalled = [s for s in ok if s.gaps and max(s.gaps) > stall_s]
    dropped = len(streams) - len(ok)
    gaps = [g for s in ok for g in s.gaps]
    out = {
        "mode": args.mode,
        "n": args.n,
        "concurrency": args.concurrency or args.n,
        "ok": len(ok),
        "dropped": dropped,
        "timed_out": timed_out,
        "stalled": len(stalled),
        "stall_ms": args.stall_ms,
        "errors": errors,
        "events": sum(s.events for s in ok),
        "ttft_us": summary_us([s.t_first - s.t0 for s in ok if s.t_first]),
        "ttft_after_send_us": summary_us([s.t_first - s.t_sent for s in ok if s.t_first]),
        "gap_us": summary_us(gaps),
        "stream_duration_us": summary_us([s.last - s.t0 for s in ok if s.last]),
        "peak_active": state["peak_active"],
        "rss_at_peak_active_kib": state["rss_at_peak_active"],
        "rss_max_kib": state["rss_max"],
        "wall_s": round(wall, 3),
        # --token-gaps: per stream, the gaps (µs) between consecutive text-carrying events. The
        # mock's write schedule is deterministic, so gap k has the same nominal value in every
        # stream and on both paths; the harness compares their deviations from that value.
        "token_gaps_us": ([[round((b - a) * 1e6, 1) for a, b in zip(s.token_times,
                                                                   s.token_times[1:])]
                           for s in ok] if args.token_gaps else None),
        "client_cpu_s": round(time.process_time() - cpu0, 3),
    }
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--request", required=True, help="raw HTTP request to send on each stream")
    ap.add_argument("--mode", choices=["openai", "oci"], required=True)
    ap.add_argument("--tls-ca", help="TLS to the server, trusting this CA (the mock)")
    ap.add_argument("-n", type=int, default=1, help="streams in total")
    ap.add_argument("--concurrency", type=int, default=0, help="at most this many at once (0: n)")
    ap.add_argument("--ramp", type=float, default=0.0, help="spread stream starts over S seconds")
    ap.add_argument("--deadline", type=float, default=60.0, help="whole run, seconds")
    ap.add_argument("--stall-ms", type=float, default=5000.0, help="a gap above this is a stall")
    ap.add_argument("--expect-text", help="every stream's concatenated text must equal this")
    ap.add_argument("--token-gaps", action="store_true", help="output every token gap")
    ap.add_argument("--watch-pid", type=int, help="sample this process's VmRSS")
    args = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, max(soft, args.n * 2 + 256))
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    out = asyncio.run(run(args))
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")
    return 0 if out["dropped"] == 0 and out["stalled"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
