"""Unit tests for plugins/modules/postgresql_grants.py: documentation vs argument spec, early failures."""

from __future__ import annotations

import json
from unittest import mock

import pytest
import yaml
from ansible.module_utils.testing import patch_module_args
from ansible_collections.galaxyops.infrastructure.plugins.doc_fragments import _postgres as fragment
from ansible_collections.galaxyops.infrastructure.plugins.module_utils import _postgres
from ansible_collections.galaxyops.infrastructure.plugins.modules import postgresql_grants as mod


class _Captured(Exception):
    pass


def captured_argument_spec() -> dict:
    """The argument_spec main() passes to AnsibleModule."""
    with mock.patch.object(mod, "AnsibleModule", side_effect=_Captured) as module_cls, pytest.raises(_Captured):
        mod.main()
    return module_cls.call_args.kwargs["argument_spec"]


def documented_options() -> dict:
    options = dict(yaml.safe_load(fragment.ModuleDocFragment.DOCUMENTATION)["options"])
    options.update(yaml.safe_load(mod.DOCUMENTATION)["options"])
    return options


def normalize_doc(options: dict) -> dict:
    result = {}
    for name, doc in options.items():
        entry = {"type": doc.get("type", "str")}
        for key in ("default", "choices", "elements", "required", "no_log", "aliases"):
            if key in doc:
                entry[key] = doc[key]
        if "suboptions" in doc:
            entry["options"] = normalize_doc(doc["suboptions"])
        result[name] = entry
    return result


def normalize_spec(spec: dict) -> dict:
    result = {}
    for name, value in spec.items():
        entry = {k: v for k, v in value.items() if k not in ("options", "no_log")}
        if value.get("options"):
            entry["options"] = normalize_spec(value["options"])
        result[name] = entry
    return result


def test_documentation_matches_argument_spec():
    spec = captured_argument_spec()
    doc = normalize_doc(documented_options())
    for entry in doc.values():
        entry.pop("no_log", None)
    assert normalize_spec(spec) == doc


def test_password_is_no_log():
    assert captured_argument_spec()["login_password"]["no_log"] is True


def test_documentation_blocks_parse():
    docs = yaml.safe_load(mod.DOCUMENTATION)
    assert set(docs["attributes"]) == {"check_mode", "diff_mode", "idempotent"}
    assert "galaxyops.infrastructure._postgres" in docs["extends_documentation_fragment"]
    assert isinstance(yaml.safe_load(mod.EXAMPLES), list)
    assert {"queries", "rolled_back", "missing", "driver", "diff"} <= set(yaml.safe_load(mod.RETURN))


def run_module(capsys, args: dict) -> dict:
    with patch_module_args(args), pytest.raises(SystemExit):
        mod.main()
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize(
    ("grants", "message"),
    [
        (
            [{"objects": ["galaxy_user"], "privileges": ["USAGE"]}],
            "grants[0] (type table, objects galaxy_user): privilege USAGE is not valid for a table",
        ),
        (
            [{"type": "schema", "objects": ["public"], "privileges": ["SELECT"]}],
            "privilege SELECT is not valid for a schema",
        ),
        ([{"privileges": ["SELECT"]}], "grants[0] (type table): objects is empty"),
    ],
)
def test_invalid_grants_fail_before_connecting(capsys, grants, message):
    with mock.patch.object(mod, "connect", side_effect=AssertionError("must not connect")):
        result = run_module(capsys, {"roles": ["tiaas"], "grants": grants})
    assert result["failed"] is True
    assert message in result["msg"]
    assert result["msg"].startswith("Invalid arguments, nothing was changed")
    assert result["changed"] is False


def test_unknown_suboption_is_rejected(capsys):
    result = run_module(capsys, {"roles": ["r"], "grants": [{"objects": ["t"], "privileges": ["SELECT"], "bogus": 1}]})
    assert result["failed"] is True
    assert "bogus" in result["msg"]


def test_missing_driver_is_reported(capsys):
    with mock.patch.object(_postgres, "_import", side_effect=ImportError("No module named 'psycopg2'")):
        result = run_module(capsys, {"roles": ["r"], "grants": [{"objects": ["t"], "privileges": ["SELECT"]}]})
    assert result["failed"] is True
    assert result["changed"] is False
    assert "psycopg2 2.7+ (python3-psycopg2) or psycopg 3.1+ (python3-psycopg)" in result["msg"]


def test_negative_missing_timeout_is_refused_before_connecting(capsys):
    with mock.patch.object(mod, "connect", side_effect=AssertionError("must not connect")):
        result = run_module(
            capsys,
            {"roles": ["r"], "grants": [{"objects": ["t"], "privileges": ["SELECT"]}], "missing_timeout": -5},
        )
    assert result["failed"] is True
    assert "missing_timeout must be 0 or more seconds, got -5" in result["msg"]
