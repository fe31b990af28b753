"""Which secrets TIaaS refuses: the one home of that rule, for the production settings and the deploy role.

Standard library only, so the deploy role can run this file with the Ansible controller's Python before it
changes anything on a host::

    python secret_policy.py < secrets.json     # {"secret_key": ..., "galaxy_id_secret": ..., "admin_password": ...}

prints one line per refused secret (naming it, never showing it) and exits 1 when there is any.
"""

from __future__ import annotations

import json
import sys

# Secrets that were published as defaults somewhere (the reference TIaaS, Galaxy's sample config, GTN).
KNOWN_DEFAULT_SECRETS = frozenset(
    {
        "",
        "changeme",
        "changethis",
        "changethisinproductiontoo",
        "secret",
        "using the default is bad news bears",
        "using the default is not secure!",
    }
)
# Admin passwords of the reference role and the Galaxy admin training.
KNOWN_DEFAULT_ADMIN_PASSWORDS = KNOWN_DEFAULT_SECRETS | {"admin", "password", "tiaas"}

SECRET_KEY_MIN_LENGTH = 50
GALAXY_ID_SECRET_MIN_LENGTH = 5
# Galaxy's id_secret is a Blowfish key: at most 56 bytes.
GALAXY_ID_SECRET_MAX_BYTES = 56


def secret_problem(name: str, value: str, min_length: int) -> str | None:
    """Why ``value`` is refused as the secret ``name`` (empty, a published default, too short), or None."""
    if value.strip().lower() in KNOWN_DEFAULT_SECRETS:
        return f"{name} is empty or a published default: set a long random value"
    if len(value) < min_length:
        return f"{name} is too short ({len(value)} characters, need at least {min_length})"
    return None


def galaxy_id_secret_problem(value: str) -> str | None:
    problem = secret_problem("galaxy_id_secret", value, GALAXY_ID_SECRET_MIN_LENGTH)
    if problem is None and len(value.encode()) > GALAXY_ID_SECRET_MAX_BYTES:
        problem = "galaxy_id_secret is longer than 56 bytes; Galaxy's Blowfish key cannot be that long"
    return problem


def admin_password_problem(value: str) -> str | None:
    if value.strip().lower() in KNOWN_DEFAULT_ADMIN_PASSWORDS:
        return "the admin password is empty or a published default: set a strong one from a vault"
    return None


def problems(secrets: dict[str, str]) -> list[str]:
    """Every refusal for the secrets given (secret_key, galaxy_id_secret, admin_password; absent: not checked)."""
    found = []
    if "secret_key" in secrets:
        found.append(secret_problem("secret_key", str(secrets["secret_key"]), SECRET_KEY_MIN_LENGTH))
    if "galaxy_id_secret" in secrets:
        found.append(galaxy_id_secret_problem(str(secrets["galaxy_id_secret"])))
    if "admin_password" in secrets:
        found.append(admin_password_problem(str(secrets["admin_password"])))
    return [p for p in found if p]


def main() -> int:
    try:
        secrets = json.load(sys.stdin)
    except ValueError:
        print("expected a JSON object on stdin")
        return 2
    if not isinstance(secrets, dict):
        print("expected a JSON object on stdin")
        return 2
    found = problems(secrets)
    for problem in found:
        print(problem)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
