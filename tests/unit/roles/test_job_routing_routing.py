"""Training job routing proven, not just rendered: the job_routing role's files, rendered by Ansible itself, decide
where jobs of small user and tool objects go.

- TPV: the rendered tpv/training.yml is loaded by TPV's own loader and every job is mapped by TPV's own
  EntityToDestinationMapper (total-perspective-vortex is in the test venv). Galaxy itself is not: galaxy-app pulls
  about 150 packages, so the five Galaxy names TPV's modules import (the application and tool types, JobWrapper,
  JobDestination, the two mapping exceptions) are small stand-ins, installed only when Galaxy is missing. The full
  Molecule scenario maps real jobs through a real Galaxy.
- rule: the rendered galaxyops_job_rules/training.py is imported and its training_router called.

Both engines get the same cases, and the ids they return must be environments of the rendered job_conf.yml.
Users are duck-typed as Galaxy's are read: ``user.all_roles()`` (deleted roles included), ``role.name``,
``role.deleted``, ``user.email``; ``None`` is an anonymous user.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from tests.support.rendering import render_role

TASKS = """
    - ansible.builtin.template:
        {src: "%(root)s/templates/galaxy/tpv/training.yml.j2", dest: "%(out)s/training.yml", mode: "0600"}
    - ansible.builtin.template: {src: "%(role)s/templates/job_conf.yml.j2", dest: "%(out)s/job_conf.yml", mode: "0600"}
    - ansible.builtin.template:
        src: "%(root)s/templates/galaxy/dynamic_job_rules/galaxyops_job_rules/{{ item }}.j2"
        dest: "%(out)s/{{ item }}"
        mode: "0600"
      loop: "{{ _job_routing_rule_files }}"
    - ansible.builtin.copy:
        dest: "%(out)s/vars.json"
        mode: "0600"
        content: "{{ {'pattern': _job_routing_role_pattern, 'tpv_config': _job_routing_tpv_config,
                      'settings': job_routing_galaxy_settings,
                      'environment': job_routing_galaxy_environment} | to_json }}"
"""

# The pulsar role's own export for one REST endpoint, rendered by Ansible: the training destination is built from it
# exactly as group_vars/galaxyservers.yml does.
PULSAR_EXPORTS = """
    - ansible.builtin.copy:
        dest: "%(out)s/exports.json"
        mode: "0600"
        content: "{{ {'job_conf': pulsar_galaxy_job_conf, 'tpv': pulsar_galaxy_tpv_destination} | to_json }}"
"""
TOKEN = "token-for-routing-tests-0123456789"


@dataclass
class Role:
    name: str
    deleted: bool = False


@dataclass
class User:
    roles: list[Role] = field(default_factory=list)
    email: str = "user@example.org"
    username: str = "user"
    id: int = 1

    def all_roles(self) -> list[Role]:
        return self.roles


def trainee(*names: str, deleted: bool = False) -> User:
    return User([Role(name, deleted) for name in names])


# (case, user, tool id, where the job goes)
CASES = [
    ("trainee runs a tool", trainee("training-gcc2026"), "cat1", "training"),
    ("trainee through a group role among others", trainee("private role", "training-a"), "hostname_tool", "training"),
    ("trainee uploads", trainee("training-gcc2026"), "__DATA_FETCH__", "default"),
    ("trainee's set-metadata job", trainee("training-gcc2026"), "__SET_METADATA__", "default"),
    ("user without roles", User(), "cat1", "default"),
    ("user with another role", trainee("admins"), "cat1", "default"),
    ("anonymous", None, "cat1", "default"),
    ("deleted training role", trainee("training-gcc2026", deleted=True), "cat1", "default"),
    ("role named just training", trainee("training"), "cat1", "default"),
    ("role named just the prefix", trainee("training-"), "cat1", "default"),
    ("prefix not at the start", trainee("xtraining-a"), "cat1", "default"),
    ("prefix in other case", trainee("Training-a"), "cat1", "default"),
]


@pytest.fixture(scope="module")
def pulsar_export(tmp_path_factory) -> dict:
    variables = {"pulsar_endpoint_name": "training_pulsar", "pulsar_private_token": TOKEN,
                 "pulsar_public_hostname": "pulsar.example.org"}  # fmt: skip
    out = render_role(tmp_path_factory.mktemp("pulsar"), "pulsar", PULSAR_EXPORTS, variables)
    return json.loads((out / "exports.json").read_text())


def routing_variables(pulsar_export: dict, **extra) -> dict:
    return {
        "job_routing_training_destination": "training_pulsar",
        "job_routing_runners": {"local": {"load": "galaxy.jobs.runners.local:LocalJobRunner"},
                                **pulsar_export["job_conf"]["runners"]},
        "job_routing_destinations": {"local": {"runner": "local"}, **pulsar_export["tpv"]},
        **extra,
    }  # fmt: skip


def render(tmp_path: Path, pulsar_export: dict, **extra) -> Path:
    return render_role(tmp_path, "job_routing", TASKS, routing_variables(pulsar_export, **extra))


@pytest.fixture(scope="module")
def rendered(tmp_path_factory, pulsar_export) -> Path:
    return render(tmp_path_factory.mktemp("routing"), pulsar_export)


# --- TPV ------------------------------------------------------------------------------------------------


def _galaxy_stand_ins() -> None:
    """Install the Galaxy names TPV's modules import, unless Galaxy (galaxy-app) is installed."""
    try:
        import galaxy.jobs.mapper  # noqa: F401
    except ImportError:
        pass
    else:
        return

    class JobDestination:  # Galaxy's is a Bunch of these keyword arguments
        def __init__(self, **kwargs):
            self.__dict__.update(kwargs)

    class JobMappingException(Exception):
        pass

    class JobNotReadyException(Exception):
        pass

    for name, attributes in {
        "galaxy.app": {"UniverseApplication": object},
        "galaxy.jobs": {"JobDestination": JobDestination, "JobWrapper": object},
        "galaxy.jobs.mapper": {"JobMappingException": JobMappingException,
                               "JobNotReadyException": JobNotReadyException},
        "galaxy.tools": {"Tool": object},
    }.items():  # fmt: skip
        module = types.ModuleType(name)
        module.__dict__.update(attributes)
        sys.modules[name] = module


