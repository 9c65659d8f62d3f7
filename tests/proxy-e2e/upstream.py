"""A loopback stand-in for the OpenAI API and its token exchange, for `cargo xtask ci`'s proxy
end-to-end test. Prints its port, then serves until killed.

POST /oauth/token          a token exchange: `access-e2e-N`, one hour
POST /v1/chat/completions  a streamed completion: one server-sent event per word, each sent only
                           after the client acknowledged the previous one (GET /ack/N), so the
                           test fails if anything between them buffers the stream
GET  /seen                 what it saw: exchanges, the Authorization headers of API requests
"""

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

WORDS = ["Hello", " from", " the", " proxy"]
ACK_TIMEOUT_SECONDS = 20

seen = {"exchanges": 0, "authorizations": [], "api_keys": []}
acks = [threading.Event() for _ in WORDS]
lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body, content_type="application/json"):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path.startswith("/ack/"):
            acks[int(self.path.rsplit("/", 1)[1]) - 1].set()
            self.reply(200, "{}")
        elif self.path == "/seen":
            with lock:
                self.reply(200, json.dumps(seen))
        else:
            self.reply(404, "{}")

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path == "/oauth/token":
            with lock:
                seen["exchanges"] += 1
                n = seen["exchanges"]
            self.reply(200, json.dumps({
                "access_token": f"access-e2e-{n}",
                "issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
                "token_type": "Bearer",
                "expires_in": 3600,
            }))
            return
        if self.path != "/v1/chat/completions":
            self.reply(404, "{}")
            return
        with lock:
            seen["authorizations"].append(self.headers.get("Authorization"))
            seen["api_keys"].append(self.headers.get("api-key"))
        request = json.loads(body)
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for i, word in enumerate(WORDS):
            if i > 0 and not acks[i - 1].wait(ACK_TIMEOUT_SECONDS):
                # The client never saw the previous event: the stream was buffered on the way.
                break
            self.event({"content": word}, None, request["model"])
        self.event({}, "stop", request["model"])
        self.chunk(b"data: [DONE]\n\n")
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def event(self, delta, finish_reason, model):
        payload = {
            "id": "chatcmpl-e2e",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
        }
        self.chunk(f"data: {json.dumps(payload)}\n\n".encode())

    def chunk(self, data):
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
