"""Benchmark the whole stack of the Molecule scenario `full` (the demo), side by side in one run.

1. Converge: playbooks/galaxy.yml on the demo's three hosts (database, Galaxy, Pulsar + Slurm) from fresh, prepared
   containers (`molecule converge`, wall and playbook time, changed count per host; goal: under 10 minutes, the
   operators' redeploy objective), then the idempotent re-run (goal: under 90 s, changed=0), each as a share of
   its goal.
2. Join to first training job: an approved training starting today; a new Galaxy user logs in to Galaxy (its own
   login), joins through nginx, runs a tool; the time from "join" to the job running on the training destination
   (`training_pulsar`: Pulsar, Slurm behind it) and to its end, beside the same tool run by a user who never joined
   (default destination `local`) and their ratio.

Needs the harness's .venv (`make setup`). Without options it creates the scenario's containers (refusing when
gxops-full-* exist: `make demo-down`, or `--reuse`), prepares them, measures and destroys them (`--keep` leaves them
up; `make demo-down` removes them). `--reuse` measures on the running demo: the re-run and the join only.

    .venv/bin/python bench/bench_full.py [--reuse] [--keep] [--reruns 1]
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import subprocess
import sys
import time
import uuid
from pathlib import Path

import requests
import urllib3
import yaml

from tests.support.containers import bash, failure
from tests.support.molecule import molecule_step, playbook_seconds, recap_changed

REPO = Path(__file__).resolve().parent.parent
SCENARIO = "full"
GALAXY = f"gxops-{SCENARIO}-galaxy"
DB = f"gxops-{SCENARIO}-db"
TRAINING_DESTINATION = "training_pulsar"
DEFAULT_DESTINATION = "local"
TOOL = "galaxyops_where"  # molecule/_shared/galaxy_server.yml: prints where it ran
CONVERGE_GOAL, RERUN_GOAL = 600.0, 90.0
TIAAS_ENV = "DJANGO_SETTINGS_MODULE=tiaas.settings.prod TIAAS_CONFIG=/etc/tiaas/tiaas.toml HOME=/var/lib/tiaas"
TIAAS_PYTHON = "/opt/tiaas/venv/bin/python"
urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)


def molecule(step: str) -> tuple[float, str]:
    """Run one molecule step on the scenario; (wall seconds, its output). Exits with the log's name on failure."""
    return molecule_step(SCENARIO, step, "bench-full")


def containers() -> list[str]:
    out = subprocess.run(
        ["docker", "ps", "-a", "--filter", f"name=^gxops-{SCENARIO}-", "--format", "{{.Names}}"],
        capture_output=True, text=True, check=False,
    ).stdout  # fmt: skip
    return sorted(out.split())


def demo_info() -> dict:
    done = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "demo_info.py"), "--json"], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        sys.exit(done.stderr.strip())
    return json.loads(done.stdout)


def approved_training(identifier: str) -> None:
    """An approved training of today (joining is open), made with the service's own models on the Galaxy host."""
    code = (
        "import django, datetime as dt; django.setup();"
        "from training.models import Training;"
        "Training.objects.create(name='Bench', email='bench@example.org', title='Bench join', description='d',"
        " start=dt.date.today(), end=dt.date.today() + dt.timedelta(days=1), location=['DE'], attendance=10,"
        f" training_identifier='{identifier}', processed='AP')"
    )
    command = f"cd /var/lib/tiaas && runuser -u tiaas -- env {TIAAS_ENV} {TIAAS_PYTHON} -c {shlex.quote(code)}"
    done = bash(GALAXY, command)
    if done.returncode != 0:
        sys.exit(failure(GALAXY, ["bash", "-c", command], done))


def join(session: requests.Session, url: str) -> None:
    """The join page's form, posted as a browser does (its CSRF token, the page as Referer)."""
    page = session.get(url, timeout=60)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    if page.status_code != 200 or not token:
        sys.exit(f"error: the join page {url} answered {page.status_code}: {page.text[:300]}")
    done = session.post(url, data={"csrfmiddlewaretoken": token[1]}, headers={"Referer": url}, timeout=60)
    if done.status_code != 200 or "joined" not in done.text:
        sys.exit(f"error: joining at {url} answered {done.status_code}: {done.text[:300]}")


def follow_job(galaxy, session: requests.Session, job_id: str, timeout: float = 600) -> dict[str, float]:
    """Seconds from now until the job was first seen running and until it ended; its destination and state."""
    start = time.monotonic()
    seen: dict = {}
    while time.monotonic() - start < timeout:
        state = galaxy.job(job_id, session)["state"]
        now = time.monotonic() - start
        if state in ("running", "ok") and "running" not in seen:
            seen["running"] = now
        if state in ("ok", "error", "deleted", "failed"):
            seen.update(ended=now, state=state, destination=galaxy.job_destination_id(job_id))
            return seen
        time.sleep(0.25)
    sys.exit(f"error: job {job_id} did not end within {timeout:.0f}s (last state {state})")


