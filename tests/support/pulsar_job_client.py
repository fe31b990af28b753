"""Submit small jobs to a Pulsar endpoint with Pulsar's own client library and report what came back.

Runs where Galaxy would run (the Molecule scenario's Galaxy-side container, with pulsar-app installed),
over REST (`--url`) or over AMQP (`--amqp-url`). Each job stages one input file in, runs a short shell
command on the endpoint's manager (local or Slurm), and stages one output file back; the client checks the
output's bytes. Prints one JSON document: per-job status, return code, node, turnaround, and throughput
figures (jobs/min, p50/p95 turnaround) for the benchmark.

    python pulsar_job_client.py --url https://endpoint:8913/ --token T --count 50 --concurrency 8
    python pulsar_job_client.py --amqp-url amqp://u:p@broker:5672/%2Fpulsar%2Fa --manager slurm \
        --files-endpoint http://galaxy:8080/api/jobs/files?job_key=K --jobs-directory /srv/pulsar/staging
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

FINAL = {"complete", "failed", "cancelled", "lost"}


class Tool:
    """What the client needs to know about a tool (Galaxy passes its real tool object)."""

    def __init__(self, tool_dir: str) -> None:
        self.id = "galaxyops_check"
        self.version = "1.0"
        self.tool_dir = tool_dir


class StatusBoard:
    """Final status messages pushed over AMQP, by job id (one consumer serves every job)."""

    def __init__(self) -> None:
        self.final: dict[str, dict] = {}
        self.cond = threading.Condition()

    def on_update(self, message: dict) -> None:
        if message.get("status") in FINAL:
            with self.cond:
                self.final[str(message["job_id"])] = message
                self.cond.notify_all()

    def wait(self, job_id: str, timeout: float) -> dict | None:
        deadline = time.monotonic() + timeout
        with self.cond:
            while job_id not in self.final:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(left)
            return self.final.pop(job_id)


def build_manager(args):
    from pulsar.client.manager import build_client_manager

    if args.amqp_url:
        kwds = {
            "amqp_url": args.amqp_url,
            "manager": args.manager,
            "amqp_consumer_timeout": 1.0,
            "amqp_publish_retry": True,
            "amqp_publish_retry_max_retries": 10,
        }
        if args.amqp_ca:
            kwds["amqp_connect_ssl_ca_certs"] = args.amqp_ca
            kwds["amqp_connect_ssl_cert_reqs"] = "cert_required"
        return build_client_manager(**kwds)
    return build_client_manager()


def destination(args) -> dict:
    if args.amqp_url:
        return {
            "jobs_directory": args.jobs_directory,
            "default_file_action": "remote_transfer",
            "files_endpoint": args.files_endpoint,
            "rewrite_parameters": "true",
        }
    url = args.url if args.url.endswith("/") else args.url + "/"
    if args.manager != "_default_":
        url = f"{url}managers/{args.manager}/"
    return {"url": url, "private_token": args.token, "default_file_action": "transfer"}


def run_one(args, client_manager, board: StatusBoard | None, index: int) -> dict:
    from pulsar.client.staging.down import finish_job
    from pulsar.client.staging.inputs import CLIENT_INPUT_PATH_TYPES, ClientInput, ClientInputs
    from pulsar.client.staging.models import ClientJobDescription, ClientOutputs, PulsarOutputs
    from pulsar.client.staging.up import submit_job

    job_id = f"{args.job_prefix}{index}-{uuid.uuid4().hex[:8]}"
    top = tempfile.mkdtemp(prefix=f"job-{job_id}-", dir=args.work_root)
    tool_dir, work, meta = (os.path.join(top, d) for d in ("tool", "working", "metadata"))
    for d in (tool_dir, work, meta):
        os.makedirs(d)
    payload = f"input of {job_id}\n"
    input_path = os.path.join(top, "dataset_1.dat")
    output_path = os.path.join(top, "dataset_2.dat")
    with open(input_path, "w") as handle:
        handle.write(payload)
    command = (
        f"cat '{input_path}' > '{output_path}'; hostname >> '{output_path}'; "
        f"sleep {args.sleep}; echo finished; sh -c 'exit {args.exit_code}'"
    )
    outputs = ClientOutputs(working_directory=work, metadata_directory=meta, output_files=[output_path])
    description = ClientJobDescription(
        command_line=command,
        tool=Tool(tool_dir),
        config_files=[],
        client_inputs=ClientInputs([ClientInput(input_path, CLIENT_INPUT_PATH_TYPES.INPUT_PATH)]),
        client_outputs=outputs,
        working_directory=work,
        metadata_directory=meta,
        env=[],
    )
    client = client_manager.get_client(destination(args), job_id)
    result = {"job_id": job_id, "status": None, "returncode": None, "node": None, "output_ok": False}
    start = time.monotonic()
    try:
        submitted = submit_job(client, description)
        if submitted:
            client.job_id = submitted
        final = None
        if board is not None:
            final = board.wait(str(client.job_id), args.timeout)
        else:
            deadline = start + args.timeout
            result["poll_errors"] = 0
            while time.monotonic() < deadline:
                try:
                    answer = client.raw_check_complete()
                except Exception:  # noqa: BLE001 - like Galaxy, keep polling through a restart of the endpoint
                    result["poll_errors"] += 1
                    time.sleep(1)
                    continue
                if answer.get("status") in FINAL:
                    final = answer
                    break
                time.sleep(args.poll)
        result["seconds"] = round(time.monotonic() - start, 3)
        if final is None:
            result["status"] = "timeout"
            return result
        result["status"] = final.get("status")
        result["returncode"] = final.get("returncode")
        result["stdout"] = (final.get("stdout") or "")[-200:]
        if final.get("status") == "complete":
            failed = finish_job(
                client=client,
                cleanup_job="always",
                job_completed_normally=True,
                client_outputs=outputs,
                pulsar_outputs=PulsarOutputs.from_status_response(final),
            )
            result["finish_errors"] = len(failed or [])
            if os.path.exists(output_path):
                with open(output_path) as handle:
                    lines = handle.read().splitlines()
                result["output_ok"] = bool(lines) and lines[0] == payload.strip()
                result["node"] = lines[1] if len(lines) > 1 else None
        else:
            try:
                client.clean()
            except Exception as exc:  # noqa: BLE001 - a failed job may have nothing left to clean
                result["clean_error"] = exc.__class__.__name__
    except Exception as exc:  # noqa: BLE001 - reported in the JSON, the caller decides
        result["status"] = "client-error"
        result["error"] = f"{exc.__class__.__name__}: {exc}"[:500]
        result["seconds"] = round(time.monotonic() - start, 3)
    finally:
        shutil.rmtree(top, ignore_errors=True)
    return result


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q * (len(ordered) - 1))))
    return ordered[rank]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="REST endpoint, e.g. https://host:8913/")
    parser.add_argument("--token", default="")
    parser.add_argument("--amqp-url", help="broker URL of the endpoint's vhost (message-queue mode)")
    parser.add_argument("--amqp-ca", default="", help="CA file verifying the broker (amqps)")
    parser.add_argument("--manager", default="_default_")
    parser.add_argument("--files-endpoint", default="", help="Galaxy-like job files API (message-queue mode)")
    parser.add_argument("--jobs-directory", default="", help="the endpoint's staging directory (message-queue mode)")
    parser.add_argument("--work-root", default=None, help="where client-side job files live (served by the files API)")
    parser.add_argument("--count", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--sleep", type=float, default=0)
    parser.add_argument("--exit-code", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=120)
    parser.add_argument("--poll", type=float, default=0.25)
    parser.add_argument("--job-prefix", default="gxops-")
    args = parser.parse_args(argv)
    if bool(args.url) == bool(args.amqp_url):
        parser.error("give exactly one of --url and --amqp-url")
    if args.amqp_url and not (args.files_endpoint and args.jobs_directory):
        parser.error("message-queue mode needs --files-endpoint and --jobs-directory")
    if args.work_root:
        os.makedirs(args.work_root, exist_ok=True)
    # Pulsar's client prints stray text to stdout: keep stdout for the JSON answer only.
    answer_stream, sys.stdout = sys.stdout, sys.stderr

    client_manager = build_manager(args)
    board = None
    if args.amqp_url:
        board = StatusBoard()
        client_manager.ensure_has_status_update_callback(board.on_update)
    start = time.monotonic()
    try:
        with ThreadPoolExecutor(max_workers=max(1, args.concurrency)) as pool:
            results = list(pool.map(lambda i: run_one(args, client_manager, board, i), range(args.count)))
    finally:
        client_manager.shutdown(ensure_cleanup=True)
    wall = time.monotonic() - start
    ok = [r for r in results if r["status"] == "complete" and r["output_ok"] and r["returncode"] == args.exit_code]
    turnaround = [r["seconds"] for r in ok]
    summary = {
        "mode": "amqp" if args.amqp_url else "rest",
        "manager": args.manager,
        "count": args.count,
        "concurrency": args.concurrency,
        "succeeded": len(ok),
        "wall_seconds": round(wall, 3),
        "jobs_per_min": round(len(ok) / wall * 60, 1) if wall > 0 else None,
        "p50_seconds": percentile(turnaround, 0.50),
        "p95_seconds": percentile(turnaround, 0.95),
        "jobs": results,
    }
    json.dump(summary, answer_stream, indent=1)
    answer_stream.write("\n")
    return 0 if len(ok) == args.count else 1


if __name__ == "__main__":
    sys.exit(main())
