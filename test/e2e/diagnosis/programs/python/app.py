"""An http.server service on 127.0.0.1:$PORT that fails on /break in one of two ways ($MODE):

keyerror     the request loop re-reads its settings from the environment after /break, and
             os.environ["DATABASE_URL"] raises an uncaught KeyError: traceback, exit 1.
connrefused  /health connects to its database on 127.0.0.1:$DEP_PORT from then on; the refused
             connection is logged with the address and the exception, and /health answers 503.
"""
import http.server
import os
import socket
import sys

MODE = os.environ["MODE"]
PORT = int(os.environ["PORT"])
state = {"broken": False}


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/health":
            self.answer(*self.health())
        elif self.path == "/break":
            print(f"{MODE}: breaking", flush=True)
            state["broken"] = True
            self.answer(200, "broken")
        else:
            self.answer(404, "")

    def health(self):
        if MODE != "connrefused" or not state["broken"]:
            return 200, "ok"
        dep = ("127.0.0.1", int(os.environ["DEP_PORT"]))
        try:
            socket.create_connection(dep, timeout=0.5).close()
            return 200, "ok"
        except OSError as e:
            print(f"database unreachable: cannot connect to {dep[0]}:{dep[1]}: {e!r}", file=sys.stderr, flush=True)
            return 503, "database unreachable"

    def answer(self, status, body):
        data = (body + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass  # no access log: the journal keeps the service's own words


def settings():
    return {"database_url": os.environ["DATABASE_URL"]}


server = http.server.HTTPServer(("127.0.0.1", PORT), Handler)
print(f"listening on 127.0.0.1:{PORT} pid={os.getpid()}", flush=True)
while True:
    server.handle_request()
    if MODE == "keyerror" and state["broken"]:
        print("reloading settings", flush=True)
        settings()
