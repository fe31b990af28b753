"""Is this Pulsar endpoint usable? One line of answer, exit 0 (healthy) or 1 (not).

REST: GET /healthz with the private token must answer 200 with Pulsar's version.
Message queue: the broker must accept the endpoint's credentials and every manager's setup queue must
have a consumer (Pulsar attached to it). A Pulsar whose broker is down keeps running and retrying, so
`systemctl is-active` alone says nothing; this check does.

Installed by the galaxyops.infrastructure.pulsar role; run by <service>-healthcheck.timer.
"""

from __future__ import annotations

import argparse
import configparser
import json
import ssl
import sys
import urllib.error
import urllib.parse
import urllib.request

import yaml

TIMEOUT = 10


def setup_queue_names(conf: dict) -> list[str]:
    """The queue each manager consumes setup messages from (Pulsar's naming: pulsar_[<manager>]__setup)."""
    prefix = conf.get("amqp_key_prefix")
    names = []
    for manager in conf.get("managers") or {"_default_": {}}:
        if prefix is not None:
            key_prefix = prefix
        elif manager == "_default_":
            key_prefix = "pulsar_"
        else:
            key_prefix = f"pulsar_{manager}_"
        names.append(f"{key_prefix}_setup")
    return names


def check_rest(conf: dict, server: configparser.SectionProxy) -> str | None:
    port = server.get("port", "8913")
    tls = bool(server.get("ssl_pem", ""))
    url = "{}://127.0.0.1:{}/healthz?{}".format(
        "https" if tls else "http", port, urllib.parse.urlencode({"private_token": conf.get("private_token", "")})
    )
    context = None
    if tls:
        # Loopback liveness probe: the certificate names the public host, not 127.0.0.1.
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT, context=context) as answer:  # noqa: S310 (fixed scheme)
            body = json.loads(answer.read().decode("utf-8") or "{}")
    except urllib.error.HTTPError as exc:
        return f"REST /healthz answered HTTP {exc.code}"
    except (OSError, ValueError) as exc:
        return f"REST /healthz on port {port} does not answer ({exc.__class__.__name__}: {exc})"
    if "version" not in body:
        return "REST /healthz answered without a version"
    return None


def check_queues(conf: dict) -> str | None:
    from kombu import Connection
    from pulsar.client.amqp_exchange_factory import parse_amqp_connect_ssl_params

    ssl_params = parse_amqp_connect_ssl_params(conf) or False
    url = conf["message_queue_url"]
    if url.startswith("amqps://"):
        ssl_params = ssl_params or True
    try:
        with Connection(url, ssl=ssl_params, connect_timeout=TIMEOUT) as connection:
            connection.ensure_connection(max_retries=1)
            channel = connection.channel()
            for queue in setup_queue_names(conf):
                try:
                    _name, _messages, consumers = channel.queue_declare(queue=queue, passive=True)
                except Exception as exc:  # noqa: BLE001 (the broker closes the channel on a missing queue)
                    return f"queue {queue} does not exist on the broker ({exc.__class__.__name__})"
                if consumers < 1:
                    return f"queue {queue} has no consumer: Pulsar is not attached to the broker"
    except Exception as exc:  # noqa: BLE001 (kombu raises many kinds; all mean "broker unusable")
        host = urllib.parse.urlsplit(url).hostname
        return f"broker {host} is unreachable or refuses the endpoint's credentials ({exc.__class__.__name__})"
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--app-yml", required=True)
    parser.add_argument("--server-ini", required=True)
    args = parser.parse_args(argv)
    with open(args.app_yml, encoding="utf-8") as handle:
        conf = yaml.safe_load(handle) or {}
    ini = configparser.ConfigParser()
    ini.read(args.server_ini)
    problems = []
    checked = []
    if ini.has_section("server:main"):
        checked.append("REST")
        problem = check_rest(conf, ini["server:main"])
        if problem:
            problems.append(problem)
    if conf.get("message_queue_url"):
        checked.append("AMQP consumers")
        problem = check_queues(conf)
        if problem:
            problems.append(problem)
    if problems:
        print("unhealthy: " + "; ".join(problems))
        return 1
    print("healthy: " + ", ".join(checked))
    return 0


if __name__ == "__main__":
    sys.exit(main())
