"""A webhook receiver that verifies Heimdall's deliveries with the Standard Webhooks reference
library (`standardwebhooks`), for the end-to-end tests (tests/tests/e2e/webhooks.rs).

Prints `PORT <n>` once listening on 127.0.0.1, reads the endpoint's `whsec_` secret from the
first line of stdin, then answers each POST 204 when its signature verifies (400 otherwise) and
prints one JSON line per request: {"id", "ok", "type", "seq", "error"}.
"""

import json
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

from standardwebhooks.webhooks import Webhook


class Handler(BaseHTTPRequestHandler):
    webhook = None

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        headers = {k.lower(): v for k, v in self.headers.items()}
        line = {"id": headers.get("webhook-id"), "ok": False, "type": None, "seq": None, "error": None}
        try:
            event = Handler.webhook.verify(body, headers)
            line.update(ok=True, type=event["type"], seq=event["seq"])
        except Exception as e:  # noqa: BLE001 - every failure is reported to the test
            line["error"] = f"{type(e).__name__}: {e}"
        print(json.dumps(line), flush=True)
        self.send_response(204 if line["ok"] else 400)
        self.end_headers()

    def log_message(self, *args):
        pass


def main():
    server = HTTPServer(("127.0.0.1", 0), Handler)
    print(f"PORT {server.server_address[1]}", flush=True)
    Handler.webhook = Webhook(sys.stdin.readline().strip())
    server.serve_forever()


if __name__ == "__main__":
    main()
