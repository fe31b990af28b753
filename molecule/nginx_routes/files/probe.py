"""Ask nginx (inside the container) and print what came back as JSON (Molecule scenario nginx_routes only).

probe.py URL            status, headers (a list: duplicates stay visible) and body
probe.py URL --ws TEXT  websocket handshake through nginx, then one text frame and its echo
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import socket
import ssl
import sys
from urllib.parse import urlsplit

CONTEXT = ssl._create_unverified_context()  # the scenario's certificate is self-signed


def connect(url):
    parts = urlsplit(url)
    if parts.scheme == "https":
        return http.client.HTTPSConnection(parts.hostname, parts.port or 443, timeout=10, context=CONTEXT), parts
    return http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=10), parts


def get(url: str) -> dict:
    conn, parts = connect(url)
    conn.request("GET", parts.path or "/", headers={"Host": "galaxy.example.org"})
    res = conn.getresponse()
    return {"status": res.status, "headers": res.getheaders(), "body": res.read().decode(errors="replace")}


def websocket(url: str, text: str) -> dict:
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port or 443), timeout=10)
    if parts.scheme == "https":
        sock = CONTEXT.wrap_socket(sock, server_hostname=parts.hostname)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET {parts.path} HTTP/1.1\r\nHost: galaxy.example.org\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    stream = sock.makefile("rb")
    status = stream.readline().decode().split()[1]
    headers = []
    while (line := stream.readline().decode().strip()) != "":
        name, _, value = line.partition(":")
        headers.append([name, value.strip()])
    echo = ""
    if status == "101":
        mask = os.urandom(4)
        payload = text.encode()
        sock.sendall(bytes([0x81, 0x80 | len(payload)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))
        head = stream.read(2)
        echo = stream.read(head[1] & 0x7F).decode()
    return {"status": int(status), "headers": headers, "echo": echo}


if __name__ == "__main__":
    if len(sys.argv) > 3 and sys.argv[2] == "--ws":
        print(json.dumps(websocket(sys.argv[1], sys.argv[3])))
    else:
        print(json.dumps(get(sys.argv[1])))
