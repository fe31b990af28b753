"""The site playbook and the reference configuration (group_vars/) together, on a fake inventory of local hosts.

The first play ("Check the configuration") runs in check mode with the repository's group_vars/ next to the
inventory, as an operator's copy would be. With the vault values given it passes; a missing vault secret, a Pulsar
token left at a default and an unknown routing destination each stop it with one message naming the variable, before
any other play starts. Nothing here needs Docker: every host is this machine (connection local, no become).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.support.checkout import REPO_ROOT, ensure_collection_link

PLAYBOOK = REPO_ROOT / "playbooks" / "galaxy.yml"
FIRST_PLAY = "PLAY [Check the configuration]"
LATER_PLAYS = ("PLAY [Databases", "PLAY [RabbitMQ", "PLAY [Pulsar endpoints", "PLAY [Galaxy's web front")


def vault_variables() -> list[str]:
    """The list the first play checks, from its one home."""
    return yaml.safe_load((REPO_ROOT / "group_vars" / "all.yml").read_text())["galaxyops_vault_variables"]


def good_vault() -> dict[str, str]:
    """A random-looking value per vault variable that every policy takes: 52 characters (TIaaS wants 50+ for its
    secret key, Galaxy's id_secret at most 56 bytes)."""
    return {name: hashlib.sha256(name.encode()).hexdigest()[:52] for name in vault_variables()}


def failure_messages(stdout: str) -> list[str]:
    """The failure reports (from `fatal:` or `failed:` to the next task or the recap), whitespace collapsed."""
    reports, current = [], None
    for line in stdout.splitlines():
        if line.startswith(("fatal:", "failed:")):
            current = [line]
            reports.append(current)
        elif line.startswith(("TASK [", "PLAY RECAP", "NO MORE HOSTS", "PLAY [")):
            current = None
        elif current is not None:
            current.append(line)
    return [" ".join(" ".join(report).split()) for report in reports]


def run_site(tmp_path: Path, vault: dict, host_vars: dict | None = None, extra: dict | None = None,
             only_checks: bool = True) -> subprocess.CompletedProcess:  # fmt: skip
    """Run playbooks/galaxy.yml in check mode against five local hosts, with the reference group_vars/."""
    tls = tmp_path / "tls"
    tls.mkdir()
    for name in ("fullchain.pem", "privkey.pem"):
        (tls / name).write_text("not read by the preflight, only looked for\n")
    local = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
    hosts = {
        "db1": {},
        "mq1": {"rabbitmq_pulsar_tls_cert": str(tls / "fullchain.pem"),
                "rabbitmq_pulsar_tls_key": str(tls / "privkey.pem")},
        "site1": {},
        "site2": {},
        "galaxy1": {},
    }  # fmt: skip
    for host, values in (host_vars or {}).items():
        hosts[host].update(values)
    inventory = {
        "all": {
            "hosts": {host: {**local, **values} for host, values in hosts.items()},
            "children": {
                "dbservers": {"hosts": {"db1": {}}},
                "pulsar_brokers": {"hosts": {"mq1": {}}},
                "pulsarservers": {"hosts": {"site1": {}, "site2": {}}},
                "galaxyservers": {"hosts": {"galaxy1": {}}},
            },
        }
    }
    (tmp_path / "inventory.yml").write_text(yaml.safe_dump(inventory))
    (tmp_path / "group_vars").symlink_to(REPO_ROOT / "group_vars", target_is_directory=True)
    (tmp_path / "extra.json").write_text(json.dumps({"ansible_become": False, **vault, **(extra or {})}))
    env = {**os.environ, "ANSIBLE_COLLECTIONS_PATH": str(ensure_collection_link()), "ANSIBLE_FORCE_COLOR": "false",
           "ANSIBLE_NOCOLOR": "1", "ANSIBLE_RETRY_FILES_ENABLED": "false"}  # fmt: skip
    command = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(tmp_path / "inventory.yml"),
               str(PLAYBOOK), "--check", "-e", f"@{tmp_path / 'extra.json'}"]  # fmt: skip
    if only_checks:
        command += ["--tags", "galaxyops_check", "--skip-tags", "always"]  # "always": later plays' argument checks
    return subprocess.run(command, capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path, check=False)


def assert_stopped_early_naming(res: subprocess.CompletedProcess, variable: str) -> None:
    output = res.stdout + res.stderr
    assert res.returncode != 0, output[-3000:]
    assert FIRST_PLAY in res.stdout
    assert not [play for play in LATER_PLAYS if play in res.stdout], "a later play ran: " + output[-3000:]
    messages = failure_messages(res.stdout)
    assert len(messages) == 1, messages
    assert variable in messages[0], output[-3000:]
    assert "Traceback" not in output


@pytest.mark.parametrize("playbook", [str(PLAYBOOK), "galaxyops.infrastructure.galaxy"])
def test_playbook_loads_by_path_and_by_collection_name(playbook):
    """The file, and the same playbook by its collection name (as an installed collection's users run it)."""
    env = {**os.environ, "ANSIBLE_COLLECTIONS_PATH": str(ensure_collection_link())}
    res = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "--list-tasks", "-i", "localhost,",
         playbook],
        capture_output=True, text=True, timeout=120, env=env, check=False, cwd="/",
    )  # fmt: skip
    assert res.returncode == 0, res.stdout + res.stderr
    assert "play #1 (dbservers:pulsar_brokers:pulsarservers:galaxyservers): Check the configuration" in res.stdout


