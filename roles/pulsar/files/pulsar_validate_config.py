"""Check a Pulsar endpoint's app.yml and server.ini before Pulsar uses them.

Installed by the galaxyops.infrastructure.pulsar role and run with the endpoint's virtualenv Python:
as the `validate:` command of both templates, in the restart handler and as the unit's ExecStartPre.
Prints one line per problem (never a secret) and exits 1 when there is any.

    pulsar-validate-config --app-yml /etc/pulsar/app.yml --server-ini /etc/pulsar/server.ini
"""

from __future__ import annotations

import argparse
import configparser
import os
import ssl
import sys
from collections.abc import Iterable
from urllib.parse import urlsplit

import yaml

MIN_TOKEN_LENGTH = 16
# Published defaults (Pulsar's samples, the upstream role, tutorials); kept in step with the role's vars/main.yml.
REFUSED_TOKENS = {
    "changeme",
    "changemeinproduction",
    "change_me",
    "secret",
    "password",
    "pulsar",
    "token",
    "your_private_token",
    "your-private-token",
    "private_token",
    "changeme_private_token",
}
AMQP_SCHEMES = {"amqp", "amqps", "pyamqp"}


def known_manager_types() -> set[str] | None:
    """Manager types of the installed Pulsar; None when Pulsar is not importable."""
    try:
        from pulsar.manager_factory import _get_managers_dict
    except ImportError:
        return None
    return set(_get_managers_dict())


def known_cli_job_plugins() -> set[str] | None:
    try:
        from pulsar.managers.util.cli import CliInterface
    except ImportError:
        return None
    return set(CliInterface().cli_job_interfaces)


def check_app_config(
    conf: object,
    manager_types: Iterable[str] | None = None,
    job_plugins: Iterable[str] | None = None,
) -> list[str]:
    """Problems of an app.yml document (already parsed)."""
    if not isinstance(conf, dict):
        return ["app.yml: the document is not a mapping"]
    problems: list[str] = []
    token = conf.get("private_token")
    if not isinstance(token, str) or len(token) < MIN_TOKEN_LENGTH or token.lower() in REFUSED_TOKENS:
        problems.append(
            f"app.yml: private_token is missing, shorter than {MIN_TOKEN_LENGTH} characters or a published default; "
            "without it Pulsar accepts jobs from anyone"
        )
    for key in ("staging_directory", "persistence_directory"):
        value = conf.get(key)
        if not isinstance(value, str) or not os.path.isabs(value):
            problems.append(f"app.yml: {key} must be an absolute path")
    if conf.get("persistence_directory") == "__none__":
        problems.append("app.yml: persistence_directory is __none__: jobs would not survive a restart")
    managers = conf.get("managers")
    if not isinstance(managers, dict) or not managers:
        problems.append("app.yml: managers must be a non-empty mapping")
        managers = {}
    types = set(manager_types) if manager_types is not None else None
    plugins = set(job_plugins) if job_plugins is not None else None
    for name, manager in managers.items():
        if not isinstance(manager, dict):
            problems.append(f"app.yml: managers.{name} is not a mapping")
            continue
        mtype = manager.get("type", "queued_python")
        if types is not None and mtype not in types:
            problems.append(f"app.yml: managers.{name}.type {mtype!r} is not a manager type of this Pulsar")
        if mtype == "queued_cli":
            plugin = manager.get("job_plugin")
            if not plugin:
                problems.append(f"app.yml: managers.{name} (queued_cli) needs job_plugin")
            elif plugins is not None and plugin not in plugins:
                problems.append(
                    f"app.yml: managers.{name}.job_plugin {plugin!r} is unknown (known: {', '.join(sorted(plugins))})"
                )
        if mtype == "queued_python":
            slots = manager.get("num_concurrent_jobs", 1)
            if slots != "*" and not (isinstance(slots, int) and slots > 0):
                problems.append(f"app.yml: managers.{name}.num_concurrent_jobs must be a positive integer or '*'")
    url = conf.get("message_queue_url")
    if url is not None:
        scheme = urlsplit(str(url)).scheme
        if scheme not in AMQP_SCHEMES:
            problems.append(f"app.yml: message_queue_url scheme {scheme!r} is not one of {sorted(AMQP_SCHEMES)}")
        ca = conf.get("amqp_connect_ssl_ca_certs")
        if ca and not os.access(ca, os.R_OK):
            problems.append(f"app.yml: amqp_connect_ssl_ca_certs {ca} is missing or not readable")
    return problems


def check_server_ini(text: str) -> list[str]:
    """Problems of a server.ini; a configured ssl_pem must exist and hold a usable certificate and key."""
    parser = configparser.ConfigParser()
    try:
        parser.read_string(text)
    except configparser.Error as exc:
        return [f"server.ini: does not parse: {exc.__class__.__name__}"]
    problems: list[str] = []
    if not parser.has_section("app:main") or not parser.get("app:main", "app_config", fallback=""):
        problems.append("server.ini: [app:main] app_config is missing")
    if parser.has_section("server:main"):
        port = parser.get("server:main", "port", fallback="8913")
        if not port.isdigit() or not 0 < int(port) < 65536:
            problems.append(f"server.ini: port {port!r} is not a TCP port")
        pem = parser.get("server:main", "ssl_pem", fallback="")
        if pem:
            problems.extend(check_pem(pem))
    return problems


def check_pem(pem: str) -> list[str]:
    if not os.path.isfile(pem):
        return [
            f"server.ini: ssl_pem {pem} does not exist: pulsar-serve would silently serve plain HTTP; refusing to start"
        ]
    if not os.access(pem, os.R_OK):
        return [f"server.ini: ssl_pem {pem} is not readable by this user"]
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(pem)
    except (ssl.SSLError, OSError) as exc:
        return [f"server.ini: ssl_pem {pem} does not hold a certificate and its private key ({exc.__class__.__name__})"]
    return []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--app-yml")
    parser.add_argument("--server-ini")
    args = parser.parse_args(argv)
    if not args.app_yml and not args.server_ini:
        parser.error("give --app-yml, --server-ini or both")
    problems: list[str] = []
    if args.app_yml:
        try:
            with open(args.app_yml, encoding="utf-8") as handle:
                conf = yaml.safe_load(handle)
        except (OSError, yaml.YAMLError) as exc:
            problems.append(f"app.yml: cannot be read as YAML ({exc.__class__.__name__})")
        else:
            problems.extend(check_app_config(conf, known_manager_types(), known_cli_job_plugins()))
    if args.server_ini:
        try:
            with open(args.server_ini, encoding="utf-8") as handle:
                problems.extend(check_server_ini(handle.read()))
        except OSError as exc:
            problems.append(f"server.ini: cannot be read ({exc.__class__.__name__})")
    for line in problems:
        print(f"error: {line}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