@dataclass
class Tool:
    id: str
    dynamic_tool: None = None
    tool_type: str = "default"


def tpv_mapper(tpv_config: Path):
    _galaxy_stand_ins()
    from tpv.core.loader import TPVConfigLoader
    from tpv.core.mapper import EntityToDestinationMapper

    return EntityToDestinationMapper(TPVConfigLoader.from_url_or_path(str(tpv_config)))


def tpv_route(mapper, user: User | None, tool_id: str):
    return mapper.map_to_destination(app=None, tool=Tool(tool_id), user=user, job=types.SimpleNamespace(id=1))


@pytest.fixture(scope="module")
def tpv(rendered):
    return tpv_mapper(rendered / "training.yml")


@pytest.mark.parametrize(("case", "user", "tool_id", "where"), CASES, ids=[c[0] for c in CASES])
def test_tpv_routes_trainees_and_nobody_else_to_training(tpv, case, user, tool_id, where):
    destination = tpv_route(tpv, user, tool_id)
    assert destination.id == {"training": "training_pulsar", "default": "local"}[where], case


def test_tpv_training_destination_is_the_pulsar_export(tpv, pulsar_export):
    """The job runs on the endpoint's runner with its URL and token, as the pulsar role exported them."""
    destination = tpv_route(tpv, trainee("training-a"), "cat1")
    exported = pulsar_export["tpv"]["training_pulsar"]
    assert destination.runner == exported["runner"]
    assert destination.params["url"] == exported["params"]["url"] == "http://pulsar.example.org:8913/"
    assert destination.params["private_token"] == TOKEN


def test_tpv_other_destinations_only_when_required(tmp_path, pulsar_export):
    """A third destination gets jobs only from entities that require its id; nobody lands there by chance."""
    big = {"runner": "local", "params": {"local_slots": 8}}
    extra = {"tools": {"bigtool": {"scheduling": {"require": ["big"]}}}}
    destinations = {"big": big, "local": {"runner": "local"}, **pulsar_export["tpv"]}
    out = render(tmp_path, pulsar_export, job_routing_tpv_config_extra=extra, job_routing_destinations=destinations)
    mapper = tpv_mapper(out / "training.yml")
    assert tpv_route(mapper, User(), "cat1").id == "local"
    assert tpv_route(mapper, None, "cat1").id == "local"
    assert tpv_route(mapper, User(), "bigtool").id == "big"
    assert tpv_route(mapper, trainee("training-a"), "cat1").id == "training_pulsar"


def test_tpv_prefix_and_local_tools_are_settings(tmp_path, pulsar_export):
    out = render(tmp_path, pulsar_export, job_routing_training_role_prefix="gtn.",
                 job_routing_local_tool_prefixes=["__", "upload"])  # fmt: skip
    mapper = tpv_mapper(out / "training.yml")
    assert tpv_route(mapper, trainee("gtn.course"), "cat1").id == "training_pulsar"
    assert tpv_route(mapper, trainee("gtnxcourse"), "cat1").id == "local"  # the dot is literal
    assert tpv_route(mapper, trainee("training-a"), "cat1").id == "local"
    assert tpv_route(mapper, trainee("gtn.course"), "upload1").id == "local"


