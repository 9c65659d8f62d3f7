"""The official OpenAI Python SDK's workload identity, run through the same scenarios as ours.

Invoked by `cargo xtask bench` with the venv's Python:
    sdk_bench.py SCENARIO --base http://127.0.0.1:PORT [options]
and prints one JSON object. The SDK always exchanges at its built-in URL, so the benchmark points
its `WorkloadIdentityAuth.token_exchange_url` at the loopback mock. Every loop is bounded.
"""

import argparse
import json
import statistics
import sys
import threading
import time
import urllib.request

from openai import OpenAI
from openai.auth import WorkloadIdentityAuth


class CountingProvider:
    """A subject-token provider that counts its calls."""

    def __init__(self):
        self.calls = 0
        self._lock = threading.Lock()

    def __call__(self):
        with self._lock:
            self.calls += 1
        return "bench-subject"


def identity(provider):
    return {
        "identity_provider_id": "idp-bench",
        "service_account_id": "sa-bench",
        "provider": {"token_type": "jwt", "get_token": provider},
    }


def auth(base, provider):
    return WorkloadIdentityAuth(workload_identity=identity(provider), token_exchange_url=f"{base}/oauth/token")


def client(base, provider, max_retries=0):
    sdk = OpenAI(workload_identity=identity(provider), base_url=f"{base}/v1", max_retries=max_retries)
    sdk._workload_identity_auth.token_exchange_url = f"{base}/oauth/token"
    return sdk


def timed_threads(target, count):
    """Runs `target` on `count` threads started together; the seconds until the last ends."""
    threads = [threading.Thread(target=target) for _ in range(count)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started


def read(args):
    """P1: get_token on a warm cache, on one thread or several."""
    provider = CountingProvider()
    wi = auth(args.base, provider)
    wi.get_token()
    iterations = args.iterations

    def loop():
        for _ in range(iterations):
            wi.get_token()

    elapsed = timed_threads(loop, args.threads)
    return {
        "threads": args.threads,
        "reads": iterations * args.threads,
        "ns_per_read": elapsed * 1e9 / iterations,
        "reads_per_second": iterations * args.threads / elapsed,
    }


def cold(args):
    """P2: `callers` first calls from 64 threads on a cold cache."""
    provider = CountingProvider()
    wi = auth(args.base, provider)
    callers = args.callers
    counter = {"next": 0, "failures": 0}
    lock = threading.Lock()
    barrier = threading.Barrier(64)

    def worker():
        barrier.wait()
        while True:
            with lock:
                if counter["next"] >= callers:
                    return
                counter["next"] += 1
            try:
                wi.get_token()
            except Exception:
                with lock:
                    counter["failures"] += 1

    threads = [threading.Thread(target=worker) for _ in range(64)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with urllib.request.urlopen(f"{args.base}/stats") as response:
        exchanges = json.load(response)["exchanges"]
    return {"callers": callers, "failures": counter["failures"], "subject_fetches": provider.calls, "exchanges": exchanges}


def stream(args):
    """P3 and P4: `requests` calls of client.models.list() from `concurrency` threads, each waiting
    `pace_ms` between its calls; latencies in microseconds."""
    provider = CountingProvider()
    sdk = client(args.base, provider)
    latencies = []
    failures = [0]
    lock = threading.Lock()
    counter = {"next": 0}

    def worker():
        mine = []
        while True:
            with lock:
                if counter["next"] >= args.requests:
                    break
                counter["next"] += 1
            sent = time.perf_counter()
            try:
                sdk.models.list()
            except Exception:
                with lock:
                    failures[0] += 1
            mine.append((time.perf_counter() - sent) * 1e6)
            if args.pace_ms:
                time.sleep(args.pace_ms / 1000)
        with lock:
            latencies.extend(mine)

    if args.warmup:
        sdk.models.list()
    elapsed = timed_threads(worker, args.concurrency)
    latencies.sort()

    def percentile(fraction):
        return latencies[min(len(latencies) - 1, round((len(latencies) - 1) * fraction))] if latencies else 0

    with urllib.request.urlopen(f"{args.base}/stats") as response:
        exchanges = json.load(response)["exchanges"]
    return {
        "requests": len(latencies),
        "failed": failures[0],
        "exchanges": exchanges,
        "subject_fetches": provider.calls,
        "rps": len(latencies) / elapsed,
        "p50_us": percentile(0.5),
        "p99_us": percentile(0.99),
        "max_us": latencies[-1] if latencies else 0,
        "waited": sum(1 for latency in latencies if latency >= args.waited_ms * 1000),
        "mean_us": statistics.fmean(latencies) if latencies else 0,
        "elapsed_s": elapsed,
    }


def once(args):
    """P7: one process, one client.models.list(): with workload identity at `base` (its own
    exchange), or with `--api-key` through the proxy at `base` (no exchange of its own)."""
    if args.api_key:
        sdk = OpenAI(api_key=args.api_key, base_url=f"{args.base}/v1", max_retries=0)
    else:
        sdk = client(args.base, CountingProvider())
    sdk.models.list()
    return {"ok": True}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("scenario", choices=["read", "cold", "stream", "once"])
    parser.add_argument("--base", required=True)
    parser.add_argument("--iterations", type=int, default=200_000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--callers", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--pace-ms", type=float, default=0)
    parser.add_argument("--waited-ms", type=float, default=100)
    parser.add_argument("--warmup", action="store_true")
    parser.add_argument("--api-key", default=None)
    args = parser.parse_args()
    result = {"read": read, "cold": cold, "stream": stream, "once": once}[args.scenario](args)
    json.dump(result, sys.stdout)
    print()


if __name__ == "__main__":
    main()
