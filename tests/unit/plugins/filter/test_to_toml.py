"""The to_toml filter: whatever it writes, Python's tomllib reads back as the same values (the oracle)."""

from __future__ import annotations

import importlib.util
import random
import tomllib
from pathlib import Path

import pytest
from ansible.errors import AnsibleFilterError

spec = importlib.util.spec_from_file_location(
    "to_toml", Path(__file__).resolve().parents[4] / "plugins" / "filter" / "to_toml.py"
)
to_toml = importlib.util.module_from_spec(spec)
spec.loader.exec_module(to_toml)


def roundtrip(data):
    return tomllib.loads(to_toml.to_toml(data))


def test_every_character_round_trips():
    text = "".join(chr(c) for c in range(0, 0x800) if not 0xD800 <= c <= 0xDFFF) + "\U0001f600 \u2028\u2029\ufeff"
    assert roundtrip({"s": text}) == {"s": text}


def test_random_strings_round_trip():
    rng = random.Random(9)
    alphabet = [chr(c) for c in (*range(0, 0x80), 0xA0, 0x85, 0x2028, 0xFFFD, 0x1F600)] + ['"""', "'''", "\\u0041"]
    for _ in range(500):
        value = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
        assert roundtrip({"key": value}) == {"key": value}


def test_types_and_keys():
    data = {
        "allowed_hosts": ["galaxy.example.org", 'quote"d'],
        "debug": False,
        "workers": 4,
        "ratio": 0.25,
        "empty": [],
        "a key with spaces": "x",
        "dotted.key": "y",
        "": "empty key",
    }
    assert roundtrip(data) == data


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"nested": {"a": 1}}, "key 'nested' is a dict"),
        ({"nothing": None}, "key 'nothing' is null"),
        ({"mixed": [1, {"a": 1}]}, "key 'mixed' is a dict"),
        ("not a mapping", "expected a mapping"),
    ],
)
def test_refuses_what_it_cannot_write(data, message):
    with pytest.raises(AnsibleFilterError, match=message):
        to_toml.to_toml(data)
