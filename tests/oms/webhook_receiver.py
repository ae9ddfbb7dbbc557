"""A real HTTP receiver on 127.0.0.1 that verifies Standard Webhooks signatures."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook


class Receiver:
    """Answers with the scripted status codes in turn (then 200), verifying every
    request's signature with the subscription secret exactly as a consumer would."""

    def __init__(self, statuses: list[int] | None = None):
        self.statuses = list(statuses or [])
        self.secret: str | None = None
        self.received: list[dict] = []  # verified envelopes, in arrival order
        self.forged = 0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                try:
                    envelope = Webhook(receiver.secret).verify(body, dict(self.headers))
                except Exception:
                    with receiver.lock:
                        receiver.forged += 1
                    self.send_response(401)
                    self.end_headers()
                    return
                with receiver.lock:
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                    receiver.received.append(
                        {
                            "envelope": envelope,
                            "status": status,
                            "event_name_header": self.headers["X-OMS-Event-Name"],
                        }
                    )
                self.send_response(status)
                self.end_headers()
                self.wfile.write(json.dumps({"ok": status == 200}).encode())

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def delivered_ids(self) -> set[int]:
        with self.lock:
            return {r["envelope"]["id"] for r in self.received if r["status"] == 200}
