"""A client that requests TIaaS pages through nginx in a loop, bounded in count and time, and reports every failure.

    python3 request_loop.py --out RESULT.json --stop STOPFILE [--url https://127.0.0.1] [--host NAME]

Runs until STOPFILE exists, --max-seconds pass or --max-requests were sent. Alternates an uncached page and a page
that reads the database. Anything but a 200 answer (refused connection, timeout, 502) counts as failed. Writes
RESULT.json: requests, failed, the failures (first 20), statuses, elapsed seconds and the slowest answer.
"""

from __future__ import annotations

import argparse
import http.client
import json
import ssl
import time
from pathlib import Path
from urllib.parse import urlsplit

PATHS = ["/tiaas/", "/tiaas/stats/"]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="https://127.0.0.1")
    parser.add_argument("--host", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--stop", required=True)
    parser.add_argument("--max-seconds", type=float, default=180)
    parser.add_argument("--max-requests", type=int, default=50000)
    args = parser.parse_args()
    url = urlsplit(args.url)
    context = ssl._create_unverified_context()  # the scenario's self-signed certificate  # noqa: S323
    stop = Path(args.stop)
    started_file = Path(args.out + ".started")
    count, failures, statuses, slowest = 0, [], {}, 0.0
    start = time.monotonic()
    conn = None
    while count < args.max_requests and time.monotonic() - start < args.max_seconds and not stop.exists():
        path = PATHS[count % len(PATHS)]
        count += 1
        t0 = time.monotonic()
        try:
            if conn is None:
                if url.scheme == "https":
                    conn = http.client.HTTPSConnection(url.hostname, url.port or 443, timeout=30, context=context)
                else:
                    conn = http.client.HTTPConnection(url.hostname, url.port or 80, timeout=30)
            conn.request("GET", path, headers={"Host": args.host})
            response = conn.getresponse()
            response.read()
            status = str(response.status)
            if response.getheader("Connection", "").lower() == "close":
                conn.close()
                conn = None
        except (OSError, http.client.HTTPException) as exc:
            status = type(exc).__name__
            if conn is not None:
                conn.close()
            conn = None
        slowest = max(slowest, time.monotonic() - t0)
        statuses[status] = statuses.get(status, 0) + 1
        if status != "200":
            failures.append({"n": count, "path": path, "status": status, "at": round(time.monotonic() - start, 3)})
        elif not started_file.exists():
            started_file.write_text("started\n")
    result = {
        "requests": count,
        "failed": len(failures),
        "failures": failures[:20],
        "statuses": statuses,
        "seconds": round(time.monotonic() - start, 3),
        "slowest_seconds": round(slowest, 3),
    }
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
