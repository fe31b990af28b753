"""kill -9 probe of the gie_proxy scenario, run as root inside a container (stdlib only).

Reads the token of --key from the map (never from a command line), requests the entry point through nginx
(--address, port 80; and, with --direct-port, straight from that gx-it-proxy process) in a loop, kills --kill-pid
with SIGKILL after one second, and keeps requesting until the direct port answers again (or 3 s without --direct-
port; at most 30 s). Writes a JSON report to --out: every request after the kill as [seconds since kill,
"nginx"|"direct", status].
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import time

import gxit_map


def get(address: str, port: int, path: str, host: str) -> int:
    conn = http.client.HTTPConnection(address, port, timeout=2)
    try:
        conn.request("GET", path, headers={"Host": host})
        response = conn.getresponse()
        response.read()
        return response.status
    except OSError:
        return 0
    finally:
        conn.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    for name in ("--map", "--key", "--host", "--prefix", "--out"):
        parser.add_argument(name, required=True)
    parser.add_argument("--kill-pid", type=int, required=True)
    parser.add_argument("--direct-port", type=int)
    # nginx on the container's own address: with engine gx-it-proxy, loopback port 80 belongs to the role's
    # fallthrough guard (a 404 for everything).
    parser.add_argument("--address", default="127.0.0.1")
    args = parser.parse_args()
    token = next(row[2] for row in gxit_map.rows(args.map) if row[0] == args.key)
    path = f"{args.prefix}/{args.key}/{token}/probe"
    before, after = [], []
    start = time.monotonic()
    while time.monotonic() - start < 1:
        before.append(get(args.address, 80, path, args.host))
    os.kill(args.kill_pid, signal.SIGKILL)
    killed = time.monotonic()
    direct_back = None
    while True:
        now = time.monotonic() - killed
        after.append([round(now, 3), "nginx", get(args.address, 80, path, args.host)])
        if args.direct_port:
            status = get("127.0.0.1", args.direct_port, path, args.host)
            after.append([round(time.monotonic() - killed, 3), "direct", status])
            if status == 200 and direct_back is None:
                direct_back = round(time.monotonic() - killed, 3)
        back = direct_back is not None and now > direct_back + 1
        if (back if args.direct_port else now > 3) or now > 30:
            break
        time.sleep(0.02)
    report = {"before": before, "after": after, "direct_back_s": direct_back}
    with open(args.out, "w") as out:
        json.dump(report, out)


if __name__ == "__main__":
    main()
