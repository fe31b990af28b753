"""Behaviour through nginx after the nginx_routes role: upstream, static files, headers, websockets, TLS and
the refusal of a broken snippet (side_effect.yml) while the old configuration keeps serving."""

from __future__ import annotations

import json

import pytest

HTTPS = "https://127.0.0.1"


def probe(host, url: str, *args: str) -> dict:
    result = host.run("python3 /usr/local/bin/probe.py " + " ".join([url, *args]))
    assert result.rc == 0, result.stderr
    return json.loads(result.stdout)


def header_values(answer: dict, name: str) -> list[str]:
    return [value for key, value in answer["headers"] if key.lower() == name.lower()]


def test_nginx_runs_as_a_service(host):
    assert host.service("nginx").is_running
    assert host.service("nginx").is_enabled


def test_galaxy_upstream_is_reached_with_client_headers(host):
    answer = probe(host, HTTPS + "/api/version")
    assert answer["status"] == 200
    received = json.loads(answer["body"])
    assert received["path"] == "/api/version"
    assert received["headers"]["X-Real-IP"] == "127.0.0.1"
    assert received["headers"]["X-Forwarded-Proto"] == "https"
    assert received["headers"]["Host"] == "galaxy.example.org"


def test_static_files_are_served_from_disk_with_caching(host):
    answer = probe(host, HTTPS + "/static/welcome.html")
    assert answer["status"] == 200
    assert "static welcome from disk" in answer["body"]
    assert header_values(answer, "Cache-Control") == ["max-age=86400"]
    assert probe(host, HTTPS + "/robots.txt")["body"].startswith("User-agent: *")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("X-Frame-Options", "SAMEORIGIN"),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "strict-origin-when-cross-origin"),
        ("Strict-Transport-Security", "max-age=31536000"),
    ],
)
@pytest.mark.parametrize("path", ["/", "/static/welcome.html"])
def test_security_headers_once(host, path, name, value):
    assert header_values(probe(host, HTTPS + path), name) == [value]


def test_upstream_headers_pass_through_unchanged_and_once(host):
    answer = probe(host, HTTPS + "/tiaas/")
    assert answer["status"] == 200
    assert header_values(answer, "X-Frame-Options") == ["DENY"]
    assert header_values(answer, "Content-Security-Policy") == ["frame-ancestors 'none'; default-src 'self'"]
    # Headers the upstream did not send are still added.
    assert header_values(answer, "X-Content-Type-Options") == ["nosniff"]


def test_dict_snippet_http_and_server_parts(host):
    answer = probe(host, HTTPS + "/dict-snippet")
    assert answer["status"] == 200
    assert answer["body"] == "dict snippet, http part\n"


def test_websocket_upgrade_reaches_galaxy(host):
    answer = probe(host, HTTPS + "/ws", "--ws", "hello")
    assert answer["status"] == 101
    assert answer["echo"] == "echo: hello"


def test_http_redirects_to_https(host):
    answer = probe(host, "http://127.0.0.1/api/version")
    assert answer["status"] == 301
    assert header_values(answer, "Location") == ["https://galaxy.example.org/api/version"]


def test_self_signed_certificate_names_the_server(host):
    result = host.run(
        "echo | openssl s_client -connect 127.0.0.1:443 -servername galaxy.example.org 2>/dev/null"
        " | openssl x509 -noout -ext subjectAltName"
    )
    assert "DNS:galaxy.example.org" in result.stdout


def test_broken_snippet_was_refused_with_nginx_message(host):
    message = host.file("/root/broken-snippet-message.txt").content_string
    assert 'unknown directive "molecule_broken_directive"' in message
    assert "nothing was changed" in message
    assert "molecule_broken_directive" not in host.file("/etc/nginx/conf.d/galaxy.conf").content_string


def test_old_configuration_still_serves_after_the_refusal(host):
    assert probe(host, HTTPS + "/api/version")["status"] == 200
    assert "/broken/" not in host.run("nginx -T 2>/dev/null").stdout


def test_no_candidate_left_behind(host):
    assert host.run("find /tmp -maxdepth 1 -name 'nginx-candidate.*'").stdout.strip() == ""
