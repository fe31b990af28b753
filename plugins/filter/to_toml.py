# Copyright: galaxyops developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The to_toml filter: a flat mapping as a TOML 1.0 document (the TIaaS configuration file).

Ansible's controller has no TOML writer (Python's tomllib only reads, and tomli-w or tomlkit would be one more
package every operator must install next to ansible-core). The TIaaS configuration is one flat table of
strings, integers, floats, booleans and arrays of those, so this filter writes exactly that subset and refuses
anything else by name. Strings are TOML basic strings: every character that TOML requires to be escaped
(quotation mark, backslash, U+0000-U+001F, U+007F) is escaped, everything else is written as is. The unit tests
read the output back with tomllib; the role also lets TIaaS itself parse the file before it goes live.
"""

from __future__ import annotations

import math
import re

from ansible.errors import AnsibleFilterError

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_SHORT_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def _string(value):
    out = []
    for char in value:
        if char in _SHORT_ESCAPES:
            out.append(_SHORT_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _key(key):
    if not isinstance(key, str):
        raise AnsibleFilterError(f"to_toml: key {key!r} is not a string")
    return key if _BARE_KEY.match(key) else _string(key)


def _value(value, where):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_value(item, where) for item in value) + "]"
    if value is None:
        raise AnsibleFilterError(f"to_toml: {where} is null; TOML has no null (leave the key out instead)")
    raise AnsibleFilterError(
        f"to_toml: {where} is a {type(value).__name__}; only strings, numbers, booleans and lists of them are supported"
    )


def to_toml(data):
    """Render a flat mapping as TOML, one ``key = value`` line per item in the mapping's order."""
    if not isinstance(data, dict):
        raise AnsibleFilterError(f"to_toml: expected a mapping, got {type(data).__name__}")
    return "".join(f"{_key(key)} = {_value(value, f'key {key!r}')}\n" for key, value in data.items())


class FilterModule:
    """TOML output for flat mappings."""

    def filters(self):
        return {"to_toml": to_toml}
