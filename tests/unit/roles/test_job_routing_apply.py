"""The job_routing role applied to this machine (connection local) in a temporary configuration directory: it writes
its files with the owner, group and modes it promises, changes nothing on a second run, writes nothing in check mode
on a fresh host, and a Galaxy service that does not run is not restarted (nor is its absence an error)."""

from __future__ import annotations

import getpass
import grp
import os
import stat
from pathlib import Path

import pytest

from tests.support.molecule import recap_changed
from tests.support.rendering import run_role_tasks

APPLY = """
    - ansible.builtin.include_role: {name: "%(role)s"}
"""
CHECK = """
    - check_mode: true
      block:
        - ansible.builtin.include_role: {name: "%(role)s"}
"""
FILES = ["job_conf.yml", "tpv/training.yml", "dynamic_job_rules/galaxyops_job_rules/__init__.py",
         "dynamic_job_rules/galaxyops_job_rules/training.py"]  # fmt: skip


def variables(config_dir: Path, **extra) -> dict:
    return {
        "job_routing_config_dir": str(config_dir),
        "job_routing_owner": getpass.getuser(),
        "job_routing_group": grp.getgrgid(os.getgid()).gr_name,
        "job_routing_galaxy_service": "gxops-no-such-galaxy",
        "job_routing_training_destination": "training_pulsar",
        "job_routing_runners": {"local": {"load": "galaxy.jobs.runners.local:LocalJobRunner"},
                                "pulsar_rest_a": {"load": "galaxy.jobs.runners.pulsar:PulsarRESTJobRunner"}},
        "job_routing_destinations": {
            "local": {"runner": "local"},
            "training_pulsar": {"runner": "pulsar_rest_a",
                                "params": {"url": "http://a:8913/", "private_token": "token-for-apply-0123456789"}},
        },
        **extra,
    }  # fmt: skip


def run(tmp_path: Path, name: str, tasks: str, values: dict):
    directory = tmp_path / name
    directory.mkdir()
    res, _ = run_role_tasks(directory, "job_routing", tasks, values)
    assert res.returncode == 0, res.stdout[-3000:]
    return res


def test_writes_files_then_changes_nothing(tmp_path):
    config = tmp_path / "config"
    first = run(tmp_path, "first", APPLY, variables(config))
    assert recap_changed(first.stdout)["localhost"] > 0
    for name in FILES:
        mode = stat.S_IMODE((config / name).stat().st_mode)
        assert mode == 0o640, (name, oct(mode))
    for directory in ("tpv", "dynamic_job_rules", "dynamic_job_rules/galaxyops_job_rules"):
        assert stat.S_IMODE((config / directory).stat().st_mode) == 0o750
    assert "private_token" in (config / "job_conf.yml").read_text()
    assert "token-for-apply" not in first.stdout  # no_log on the files that hold tokens
    second = run(tmp_path, "second", APPLY, variables(config))
    assert recap_changed(second.stdout)["localhost"] == 0, second.stdout[-3000:]


def test_check_mode_on_a_fresh_host_writes_nothing(tmp_path):
    config = tmp_path / "config"
    run(tmp_path, "check", CHECK, variables(config))
    assert not config.exists()


def test_an_existing_configuration_directory_is_left_as_it_is(tmp_path):
    config = tmp_path / "config"
    config.mkdir(mode=0o755)
    config.chmod(0o755)
    run(tmp_path, "apply", APPLY, variables(config))
    assert stat.S_IMODE(config.stat().st_mode) == 0o755


def test_engine_switch_changes_only_job_conf(tmp_path):
    config = tmp_path / "config"
    run(tmp_path, "tpv", APPLY, variables(config))
    before = {name: (config / name).read_text() for name in FILES}
    run(tmp_path, "rule", APPLY, variables(config, job_routing_engine="rule"))
    after = {name: (config / name).read_text() for name in FILES}
    assert [name for name in FILES if before[name] != after[name]] == ["job_conf.yml"]
    assert "default: training_rule" in after["job_conf.yml"]


@pytest.mark.parametrize("group", ["gxops-no-such-group"])
def test_missing_galaxy_group_fails_naming_the_variable(tmp_path, group):
    directory = tmp_path / "run"
    directory.mkdir()
    res, _ = run_role_tasks(directory, "job_routing", APPLY, variables(tmp_path / "config", job_routing_group=group))
    assert res.returncode != 0
    assert "job_routing_group" in res.stdout and group in res.stdout
    assert not (tmp_path / "config").exists()
