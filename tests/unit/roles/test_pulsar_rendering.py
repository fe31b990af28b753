"""The pulsar role's app.yml, server.ini and Galaxy-side exports, rendered by Ansible itself.

A tiny playbook loads the role's defaults and vars, applies a test's variables as extra vars, renders the
role's templates into a temporary directory and writes the exports as JSON. Checks what Pulsar and Galaxy
would read: managers (HTCondor included, which no scenario can run), the AMQP URL's percent-encoding, TLS,
and one destination per endpoint.
"""

from __future__ import annotations

import configparser
import json
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import yaml

from tests.support.rendering import render_role

TASKS = """
    - ansible.builtin.template: {src: "%(role)s/templates/app.yml.j2", dest: "%(out)s/app.yml", mode: "0600"}
    - ansible.builtin.template: {src: "%(role)s/templates/server.ini.j2", dest: "%(out)s/server.ini", mode: "0600"}
    - ansible.builtin.template:
        {src: "%(role)s/templates/pulsar.service.j2", dest: "%(out)s/pulsar.service", mode: "0600"}
    - ansible.builtin.copy:
        dest: "%(out)s/exports.json"
        mode: "0600"
        content: "{{ {'job_conf': pulsar_galaxy_job_conf, 'tpv': pulsar_galaxy_tpv_destination} | to_json }}"
"""

BASE = {"pulsar_private_token": "token-for-rendering-0123456789", "pulsar_public_hostname": "pulsar.example.org"}


def render(tmp_path: Path, **variables) -> dict:
    out = render_role(tmp_path, "pulsar", TASKS, {**BASE, **variables})
    ini = configparser.ConfigParser()
    ini.read(out / "server.ini")
    return {
        "app": yaml.safe_load((out / "app.yml").read_text()),
        "app_text": (out / "app.yml").read_text(),
        "ini": ini,
        "unit": (out / "pulsar.service").read_text(),
        **json.loads((out / "exports.json").read_text()),
    }


@pytest.fixture(scope="module")
def rest_endpoint(tmp_path_factory):
    return render(
        tmp_path_factory.mktemp("rest"),
        pulsar_endpoint_name="eu-site1",
        pulsar_tls_pem="/etc/pulsar/tls.pem",
        pulsar_managers={
            "_default_": {"type": "queued_python", "num_concurrent_jobs": 4},
            "slurm": {"type": "queued_cli", "job_plugin": "SlurmFinalState", "job_partition": "galaxy"},
            "condor": {"type": "queued_condor", "submit_universe": "vanilla", "submit_request_memory": "4G"},
        },
        pulsar_galaxy_manager="slurm",
        pulsar_config={"assign_ids": "uuid", "private_token": "must-not-win", "conda_auto_init": True},
    )


@pytest.fixture(scope="module")
def mq_endpoint(tmp_path_factory):
    return render(
        tmp_path_factory.mktemp("mq"),
        pulsar_endpoint_name="b",
        pulsar_rest_enabled=False,
        pulsar_amqp_host="mq.example.org",
        pulsar_amqp_port=5671,
        pulsar_amqp_tls=True,
        pulsar_amqp_ca_certs="/etc/ssl/certs/ca-certificates.crt",
        pulsar_amqp_vhost="/pulsar/galaxy_b",
        pulsar_amqp_user="galaxy_b",
        pulsar_amqp_password="p@ss/w:rd%1",
        pulsar_galaxy_url="https://usegalaxy.example.org",
    )


def test_app_yml_managers_rendered_as_given(rest_endpoint):
    managers = rest_endpoint["app"]["managers"]
    assert managers["slurm"] == {"type": "queued_cli", "job_plugin": "SlurmFinalState", "job_partition": "galaxy"}
    assert managers["condor"] == {"type": "queued_condor", "submit_universe": "vanilla", "submit_request_memory": "4G"}


def test_role_keys_win_over_pulsar_config(rest_endpoint):
    app = rest_endpoint["app"]
    assert app["private_token"] == "token-for-rendering-0123456789"
    assert app["assign_ids"] == "uuid"
    assert app["conda_auto_init"] is True and app["conda_auto_install"] is False
    assert app["persistence_directory"] == "/var/lib/pulsar/persisted_data"
    assert app["preprocess_action_max_retries"] == 10 and app["postprocess_action_interval_max"] == 30


def test_rest_server_ini_has_tls_and_no_message_queue(rest_endpoint):
    assert rest_endpoint["ini"]["server:main"]["ssl_pem"] == "/etc/pulsar/tls.pem"
    assert "message_queue_url" not in rest_endpoint["app"]
    assert "pulsar-serve /etc/pulsar/server.ini" in rest_endpoint["unit"]


def test_rest_export(rest_endpoint):
    conf = rest_endpoint["job_conf"]
    assert conf["runners"] == {"pulsar_rest_eu_site1": {"load": "galaxy.jobs.runners.pulsar:PulsarRESTJobRunner"}}
    env = conf["execution"]["environments"]["eu-site1"]
    assert env["runner"] == "pulsar_rest_eu_site1"
    assert env["url"] == "https://pulsar.example.org:8913/managers/slurm/"
    assert env["private_token"] == "token-for-rendering-0123456789"
    tpv = rest_endpoint["tpv"]["eu-site1"]
    assert tpv["runner"] == "pulsar_rest_eu_site1" and tpv["params"]["url"] == env["url"]


def test_amqp_url_is_percent_encoded(mq_endpoint):
    url = urlsplit(mq_endpoint["app"]["message_queue_url"])
    assert url.scheme == "amqps" and url.hostname == "mq.example.org" and url.port == 5671
    assert unquote(url.username) == "galaxy_b" and unquote(url.password) == "p@ss/w:rd%1"
    assert url.path == "/%2Fpulsar%2Fgalaxy_b"
    assert mq_endpoint["app"]["amqp_connect_ssl_cert_reqs"] == "cert_required"
    assert mq_endpoint["app"]["amqp_connect_ssl_ca_certs"] == "/etc/ssl/certs/ca-certificates.crt"


def test_webless_unit_and_logging(mq_endpoint):
    assert "server:main" not in mq_endpoint["ini"]
    assert mq_endpoint["ini"]["logger_pulsar"]["level"] == "INFO"
    assert "pulsar-main --config_dir /etc/pulsar --ini_path /etc/pulsar/server.ini" in mq_endpoint["unit"]


def test_mq_export(mq_endpoint):
    conf = mq_endpoint["job_conf"]
    runner = conf["runners"]["pulsar_mq_b"]
    assert runner["load"] == "galaxy.jobs.runners.pulsar:PulsarMQJobRunner"
    assert runner["amqp_url"] == mq_endpoint["app"]["message_queue_url"]
    assert runner["galaxy_url"] == "https://usegalaxy.example.org" and runner["manager"] == "_default_"
    env = conf["execution"]["environments"]["b"]
    assert env["jobs_directory"] == "/var/lib/pulsar/staging" and env["default_file_action"] == "remote_transfer"
    assert "url" not in env and "private_token" not in env
