"""Side by side: the official SDK and our client against the same scripted loopback server.

    python3 -m venv target/sdk-venv && target/sdk-venv/bin/pip install openai==3.63.0
    cargo build -p openai-conn-client --example sdk_compare
    target/sdk-venv/bin/python crates/openai-client/examples/sdk_compare.py TARGET/debug/examples/sdk_compare

For each scenario the server plays a script (one step per connection, the last repeating) and
records when each request arrived; the table shows, per client, the outcome, the number of
requests and the waits between them (wall clock). Binds 127.0.0.1 only.
"""

import json
import socket
import subprocess
import sys
import threading
import time

import openai

MODELS = b'{"object":"list","data":[]}'


def step(status, headers=(), body=b"", pieces=None, stall=False, length=True):
    head = f"HTTP/1.1 {status} Scripted\r\nconnection: close\r\n"
    for name, value in headers:
        head += f"{name}: {value}\r\n"
    if pieces is None:
        pieces = [(0.0, body)]
    if length is True:
        length = sum(len(p) for _, p in pieces)
    if length:
        head += f"content-length: {length}\r\n"
    head += "\r\n"
    return {"head": head.encode(), "pieces": pieces, "stall": stall}


def ok():
    return step(200, [("content-type", "application/json")], MODELS)


def sse(words, every):
    pieces = []
    for word in words:
        chunk = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
                 "choices": [{"index": 0, "delta": {"content": word}, "finish_reason": None}]}
        pieces.append((every, f"data: {json.dumps(chunk)}\n\n".encode()))
    pieces.append((every, b"data: [DONE]\n\n"))
    return step(200, [("content-type", "text/event-stream")], pieces=pieces, length=False)


SCENARIOS = [
    ("429 Retry-After 3600", {}, "models",
     [step(429, [("retry-after", "3600"), ("content-type", "application/json")],
           b'{"error":{"message":"slow down","type":"requests","param":null,"code":null}}'), ok()]),
    ("429 retry-after-ms 1500, 503 Retry-After 2.5", {}, "models",
     [step(429, [("retry-after-ms", "1500"), ("retry-after", "9")]),
      step(503, [("retry-after", "2.5")]), ok()]),
    ("408 then 409 (backoff)", {}, "models", [step(408), step(409), ok()]),
    ("503 x-should-retry false", {}, "models", [step(503, [("x-should-retry", "false")])]),
    ("400 x-should-retry true", {}, "models",
     [step(400, [("x-should-retry", "true"), ("content-type", "application/json")],
           b'{"error":{"message":"bad","type":"invalid_request_error","param":null,"code":null}}')]),
    ("non-JSON 429 with x-request-id", {}, "models",
     [step(429, [("content-type", "text/html"), ("x-request-id", "req_42")],
           b"<html>Too Many Requests</html>")]),
    ("slow body (1 byte / 0.2 s), timeout 1", {"timeout": 1}, "models",
     [step(200, [("content-type", "application/json")],
           pieces=[(0.2, bytes([b])) for b in MODELS])]),
    ("stalled body, timeout 2", {"timeout": 2}, "models",
     [step(200, [("content-type", "application/json")], pieces=[(0.0, b'{"object"')], stall=True,
           length=len(MODELS))]),
    ("stream of 6 events 0.8 s apart, timeout 1", {"timeout": 1}, "stream",
     [sse(["one ", "two ", "three ", "four ", "five ", "six"], 0.8)]),
]


class Server:
    def __init__(self, steps):
        self.steps = list(steps)
        self.arrivals = []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/v1"
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            current = self.steps.pop(0) if len(self.steps) > 1 else self.steps[0]
            threading.Thread(target=self.serve, args=(conn, current), daemon=True).start()

    def serve(self, conn, current):
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return
            data += chunk
        self.arrivals.append(time.monotonic())
        try:
            conn.sendall(current["head"])
            for delay, piece in current["pieces"]:
                time.sleep(delay)
                conn.sendall(piece)
            if current["stall"]:
                time.sleep(30)
            conn.close()
        except OSError:
            pass

    def gaps(self):
        return [round(b - a, 2) for a, b in zip(self.arrivals, self.arrivals[1:])]

    def close(self):
        self.sock.close()


def run_sdk(url, kwargs, kind):
    client = openai.OpenAI(api_key="sk-compare-0123456789", base_url=url,
                           timeout=kwargs.get("timeout", openai.DEFAULT_TIMEOUT),
                           max_retries=kwargs.get("max_retries", 2))
    try:
        if kind == "stream":
            text = ""
            for event in client.chat.completions.create(
                    model="m", messages=[{"role": "user", "content": "hi"}], stream=True):
                for choice in event.choices:
                    text += choice.delta.content or ""
            return {"ok": True, "text": text}
        client.models.list()
        return {"ok": True}
    except openai.APIStatusError as error:
        return {"ok": False, "status": error.status_code, "error": str(error)[:120]}
    except openai.APIError as error:
        return {"ok": False, "status": None, "error": type(error).__name__}
    except Exception as error:  # what a user would see: not an SDK error at all
        return {"ok": False, "status": None, "error": f"{type(error).__name__}: {error}"[:120]}


def run_ours(binary, url, kwargs, kind):
    out = subprocess.run([binary, url, json.dumps(kwargs), kind], capture_output=True, text=True,
                         timeout=120)
    line = json.loads(out.stdout.strip().splitlines()[-1])
    if not line.get("ok") and line.get("error"):
        line["error"] = line["error"][:120]
    return line


def main():
    binary = sys.argv[1]
    only = sys.argv[2] if len(sys.argv) > 2 else ""
    print(f"openai {openai.__version__} against our client ({binary})\n")
    for name, kwargs, kind, steps in SCENARIOS:
        if only not in name:
            continue
        for who in ("sdk", "ours"):
            server = Server(steps)
            started = time.monotonic()
            if who == "sdk":
                outcome = run_sdk(server.url, kwargs, kind)
            else:
                outcome = run_ours(binary, server.url, kwargs, kind)
            took = round(time.monotonic() - started, 1)
            outcome.pop("text", None) if outcome.get("ok") and kind != "stream" else None
            print(f"{name:48} {who:4} requests={len(server.arrivals)} gaps={server.gaps()} "
                  f"took={took}s {json.dumps(outcome)}")
            server.close()
        print()


if __name__ == "__main__":
    main()
