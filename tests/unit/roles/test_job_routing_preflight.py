"""The job_routing role's preflight, run by Ansible on localhost: each bad configuration fails with one message naming
the variable, and a good one passes. Nothing is written by the preflight (it only asserts and reads)."""

from __future__ import annotations

import pytest
import yaml

from tests.support.checkout import REPO_ROOT
from tests.support.rendering import run_role_tasks
from tests.unit.test_site_playbook import failure_messages

PREFLIGHT = """
    - ansible.builtin.include_tasks: "%(role)s/tasks/preflight.yml"
"""

PULSAR_RUNNER = {"load": "galaxy.jobs.runners.pulsar:PulsarRESTJobRunner"}
TOKEN = "token-for-preflight-tests-0123456789"


def good(**changes) -> dict:
    variables = {
        "job_routing_training_destination": "training_pulsar",
        "job_routing_runners": {"local": {"load": "galaxy.jobs.runners.local:LocalJobRunner"},
                                "pulsar_rest_a": PULSAR_RUNNER},
        "job_routing_destinations": {
            "local": {"runner": "local"},
            "training_pulsar": {"runner": "pulsar_rest_a", "params": {"url": "http://a:8913/", "private_token": TOKEN}},
        },
    }  # fmt: skip
    variables.update(changes)
    return variables


def with_token(token) -> dict:
    destinations = good()["job_routing_destinations"]
    params = {"url": "http://a:8913/"} | ({} if token is None else {"private_token": token})
    return {
        "job_routing_destinations": {**destinations, "training_pulsar": {"runner": "pulsar_rest_a", "params": params}}
    }


def refused_tokens() -> list[str]:
    """The pulsar role's list, its one home."""
    return yaml.safe_load((REPO_ROOT / "roles/pulsar/vars/main.yml").read_text())["_pulsar_refused_tokens"]


def test_preflight_accepts_a_good_configuration(tmp_path):
    res, out = run_role_tasks(tmp_path, "job_routing", PREFLIGHT, good())
    assert res.returncode == 0, res.stdout[-3000:]
    assert list(out.iterdir()) == []


REFUSED = [
    (
        "unknown training destination",
        good(job_routing_training_destination="training_pulsr"),
        "job_routing_training_destination",
    ),
    (
        "training destination missing",
        {k: v for k, v in good().items() if k != "job_routing_training_destination"},
        "job_routing_training_destination",
    ),
    ("unknown default destination", good(job_routing_default_destination="cluster"), "job_routing_default_destination"),
    (
        "destination on an unknown runner",
        good(job_routing_destinations={**with_token(TOKEN)["job_routing_destinations"], "local": {"runner": "locl"}}),
        "job_routing_destinations.local",
    ),
    (
        "runner without load",
        good(job_routing_runners={"local": {"workers": 2}, "pulsar_rest_a": PULSAR_RUNNER}),
        "job_routing_runners",
    ),
    ("bad engine", good(job_routing_engine="tpv3"), "job_routing_engine"),
    ("empty prefix", good(job_routing_training_role_prefix=""), "job_routing_training_role_prefix"),
    (
        "destination id of a dispatcher",
        good(job_routing_destinations={"tpv": {"runner": "local"}, **good()["job_routing_destinations"]}),
        "job_routing_destinations.tpv",
    ),
    ("no token", good(**with_token(None)), "job_routing_destinations.training_pulsar.params.private_token"),
    ("empty token", good(**with_token("")), "job_routing_destinations.training_pulsar.params.private_token"),
    ("short token", good(**with_token("0123456789")), "job_routing_destinations.training_pulsar.params.private_token"),
    ("local tools not a list", good(job_routing_local_tool_prefixes="__"), "job_routing_local_tool_prefixes"),
]


@pytest.mark.parametrize(("case", "variables", "named"), REFUSED, ids=[case[0] for case in REFUSED])
def test_preflight_refuses_naming_the_variable(tmp_path, case, variables, named):
    res, _ = run_role_tasks(tmp_path, "job_routing", PREFLIGHT, variables)
    assert res.returncode != 0, case
    messages = failure_messages(res.stdout)
    assert any(named in line for line in messages), res.stdout[-3000:]
    assert "Traceback" not in res.stdout + res.stderr


@pytest.mark.parametrize("token", refused_tokens())
def test_preflight_refuses_every_token_pulsar_refuses(tmp_path, token):
    """Padded to 16 characters where needed would be another token: the published defaults as they are, in any case."""
    res, _ = run_role_tasks(tmp_path, "job_routing", PREFLIGHT, good(**with_token(token.upper())))
    assert res.returncode != 0
    assert any("private_token" in line for line in failure_messages(res.stdout)), res.stdout[-3000:]
    assert token.upper() not in res.stdout


def test_preflight_refuses_a_long_published_default(tmp_path):
    """Length alone does not pass: a refused token of 16+ characters is refused for being a default."""
    long_defaults = [t for t in refused_tokens() if len(t) >= 16]
    assert long_defaults, "the pulsar role's list has no token of 16 characters or more any more"
    res, _ = run_role_tasks(tmp_path, "job_routing", PREFLIGHT, good(**with_token(long_defaults[0])))
    assert res.returncode != 0
    assert any("private_token" in line for line in failure_messages(res.stdout)), res.stdout[-3000:]


def test_message_queue_destinations_need_no_token(tmp_path):
    """Pulsar MQ destinations carry their credentials in the runner's amqp_url, not in a private_token."""
    variables = good(
        job_routing_runners={"local": {"load": "galaxy.jobs.runners.local:LocalJobRunner"},
                             "pulsar_mq_a": {"load": "galaxy.jobs.runners.pulsar:PulsarMQJobRunner",
                                             "amqp_url": "amqps://u:p@mq:5671/%2Fpulsar%2Fa"}},
        job_routing_destinations={"local": {"runner": "local"},
                                  "training_pulsar": {"runner": "pulsar_mq_a", "params": {"jobs_directory": "/s"}}},
    )  # fmt: skip
    res, _ = run_role_tasks(tmp_path, "job_routing", PREFLIGHT, variables)
    assert res.returncode == 0, res.stdout[-3000:]
