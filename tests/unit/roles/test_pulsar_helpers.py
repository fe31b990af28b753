"""The pulsar role's helper scripts: configuration check, staging cleanup, health check queue names, and the
SlurmFinalState job plugin. Loaded from the role's files/ directory, their one home."""

from __future__ import annotations

import datetime
import importlib.util
import os
import sys
import time
import types
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

ROLE = Path(__file__).resolve().parents[3] / "roles" / "pulsar"
FILES = ROLE / "files"


def load(name: str):
    spec = importlib.util.spec_from_file_location(name, FILES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


validate = load("pulsar_validate_config")
cleanup = load("pulsar_staging_cleanup")
health = load("pulsar_healthcheck")

GOOD_TOKEN = "a-real-token-0123456789abcdef"


def good_conf(**changes) -> dict:
    conf = {
        "private_token": GOOD_TOKEN,
        "staging_directory": "/srv/pulsar/staging",
        "persistence_directory": "/var/lib/pulsar/persisted_data",
        "managers": {"_default_": {"type": "queued_python", "num_concurrent_jobs": 2}},
    }
    conf.update(changes)
    return conf


TYPES = {"queued_python", "queued_cli", "queued_condor"}
PLUGINS = {"Slurm", "SlurmFinalState", "Torque"}


def problems(conf) -> list[str]:
    return validate.check_app_config(conf, TYPES, PLUGINS)


def test_good_configuration_passes():
    assert problems(good_conf()) == []


def test_refused_tokens_are_the_roles_list():
    """The script and the role's preflight refuse the same published defaults."""
    role_list = yaml.safe_load((ROLE / "vars" / "main.yml").read_text())["_pulsar_refused_tokens"]
    assert set(role_list) == validate.REFUSED_TOKENS


@pytest.mark.parametrize("token", [None, "", "abc123", "changeme", "CHANGEMEINPRODUCTION", 42])
def test_bad_tokens_are_refused_without_being_printed(token):
    found = problems(good_conf(private_token=token))
    assert len(found) == 1 and "private_token" in found[0]
    if isinstance(token, str) and token:
        assert token not in found[0]


@pytest.mark.parametrize(
    "change, needle",
    [
        ({"persistence_directory": "__none__"}, "persistence_directory"),
        ({"staging_directory": "files/staging"}, "staging_directory must be an absolute path"),
        ({"managers": {}}, "non-empty mapping"),
        ({"managers": {"x": {"type": "queued_nope"}}}, "managers.x.type 'queued_nope'"),
        ({"managers": {"x": {"type": "queued_cli"}}}, "managers.x (queued_cli) needs job_plugin"),
        ({"managers": {"x": {"type": "queued_cli", "job_plugin": "Slurmm"}}}, "job_plugin 'Slurmm' is unknown"),
        ({"managers": {"x": {"num_concurrent_jobs": 0}}}, "num_concurrent_jobs"),
        ({"message_queue_url": "redis://broker/0"}, "message_queue_url scheme 'redis'"),
        ({"message_queue_url": "amqps://u:p@b:5671/v", "amqp_connect_ssl_ca_certs": "/nonexistent/ca.pem"}, "ca_certs"),
    ],
)
def test_each_problem_is_named(change, needle):
    found = problems(good_conf(**change))
    assert any(needle in line for line in found), found


def test_not_a_mapping():
    assert validate.check_app_config(["x"]) == ["app.yml: the document is not a mapping"]


def _pem(tmp_path: Path) -> Path:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pulsar.example")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    pem = tmp_path / "pulsar.pem"
    pem.write_bytes(
        cert.public_bytes(serialization.Encoding.PEM)
        + key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return pem


def ini(pem: str = "", port: str = "8913") -> str:
    text = f"[server:main]\nhost = 0.0.0.0\nport = {port}\n"
    if pem:
        text += f"ssl_pem = {pem}\n"
    return text + "[app:main]\napp_config = /etc/pulsar/app.yml\n"


def test_server_ini_with_a_usable_pem_passes(tmp_path):
    assert validate.check_server_ini(ini(str(_pem(tmp_path)))) == []


def test_missing_certificate_fails_loudly(tmp_path):
    found = validate.check_server_ini(ini(str(tmp_path / "gone.pem")))
    assert len(found) == 1 and "does not exist" in found[0] and "plain HTTP" in found[0]


def test_certificate_without_key_is_refused(tmp_path):
    pem = _pem(tmp_path)
    only_cert = tmp_path / "cert-only.pem"
    only_cert.write_text(pem.read_text().split("-----BEGIN PRIVATE KEY-----")[0])
    found = validate.check_server_ini(ini(str(only_cert)))
    assert len(found) == 1 and "certificate and its private key" in found[0]


@pytest.mark.parametrize("port", ["0", "70000", "http"])
def test_bad_port(port):
    assert any("TCP port" in line for line in validate.check_server_ini(ini(port=port)))


def test_server_ini_without_app_config():
    assert any("app_config" in line for line in validate.check_server_ini("[server:main]\nport = 8913\n"))


def test_cli_prints_error_lines_and_exits_1(tmp_path, capsys):
    app = tmp_path / "app.yml"
    app.write_text(yaml.safe_dump(good_conf(private_token="changeme")))
    assert validate.main(["--app-yml", str(app)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: app.yml: private_token") and "changeme" not in err


# ---------------------------------------------------------------- staging cleanup


def _job(staging: Path, name: str, age_days: float) -> Path:
    job = staging / name
    (job / "working").mkdir(parents=True)
    (job / "working" / "out.txt").write_text("x")
    then = time.time() - age_days * 86400
    for path in [job / "working" / "out.txt", job / "working", job]:
        os.utime(path, (then, then))
    return job


def test_cleanup_removes_only_old_inactive_jobs(tmp_path):
    staging, persistence = tmp_path / "staging", tmp_path / "persisted"
    old = _job(staging, "old", 20)
    active = _job(staging, "active-old", 20)
    post = _job(staging, "post-old", 20)
    young = _job(staging, "young", 1)
    (persistence / "slurm-active-jobs").mkdir(parents=True)
    (persistence / "slurm-active-jobs" / "active-old").write_text("")
    (persistence / "_default_-postprocessing-jobs").mkdir(parents=True)
    (persistence / "_default_-postprocessing-jobs" / "post-old").write_text("")
    stale = cleanup.stale_job_dirs(staging, persistence, 10)
    assert stale == [old]
    assert young.exists() and active.exists() and post.exists()


def test_cleanup_keeps_a_job_still_writing(tmp_path):
    staging = tmp_path / "staging"
    job = _job(staging, "old-but-busy", 20)
    (job / "working" / "fresh.txt").write_text("new output")
    assert cleanup.stale_job_dirs(staging, tmp_path / "none", 10) == []


def test_cleanup_main_removes(tmp_path, capsys):
    staging, persistence = tmp_path / "staging", tmp_path / "persisted"
    old = _job(staging, "old", 20)
    app = tmp_path / "app.yml"
    app.write_text(yaml.safe_dump({"staging_directory": str(staging), "persistence_directory": str(persistence)}))
    assert cleanup.main(["--app-yml", str(app), "--max-age-days", "10", "--dry-run"]) == 0
    assert old.exists()
    assert cleanup.main(["--app-yml", str(app), "--max-age-days", "10"]) == 0
    assert not old.exists()
    assert cleanup.main(["--app-yml", str(app), "--max-age-days", "0"]) == 2


def test_cleanup_reports_what_it_cannot_remove(tmp_path, capsys, monkeypatch):
    staging = tmp_path / "staging"
    _job(staging, "old", 20)
    app = tmp_path / "app.yml"
    app.write_text(yaml.safe_dump({"staging_directory": str(staging), "persistence_directory": str(tmp_path / "p")}))

    def refuse(path, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(cleanup.shutil, "rmtree", refuse)
    assert cleanup.main(["--app-yml", str(app), "--max-age-days", "10"]) == 1
    assert "error: could not remove" in capsys.readouterr().err


# ---------------------------------------------------------------- health check


@pytest.mark.parametrize(
    "conf, names",
    [
        ({}, ["pulsar__setup"]),
        ({"managers": {"_default_": {}, "slurm": {}}}, ["pulsar__setup", "pulsar_slurm__setup"]),
        ({"amqp_key_prefix": "site1_", "managers": {"slurm": {}}}, ["site1__setup"]),
    ],
)
def test_setup_queue_names_follow_pulsar(conf, names):
    assert health.setup_queue_names(conf) == names


# ---------------------------------------------------------------- SlurmFinalState


@pytest.fixture
def slurm_plugin(tmp_path, monkeypatch):
    """The plugin inside a stand-in for pulsar.managers.util.cli.job (the same two names it imports)."""
    pkg = tmp_path / "fakejob"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(
        "from enum import Enum\n"
        "class job_states(str, Enum):\n"
        "    OK = 'complete'\n    RUNNING = 'running'\n    QUEUED = 'queued'\n    ERROR = 'failed'\n"
    )
    (pkg / "slurm.py").write_text(
        "from . import job_states\n"
        "class Slurm:\n"
        "    def __init__(self, **params):\n        self.params = params\n"
        "    def parse_single_status(self, status, job_id):\n"
        "        lines = status.splitlines()\n"
        "        if len(lines) > 1:\n            return self._get_job_state(lines[1].split()[1])\n"
        "        return job_states.OK\n"
    )
    (pkg / "galaxyops_slurm.py").write_text((FILES / "galaxyops_slurm.py").read_text())
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in [n for n in sys.modules if n.startswith("fakejob")]:
        monkeypatch.delitem(sys.modules, name)
    module = importlib.import_module("fakejob.galaxyops_slurm")
    states = importlib.import_module("fakejob").job_states
    return types.SimpleNamespace(plugin=module.SlurmFinalState(), states=states)


def test_slurm_plugin_asks_for_finished_jobs_too(slurm_plugin):
    assert "-t all" in slurm_plugin.plugin.get_single_status("42")
    assert "-t all" in slurm_plugin.plugin.get_status()


@pytest.mark.parametrize(
    "code, state",
    [("CD", "OK"), ("F", "ERROR"), ("NF", "ERROR"), ("TO", "ERROR"), ("OOM", "ERROR"), ("CA", "ERROR"),
     ("PD", "QUEUED"), ("R", "RUNNING"), ("CG", "RUNNING"), ("XX", "RUNNING")],
)  # fmt: skip
def test_slurm_plugin_maps_final_states(slurm_plugin, code, state):
    out = f"JOBID ST\n42 {code}\n"
    assert slurm_plugin.plugin.parse_single_status(out, "42") == getattr(slurm_plugin.states, state)


def test_slurm_plugin_forgotten_job_reads_complete(slurm_plugin):
    assert slurm_plugin.plugin.parse_single_status("JOBID ST\n", "42") == slurm_plugin.states.OK
