#!/usr/bin/env python3
"""cdp.py -- drives a headless Chromium through the DevTools protocol, standard library
only (a minimal WebSocket client), for tests/cluster/test_dashboard.sh.

    cdp.py DEVTOOLS_PORT URL STEP...

Opens URL in the browser's first page and runs each STEP in order:
    wait:JS      until the JavaScript expression JS is true (30 s at most, else exit 1)
    eval:JS      evaluates JS and prints its value (JSON) on a line of its own
Exits 0 when every step passed.
"""
import base64
import json
import os
import socket
import sys
import time
import urllib.request


class WS:
    def __init__(self, url):
        assert url.startswith("ws://")
        hostport, path = url[5:].split("/", 1)
        host, port = hostport.split(":")
        self.s = socket.create_connection((host, int(port)), timeout=30)
        key = base64.b64encode(os.urandom(16)).decode()
        self.s.sendall((f"GET /{path} HTTP/1.1\r\nHost: {hostport}\r\nUpgrade: websocket\r\n"
                        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                        "Sec-WebSocket-Version: 13\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.s.recv(1)
            if not chunk:
                raise RuntimeError("websocket handshake: connection closed")
            head += chunk
        if b" 101 " not in head.split(b"\r\n")[0]:
            raise RuntimeError("websocket handshake refused: %r" % head[:200])
        self.next_id = 0

    def _recv_exact(self, n):
        b = b""
        while len(b) < n:
            chunk = self.s.recv(n - len(b))
            if not chunk:
                raise RuntimeError("websocket closed")
            b += chunk
        return b

    def send(self, obj):
        data = json.dumps(obj).encode()
        hdr = bytearray([0x81])  # FIN, text
        n = len(data)
        if n < 126:
            hdr.append(0x80 | n)
        elif n < 65536:
            hdr.append(0x80 | 126)
            hdr += n.to_bytes(2, "big")
        else:
            hdr.append(0x80 | 127)
            hdr += n.to_bytes(8, "big")
        mask = os.urandom(4)
        self.s.sendall(bytes(hdr) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def recv(self):
        msg = b""
        while True:
            b0, b1 = self._recv_exact(2)
            n = b1 & 0x7F
            if n == 126:
                n = int.from_bytes(self._recv_exact(2), "big")
            elif n == 127:
                n = int.from_bytes(self._recv_exact(8), "big")
            payload = self._recv_exact(n)
            if b0 & 0x0F in (0x8,):
                raise RuntimeError("websocket closed by the browser")
            if b0 & 0x0F in (0x9, 0xA):  # ping, pong: not ours
                continue
            msg += payload
            if b0 & 0x80:
                return json.loads(msg)

    def call(self, method, **params):
        self.next_id += 1
        self.send({"id": self.next_id, "method": method, "params": params})
        while True:
            m = self.recv()
            if m.get("id") == self.next_id:
                if "error" in m:
                    raise RuntimeError("%s: %s" % (method, m["error"]))
                return m.get("result", {})


def evaluate(ws, js):
    r = ws.call("Runtime.evaluate", expression=js, returnByValue=True, awaitPromise=True)
    if "exceptionDetails" in r:
        raise RuntimeError("%s: %s" % (js, r["exceptionDetails"].get("text")))
    return r["result"].get("value")


def main():
    port, url, steps = sys.argv[1], sys.argv[2], sys.argv[3:]
    deadline = time.time() + 30
    while True:
        try:
            pages = json.load(urllib.request.urlopen("http://127.0.0.1:%s/json/list" % port, timeout=3))
            pages = [p for p in pages if p.get("type") == "page"]
            if pages:
                break
        except OSError:
            pass
        if time.time() > deadline:
            sys.exit("cdp.py: no DevTools page on port %s" % port)
        time.sleep(0.1)
    ws = WS(pages[0]["webSocketDebuggerUrl"])
    ws.call("Page.navigate", url=url)
    for step in steps:
        kind, js = step.split(":", 1)
        if kind == "eval":
            print(json.dumps(evaluate(ws, js)))
        elif kind == "wait":
            end = time.time() + 30
            while not evaluate(ws, "!!(%s)" % js):
                if time.time() > end:
                    sys.exit("cdp.py: still false after 30 s: %s" % js)
                time.sleep(0.1)
        else:
            sys.exit("cdp.py: unknown step " + step)


if __name__ == "__main__":
    main()