# --- Dynamic rule ---------------------------------------------------------------------------------------


def import_rule(directory: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, directory / "training.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def rule(rendered):
    return import_rule(rendered, "galaxyops_job_rules_training_default")


@pytest.mark.parametrize(("case", "user", "tool_id", "where"), CASES, ids=[c[0] for c in CASES])
def test_rule_routes_trainees_and_nobody_else_to_training(rule, case, user, tool_id, where):
    assert (
        rule.training_router(user=user, tool_id=tool_id) == {"training": "training_pulsar", "default": "local"}[where]
    )


def test_rule_uses_the_roles_one_pattern(rendered, rule):
    """The rule's pattern is the role's _job_routing_role_pattern, not a copy."""
    assert rule.TRAINING_ROLE.pattern == json.loads((rendered / "vars.json").read_text())["pattern"]


def test_rule_package_imports_as_galaxy_imports_it(rendered, tmp_path):
    """Galaxy imports rules_module as a package and looks up the function in its submodules."""
    package = tmp_path / "rules" / "galaxyops_job_rules"
    package.mkdir(parents=True)
    for name in ("__init__.py", "training.py"):
        (package / name).write_text((rendered / name).read_text())
    sys.path.insert(0, str(package.parent))
    try:
        module = importlib.import_module("galaxyops_job_rules.training")
        assert module.training_router(user=trainee("training-x"), tool_id="cat1") == "training_pulsar"
    finally:
        sys.path.remove(str(package.parent))
        for name in [n for n in sys.modules if n.startswith("galaxyops_job_rules")]:
            del sys.modules[name]


# --- job_conf.yml ---------------------------------------------------------------------------------------


def test_job_conf_dispatches_through_tpv_by_default(rendered, pulsar_export):
    conf = yaml.safe_load((rendered / "job_conf.yml").read_text())
    variables = json.loads((rendered / "vars.json").read_text())
    execution = conf["execution"]
    assert execution["default"] == "tpv"
    assert execution["environments"]["tpv"] == {
        "runner": "dynamic", "type": "python", "function": "map_tool_to_destination", "rules_module": "tpv.rules",
        "tpv_config_files": [variables["tpv_config"]]}  # fmt: skip
    runner_id = pulsar_export["tpv"]["training_pulsar"]["runner"]
    assert conf["runners"][runner_id]["load"] == "galaxy.jobs.runners.pulsar:PulsarRESTJobRunner"
    assert set(conf["runners"]) == {"local", runner_id}


@pytest.mark.parametrize("engine", ["tpv", "rule"])
def test_every_id_either_engine_returns_is_an_environment(tmp_path, pulsar_export, engine):
    """Galaxy looks the returned id up in job_conf.yml's environments: each must be there, on a known runner."""
    out = render(tmp_path, pulsar_export, job_routing_engine=engine)
    conf = yaml.safe_load((out / "job_conf.yml").read_text())
    environments = conf["execution"]["environments"]
    default = environments[conf["execution"]["default"]]
    assert default["runner"] == "dynamic"
    if engine == "rule":
        assert default == {"runner": "dynamic", "type": "python", "function": "training_router",
                           "rules_module": "galaxyops_job_rules"}  # fmt: skip
        rule_module = import_rule(out, f"galaxyops_job_rules_training_{engine}")
        returned = {rule_module.training_router(user=u, tool_id=t) for _, u, t, _ in CASES}
    else:
        mapper = tpv_mapper(out / "training.yml")
        returned = {tpv_route(mapper, u, t).id for _, u, t, _ in CASES}
    assert returned == {"local", "training_pulsar"}
    for environment_id in returned:
        assert environments[environment_id]["runner"] in conf["runners"]
    assert environments["training_pulsar"]["private_token"] == TOKEN


def test_exports_point_galaxy_at_the_files(rendered):
    variables = json.loads((rendered / "vars.json").read_text())
    assert variables["settings"] == {"job_config_file": "/srv/galaxy/config/job_conf.yml", "watch_job_rules": True}
    assert variables["environment"] == {"PYTHONPATH": "/srv/galaxy/config/dynamic_job_rules"}


def test_extra_job_conf_settings_merge_without_losing_the_roles(tmp_path, pulsar_export):
    extra = {"handlers": {"assign": ["db-skip-locked"]}, "execution": {"environments": {"local": {"tmp_dir": True}}}}
    out = render(tmp_path, pulsar_export, job_routing_job_conf_extra=extra)
    conf = yaml.safe_load((out / "job_conf.yml").read_text())
    assert conf["handlers"] == {"assign": ["db-skip-locked"]}
    assert conf["execution"]["environments"]["local"] == {"runner": "local", "tmp_dir": True}
    assert conf["execution"]["default"] == "tpv"