def test_first_play_checks_every_group_before_the_others():
    plays = yaml.safe_load(PLAYBOOK.read_text())
    first = plays[0]
    assert first["name"] == "Check the configuration"
    assert first["any_errors_fatal"] is True
    assert set(first["hosts"].split(":")) == {"dbservers", "pulsar_brokers", "pulsarservers", "galaxyservers"}
    assert [play["hosts"] for play in plays[1:]] == ["dbservers", "pulsar_brokers", "pulsarservers", "galaxyservers"]
    galaxy_roles = [role["role"].rsplit(".", 1)[1] for role in plays[-1]["roles"]]
    assert galaxy_roles == ["tiaas", "gie_proxy", "nginx_routes", "job_routing"]
    checked = {task["ansible.builtin.import_role"]["name"].rsplit(".", 1)[1] for task in first["tasks"]
               if task.get("ansible.builtin.import_role", {}).get("tasks_from") == "preflight"}  # fmt: skip
    assert checked == {path.name for path in (REPO_ROOT / "roles").iterdir() if (path / "tasks/preflight.yml").exists()}


def test_vault_list_covers_every_vault_variable_the_reference_uses():
    used = set()
    for path in (REPO_ROOT / "group_vars").glob("*.yml"):
        code = "\n".join(line.split("#", 1)[0] for line in path.read_text().splitlines())
        used |= {name for name in re.findall(r"\bvault_\w+", code) if not name.endswith("_")}
    # pulsarservers.yml reads vault_amqp_<endpoint> by name: one per broker endpoint.
    brokers = yaml.safe_load((REPO_ROOT / "group_vars" / "pulsar_brokers.yml").read_text())
    used |= {f"vault_amqp_{endpoint['name']}" for endpoint in brokers["rabbitmq_pulsar_endpoints"]}
    assert used == set(vault_variables())


def test_reference_configuration_passes_with_the_vault_values(tmp_path):
    res = run_site(tmp_path, good_vault())
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    assert FIRST_PLAY in res.stdout
    assert "job_routing : Check the default and training destinations exist" in res.stdout
    recap = res.stdout[res.stdout.index("PLAY RECAP") :]
    for host in ("db1", "mq1", "site1", "site2", "galaxy1"):
        assert f"{host} " in recap
    assert "failed=0" in recap and "changed=0" in recap


@pytest.mark.parametrize("missing", ["vault_tiaas_secret_key", "vault_pulsar_private_token", "vault_amqp_site2"])
def test_missing_vault_secret_stops_before_any_change(tmp_path, missing):
    vault = {name: value for name, value in good_vault().items() if name != missing}
    assert_stopped_early_naming(run_site(tmp_path, vault, only_checks=False), missing)


@pytest.mark.parametrize("value", ["", "changeme", "CHANGEME", "secret"])
def test_default_vault_secret_stops_before_any_change(tmp_path, value):
    vault = {**good_vault(), "vault_pulsar_private_token": value}
    assert_stopped_early_naming(run_site(tmp_path, vault, only_checks=False), "vault_pulsar_private_token")


def test_pulsar_token_left_at_a_default_on_a_rest_endpoint_stops_before_any_change(tmp_path):
    """The vault is fine, but the inventory sets the training endpoint's token to a published default itself."""
    host_vars = {"site1": {"pulsar_rest_enabled": True, "pulsar_private_token": "changemeinproduction"}}
    res = run_site(tmp_path, good_vault(), host_vars=host_vars, only_checks=False)
    assert_stopped_early_naming(res, "job_routing_destinations.site1.params.private_token")
    assert "pulsar_private_token" in failure_messages(res.stdout)[0]
    assert "changemeinproduction" not in res.stdout


def test_unknown_routing_destination_stops_before_any_change(tmp_path):
    res = run_site(tmp_path, good_vault(), extra={"job_routing_training_destination": "site3"}, only_checks=False)
    assert_stopped_early_naming(res, "job_routing_training_destination")
    assert "known: local, site1, site2" in failure_messages(res.stdout)[0]


def test_job_routing_can_be_switched_off(tmp_path):
    """With galaxyops_job_routing_enabled false, a broken routing setting is not checked (the role does not run)."""
    extra = {"galaxyops_job_routing_enabled": False, "job_routing_training_destination": "site3"}
    res = run_site(tmp_path, good_vault(), extra=extra)
    assert res.returncode == 0, res.stdout[-4000:]


@pytest.mark.parametrize(
    ("gie_proxy_enabled", "expected"),
    [(True, ["*.ep.interactivetool.galaxy.test", "extra.galaxy.test"]), (False, ["extra.galaxy.test"])],
)
def test_self_signed_names_are_the_proxy_wildcard_then_the_inventory_s_own(tmp_path, gie_proxy_enabled, expected):
    """The galaxyservers play sets nginx_routes_tls_selfsigned_extra_names; the inventory's names still get in."""
    play = yaml.safe_load(PLAYBOOK.read_text())[-1]
    nginx = next(role for role in play["roles"] if role["role"].endswith(".nginx_routes"))
    expression = nginx["vars"]["nginx_routes_tls_selfsigned_extra_names"]
    values = {
        "galaxyops_gie_proxy_enabled": gie_proxy_enabled,
        "gie_proxy_tls_names": ["*.ep.interactivetool.galaxy.test"],
        "nginx_routes_extra_tls_names": ["extra.galaxy.test"],
    }
    (tmp_path / "values.json").write_text(json.dumps(values))
    res = subprocess.run(
        [str(Path(sys.executable).parent / "ansible"), "localhost", "-c", "local", "-m", "ansible.builtin.debug",
         "-a", f"msg={expression.strip()}", "-e", f"@{tmp_path / 'values.json'}", "-o"],
        capture_output=True, text=True, timeout=120, check=False, env={**os.environ, "ANSIBLE_NOCOLOR": "1"},
    )  # fmt: skip
    assert res.returncode == 0, res.stdout + res.stderr
    assert json.loads(res.stdout.split("=>", 1)[1])["msg"] == expected, res.stdout
