#!/usr/bin/env python3
"""Profiles oci-genai-proxy under the harness's load (loopback only, bounded in time).

    bench/profile.py [BUILD_DIR] [--mode nonstream|stream] [--secs S] [--out DIR]

Starts the same stack as scripts/bench (oci-genai-mock + daemon on mock-issued instance-principal
credentials), drives it (wrk at c=16 for `nonstream`; 16 concurrent streams back to back, the mock
writing without pauses, for `stream`), and records the daemon with
`perf record --call-graph dwarf`. Writes to DIR (default bench/results/profile-<mode>):
perf-dso.txt (self time by library), perf-self.txt (self time by symbol), perf-children.txt
(inclusive time by symbol: what each of our functions costs with everything it calls).
"""

import argparse
import os
import subprocess
import sys
import tempfile
import threading
from importlib.machinery import SourceFileLoader

HERE = os.path.dirname(os.path.abspath(__file__))
bench = SourceFileLoader("ogp_bench", os.path.join(HERE, "..", "scripts", "bench")).load_module()


def report(data, out, name, extra):
    rep = subprocess.run(["perf", "report", "-i", data, "--stdio", "--percent-limit", "0.4",
                          "-g", "none"] + extra, capture_output=True, text=True)
    lines = [ln.rstrip()[:220] for ln in rep.stdout.splitlines() if ln.strip()][:200]
    with open(os.path.join(out, name), "w") as f:
        f.write(f"# perf report {' '.join(extra)}\n" + "\n".join(lines) + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build", nargs="?", default="build-bench")
    ap.add_argument("--mode", choices=["nonstream", "stream"], default="nonstream")
    ap.add_argument("--secs", type=int, default=6)
    ap.add_argument("--out")
    args = ap.parse_args()
    args.build = os.path.abspath(args.build)
    out = args.out or os.path.join(HERE, "results", f"profile-{args.mode}")
    os.makedirs(out, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="ogp-profile.")
    procs = bench.Procs()
    try:
        keys = bench.make_keys(tmp)
        st = bench.Stack(args, tmp, procs, keys)
        st.start_mock("p", 0, threads=2)
        st.start_proxy("p")
        pp = st.proxy["port"]
        data = os.path.join(tmp, "perf.data")
        if args.mode == "nonstream":
            req = bench.write(tmp, "p.req", bench.openai_request(pp, bench.PROMPT_SHORT, False,
                                                                 64))
            bench.run_wrk(f"http://127.0.0.1:{pp}", req, 4, 2)  # warm-up

            def load():
                return bench.run_wrk(f"http://127.0.0.1:{pp}", req, 16, args.secs + 1)
        else:
            exp = bench.expected_text(bench.PROMPT_LONG, 600)
            req = bench.write(tmp, "p.req", bench.openai_request(pp, bench.PROMPT_LONG, True, 600,
                                                                 True))
            n = 400 * args.secs

            def load():
                return bench.sse(args, pp, req, "openai", None, n, 16, exp,
                                 deadline=args.secs + 30)
        result = {}
        t = threading.Thread(target=lambda: result.update(r=load()))
        c0 = bench.cpu_ticks(st.proxy["pid"])
        t.start()
        subprocess.run(["perf", "record", "-F", "499", "--call-graph", "dwarf,16384", "-o", data,
                        "-p", str(st.proxy["pid"]), "--", "sleep", str(args.secs)],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        t.join()
        c1 = bench.cpu_ticks(st.proxy["pid"])
        r = result.get("r") or {}
        done = r.get("requests") or r.get("ok")
        summary = (f"mode {args.mode}: {done} requests/streams, daemon CPU "
                   f"{(c1 - c0) / bench.HZ:.2f} s"
                   + (f" = {(c1 - c0) / bench.HZ * 1e6 / done:.0f} µs each" if done else ""))
        bench.log(summary)
        report(data, out, "perf-dso.txt", ["--no-children", "--sort", "dso"])
        report(data, out, "perf-self.txt", ["--no-children", "--sort", "dso,sym"])
        report(data, out, "perf-children.txt", ["--children", "--sort", "sym"])
        with open(os.path.join(out, "summary.txt"), "w") as f:
            f.write(summary + "\n")
    finally:
        procs.stop_all()
        subprocess.run(["rm", "-rf", tmp])
    return 0


if __name__ == "__main__":
    sys.exit(main())