def user_job(galaxy, base: str, join_url: str | None) -> dict:
    """A new Galaxy user logs in, joins (when join_url is given) and runs the tool: timings from the join (or from
    the submission, without one)."""
    name = f"bench-{uuid.uuid4().hex[:8]}"
    password = uuid.uuid4().hex
    galaxy.create_user(name, f"{name}@example.org", password)
    session = galaxy.login(f"{name}@example.org", password)
    start = time.monotonic()
    if join_url:
        join(session, join_url)
    joined = time.monotonic() - start
    job_id = galaxy.run_tool(session, TOOL, {}, history_name=name)
    submitted = time.monotonic() - start
    seen = follow_job(galaxy, session, job_id)
    return {
        "join": joined,
        "submitted": submitted,
        "running": submitted + seen.get("running", seen["ended"]),
        "ended": submitted + seen["ended"],
        "state": seen["state"],
        "destination": seen["destination"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reuse", action="store_true", help="measure on the running demo (no fresh converge)")
    parser.add_argument("--keep", action="store_true", help="leave the containers up (they are then the demo)")
    parser.add_argument("--reruns", type=int, default=1, help="idempotent re-runs (the median is the figure)")
    opts = parser.parse_args()
    from tests.support.galaxy_api import Galaxy

    up = containers()
    converge = None
    if opts.reuse:
        if not up:
            sys.exit(f"error: --reuse needs the demo up (no gxops-{SCENARIO}-* containers): run 'make demo'")
    else:
        if up:
            sys.exit(
                f"error: containers {' '.join(up)} exist (the demo, or a test run): remove them with 'make demo-down', "
                "or measure on them with --reuse"
            )
        molecule("destroy")
        # Molecule's create also runs prepare (its sequence); the prepare step then finds it done.
        prepare_wall = molecule("create")[0] + molecule("prepare")[0]
        converge = molecule("converge")
    reruns = [molecule("converge") for _ in range(max(1, opts.reruns))]

    info = demo_info()
    secrets = yaml.safe_load(Path(info["secrets_file"]).read_text())
    galaxy = Galaxy(info["base_url"], api_key=secrets["galaxy_bootstrap_api_key"], verify=False, db_container=DB)
    identifier = f"bench-{uuid.uuid4().hex[:6]}"
    approved_training(identifier)
    trained = user_job(galaxy, info["base_url"], info["join_url"].replace("IDENTIFIER", identifier))
    plain = user_job(galaxy, info["base_url"], None)

    print()
    print(f"Whole stack (Molecule scenario {SCENARIO}: gxops-{SCENARIO}-db, -galaxy, -pulsar; playbooks/galaxy.yml)")
    if converge:
        wall, out = converge
        changed = ", ".join(f"{h}={n}" for h, n in sorted(recap_changed(out).items()))
        print(
            f"  converge from fresh, prepared containers  {wall:6.1f} s wall ({playbook_seconds(out):.1f} s playbook)"
            f" = {wall / CONVERGE_GOAL:.2f} of the 10 min goal; changed: {changed}"
        )
        print(
            f"  (create and prepare, not part of it: {prepare_wall:.1f} s: containers, PostgreSQL, Galaxy from PyPI,"
            " Slurm)"
        )
    walls = sorted(w for w, _ in reruns)
    wall = walls[len(walls) // 2]
    worst: dict[str, int] = {}
    for _, out in reruns:
        for host, count in recap_changed(out).items():
            worst[host] = max(worst.get(host, 0), count)
    median = f" (median of {len(reruns)})" if len(reruns) > 1 else ""
    book = playbook_seconds(reruns[len(reruns) // 2][1])
    changed = ", ".join(f"{h}={n}" for h, n in sorted(worst.items()))
    print(
        f"  idempotent re-run{median:15}          {wall:6.1f} s wall ({book:.1f} s playbook)"
        f" = {wall / RERUN_GOAL:.2f} of the 90 s goal; changed: {changed} (goal changed=0)"
    )
    print()
    print(f"Join to first training job (tool {TOOL}; seconds from the join's POST)")
    print(f"  {'':34} {'joined':>7} {'submitted':>9} {'running':>8} {'ended':>7}  destination / state")
    for label, r in (("joined user", trained), ("user who never joined (from submit)", plain)):
        print(
            f"  {label:34} {r['join']:7.2f} {r['submitted']:9.2f} {r['running']:8.2f} {r['ended']:7.2f}"
            f"  {r['destination']} / {r['state']}"
        )
    run_plain = plain["running"] - plain["submitted"]
    run_trained = trained["running"] - trained["submitted"]
    print(
        f"  submit-to-running: training {run_trained:.2f} s vs default {run_plain:.2f} s "
        f"(ratio {run_trained / max(run_plain, 0.01):.1f}); expected destinations: "
        f"{TRAINING_DESTINATION} and {DEFAULT_DESTINATION}"
    )
    failed = trained["destination"] != TRAINING_DESTINATION or plain["destination"] != DEFAULT_DESTINATION
    if not opts.keep and not opts.reuse:
        molecule("destroy")
    if failed:
        print("error: a job ran on the wrong destination (see the table)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
