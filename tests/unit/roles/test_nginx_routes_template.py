"""templates/nginx/galaxy.j2 rendered by Ansible itself, in both of its uses.

- as the nginx_routes role renders it (the role's defaults and vars, `_nginx_routes_snippets_only`): only
  nginx_routes_snippets, so a `tiaas_nginx_routes` the play also knows never appears twice;
- as another nginx role renders it (the Galaxy admin training's way): `{{ tiaas_nginx_routes }}` in the server.
nginx itself checks the result in the Molecule scenario nginx_routes; these tests check the text's structure.
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.support.checkout import REPO_ROOT
from tests.support.rendering import render_role

TASKS = """
    - ansible.builtin.template: {src: "%(root)s/templates/nginx/galaxy.j2", dest: "%(out)s/galaxy.conf", mode: "0600"}
"""
TIAAS = "location /tiaas/ { proxy_pass http://unix:/run/tiaas.sock; }"


def render(tmp_path: Path, **variables) -> str:
    out = render_role(tmp_path, "nginx_routes", TASKS, variables)
    return (out / "galaxy.conf").read_text()


def galaxy_server(text: str) -> str:
    """The last server block (the Galaxy server; a redirect server may come before it)."""
    return text[text.rindex("\nserver {") :]


def test_role_renders_snippets_only_once(tmp_path):
    text = render(
        tmp_path,
        _nginx_routes_snippets_only=True,
        tiaas_nginx_routes=TIAAS,
        nginx_routes_snippets=[
            TIAAS,
            {"http": "upstream gxit { server 127.0.0.1:4002; }", "server": "location /x/ {}"},
        ],
    )
    assert text.count(TIAAS) == 1
    assert TIAAS in galaxy_server(text)
    assert "location /x/ {}" in galaxy_server(text)
    # http-level text comes before the Galaxy server, outside any server block.
    assert text.index("upstream gxit") < text.index("upstream galaxy {")


def test_other_nginx_role_gets_tiaas_routes_as_in_the_training(tmp_path):
    text = render(tmp_path, tiaas_nginx_routes=TIAAS)
    assert TIAAS in galaxy_server(text)
    assert "{{ tiaas_nginx_routes }}" in (REPO_ROOT / "templates" / "nginx" / "galaxy.j2").read_text()


def test_headers_are_conditional_on_the_upstream_and_quoted(tmp_path):
    text = render(
        tmp_path,
        nginx_routes_security_headers={
            "X-Frame-Options": "SAMEORIGIN",
            "Content-Security-Policy": 'a "b"',
            "X-Gone": "",
        },
    )
    assert re.search(
        r"map \$upstream_http_x_frame_options \$galaxyops_header_x_frame_options \{\s+''\s+\"SAMEORIGIN\";", text
    )
    assert '"a \\"b\\""' in text
    assert "X-Gone" not in text
    assert "add_header X-Frame-Options $galaxyops_header_x_frame_options always;" in galaxy_server(text)
    assert "Strict-Transport-Security" not in text  # no TLS, no HSTS


def test_tls_adds_redirect_and_hsts(tmp_path):
    text = render(
        tmp_path,
        nginx_routes_tls="certificate",
        nginx_routes_server_name="galaxy.example.org",
        nginx_routes_tls_certificate="/etc/ssl/galaxy.pem",
        nginx_routes_tls_certificate_key="/etc/ssl/galaxy.key",
        nginx_routes_https_port=8443,
    )
    assert "return 301 https://galaxy.example.org:8443$request_uri;" in text
    assert "listen 8443 ssl http2 default_server;" in galaxy_server(text)
    assert "ssl_certificate /etc/ssl/galaxy.pem;" in galaxy_server(text)
    assert '"max-age=31536000"' in text


def test_prefix_and_upstreams(tmp_path):
    text = render(
        tmp_path,
        nginx_routes_galaxy_prefix="/galaxy",
        nginx_routes_galaxy_upstream=["127.0.0.1:8080", "127.0.0.1:8081"],
    )
    assert "location /galaxy/ {" in text
    assert "location /galaxy/static/ {" in text
    assert "server 127.0.0.1:8080;\n    server 127.0.0.1:8081;" in text
