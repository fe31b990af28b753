"""The gie_proxy role's exports and unit, rendered by Ansible itself from the role's defaults and vars.

No nginx runs here (the Molecule scenario gie_proxy checks the routes with a real nginx, gx-it-proxy and
backend); these tests check the structure of what nginx and systemd will read, for both engines and every entry
point, and the masking regular expressions against URLs and Referers (run with Python's re, which reads the
same PCRE subset once named groups are spelled Python's way).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.support.checkout import REPO_ROOT
from tests.support.rendering import render_role, run_role_tasks

ROLE = REPO_ROOT / "roles" / "gie_proxy"
TASKS = """
    - ansible.builtin.copy: {content: "{{ gie_proxy_nginx_routes.http }}", dest: "%(out)s/http.conf", mode: "0600"}
    - ansible.builtin.copy: {content: "{{ gie_proxy_nginx_routes.server }}", dest: "%(out)s/server.conf", mode: "0600"}
    - ansible.builtin.template: {src: "%(role)s/templates/gx-it-proxy@.service.j2", dest: "%(out)s/unit", mode: "0600"}
    - ansible.builtin.copy: {content: "{{ gie_proxy_galaxy_settings | to_json }}", dest: "%(out)s/galaxy", mode: "0600"}
    - ansible.builtin.copy: {content: "{{ gie_proxy_tls_names | to_json }}", dest: "%(out)s/names", mode: "0600"}
"""
KEY, TOKEN = "24q1dbzrknq1v", "1a1p13jnahscj"
HOST = "galaxy.example.org"
# /proc/net/if_inet6 with IPv6 loopback, as slurp returns it (base64).
IF_INET6_LO = "MDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDEgMDEgODAgMTAgODAgICAgICAgbG8K"


class Rendered:
    def __init__(self, out: Path):
        self.http = (out / "http.conf").read_text()
        self.server = (out / "server.conf").read_text()
        self.unit = (out / "unit").read_text()
        self.settings = yaml.safe_load((out / "galaxy").read_text())
        self.names = yaml.safe_load((out / "names").read_text())

    def block(self, text: str, opening: str) -> str:
        """The block that starts at the line `opening` (up to its closing brace)."""
        start = text.index(opening)
        depth = 0
        for i in range(start, len(text)):
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            if text[i] == "}" and depth == 0:
                return text[start : i + 1]
        raise AssertionError(f"unbalanced block {opening!r}")


def render(tmp_path: Path, **variables) -> Rendered:
    variables.setdefault("nginx_routes_server_name", HOST)
    return Rendered(render_role(tmp_path, "gie_proxy", TASKS, variables))


def balanced(text: str) -> bool:
    depth = 0
    for char in text:
        depth += {"{": 1, "}": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0


def nginx_regex(text: str, variable: str) -> list[re.Pattern]:
    """The regular expressions of the map that sets `variable`, compiled by Python."""
    block = text[text.index(f" ${variable} {{") :]
    block = block[: block.index("\n}")]
    patterns = []
    for line in block.splitlines():
        m = re.match(r'\s+"~(\*?)(.*?)" ', line)
        if m:
            source = re.sub(r"\(\?<(\w+)>", r"(?P<\1>", m.group(2))
            patterns.append(re.compile(source, re.IGNORECASE if m.group(1) else 0))
    return patterns


@pytest.fixture(scope="module")
def default(tmp_path_factory) -> Rendered:
    return render(tmp_path_factory.mktemp("default"), gie_proxy_processes=3, gie_proxy_port=4010)


def test_every_block_is_balanced(default):
    assert balanced(default.http)
    assert balanced(default.server)


def test_upstream_has_one_server_per_process_and_keepalive_below_nodes_timeout(default):
    upstream = default.block(default.http, "upstream gie_proxy_gxit {")
    assert re.findall(r"server 127\.0\.0\.1:(\d+) ", upstream) == ["4010", "4011", "4012"]
    assert "keepalive 32;" in upstream
    # Node's http server closes idle connections after 5 s: nginx must let go first.
    assert int(re.search(r"keepalive_timeout (\d+)s;", upstream).group(1)) < 5


def test_path_and_legacy_locations_proxy_to_the_processes(default):
    path = default.block(default.server, "location ^~ /interactivetool/ep/ {")
    assert "proxy_pass http://gie_proxy_gxit;" in path  # no URI part: the raw URI reaches gx-it-proxy
    legacy = default.block(default.server, "location ^~ /gie_proxy/ {")
    assert "proxy_pass http://gie_proxy_gxit$gie_proxy_gxit_legacy_uri;" in legacy
    assert 'if ($gie_proxy_gxit_legacy_uri = "") {' in legacy
    legacy_map = default.block(default.http, "map $request_uri $gie_proxy_gxit_legacy_uri {")
    assert '"/interactivetool/ep$gie_gxit_legacy_rest"' in legacy_map


@pytest.mark.parametrize("opening", ["location ^~ /interactivetool/ep/ {", "location ^~ /gie_proxy/ {"])
def test_locations_are_hardened(default, opening):
    location = default.block(default.server, opening)
    for line in (
        "proxy_set_header Host $host;",
        "proxy_set_header Upgrade $http_upgrade;",
        "proxy_set_header Connection $galaxyops_connection_upgrade;",
        "proxy_http_version 1.1;",
        "proxy_hide_header Access-Control-Allow-Origin;",
        "proxy_hide_header Access-Control-Allow-Credentials;",
        "error_log /var/log/nginx/error.log crit;",
    ):
        assert line in location, line
    assert "add_header" not in location  # Galaxy's security headers stay inherited


def test_galaxy_server_logs_masked(default):
    assert default.server.startswith("# ---- Galaxy interactive tools")
    assert "access_log /var/log/nginx/access.log gie_proxy_masked;" in default.server
    log_format = default.http[default.http.index("log_format gie_proxy_masked") :]
    log_format = log_format[: log_format.index(";\n")]
    for leak in ("$request ", "$request_uri", "$http_referer", "$host", "$http_host", "$args", "$uri"):
        assert leak not in log_format, leak
    # The format is defined before any server uses it.
    assert default.http.index("log_format gie_proxy_masked") < default.http.index("server {")


def test_guard_owns_loopback_port_80_and_answers_404(default):
    guard = default.block(default.http, "server {\n    listen 127.0.0.1:80 default_server;")
    assert "return 404;" in guard
    assert "[::1]" not in guard  # the rendering host has no IPv6 loopback fact


def test_subdomain_server_plain(default):
    server = default.block(default.http, "server {\n    listen 80;")
    assert f"server_name *.ep.interactivetool.{HOST};" in server
    assert "listen [::]:80;" in server
    assert "proxy_set_header Host $host;" in server
    assert 'add_header Referrer-Policy "same-origin" always;' in server
    assert "proxy_hide_header Access-Control-Allow-Origin;" in server
    assert default.names == [f"*.ep.interactivetool.{HOST}"]


def test_subdomain_server_with_tls_redirects_plain_http(tmp_path):
    r = render(
        tmp_path,
        nginx_routes_tls="selfsigned",
        nginx_routes_https_port=8443,
        nginx_routes_ipv6=False,
        __gie_proxy_if_inet6={"content": IF_INET6_LO},
    )
    # gx-it-proxy may fall through to ::1 where the host has it: the guard listens there too.
    assert "listen [::1]:80 default_server;" in r.http
    redirect = r.block(r.http, "server {\n    listen 80;")
    assert "return 301 https://$host:8443$request_uri;" in redirect
    server = r.block(r.http, "server {\n    listen 8443 ssl http2;")
    assert "ssl_certificate" not in server  # Galaxy's, from the http level
    assert "[::]" not in r.http


def test_subdomain_legacy_and_guard_can_be_turned_off(tmp_path):
    r = render(tmp_path, gie_proxy_subdomain_host="", gie_proxy_legacy_prefix="", gie_proxy_fallthrough_guard=False)
    assert "127.0.0.1:80" not in r.http
    assert "server_name *.ep" not in r.http
    assert "gie_proxy_gxit_legacy_uri" not in r.http + r.server
    assert "location ^~ /gie_proxy/" not in r.server
    assert r.names == []
    assert balanced(r.http) and balanced(r.server)


def test_galaxy_prefix_moves_every_entry_point(tmp_path):
    r = render(tmp_path, nginx_routes_galaxy_prefix="/galaxy", gie_proxy_prefix="it")
    assert "location ^~ /galaxy/it/ep/ {" in r.server
    assert "location ^~ /galaxy/gie_proxy/ {" in r.server
    assert "--proxyPathPrefix /galaxy/it/ep\n" in r.unit
    assert r.settings["galaxy"]["interactivetools_base_path"] == "/galaxy"
    assert r.settings["galaxy"]["interactivetools_prefix"] == "it"


@pytest.mark.parametrize(
    ("uri", "logged"),
    [
        (f"/interactivetool/ep/{KEY}/{TOKEN}/lab?token=x", "/interactivetool/ep/<key>/<token>/lab"),
        (f"/interactivetool/ep/{KEY}/{TOKEN}", "/interactivetool/ep/<key>/<token>"),
        (f"/gie_proxy/{KEY}/{TOKEN}/api/kernels", "/gie_proxy/<key>/<token>/api/kernels"),
        ("/api/histories?q=1", None),  # Galaxy's own requests are logged as they are
    ],
)
def test_access_log_masks_keys_and_tokens(default, uri, logged):
    (pattern,) = nginx_regex(default.http, "gie_proxy_log_uri")
    m = pattern.match(uri)
    if logged is None:
        assert m is None
    else:
        assert f"{m.group('gie_log_prefix')}<key>/<token>{m.group('gie_log_rest')}" == logged


@pytest.mark.parametrize(
    ("referer", "masked"),
    [
        (f"https://{KEY}-{TOKEN}.ep.interactivetool.{HOST}/lab", True),
        (f"https://{KEY}-{TOKEN}.EP.interactivetool.{HOST}/", True),
        (f"https://{HOST}/interactivetool/ep/{KEY}/{TOKEN}/", True),
        (f"https://{HOST}/gie_proxy/{KEY}/{TOKEN}/", True),
        (f"https://{HOST}/histories/list", False),
    ],
)
def test_access_log_hides_interactive_tool_referers(default, referer, masked):
    assert any(p.search(referer) for p in nginx_regex(default.http, "gie_proxy_log_referer")) is masked


def test_unit_runs_unprivileged_on_loopback_without_logging_tokens(default):
    unit = default.unit
    exec_start = re.search(r"^ExecStart=(.*)$", unit, re.MULTILINE).group(1).split()
    assert exec_start[:2] == [
        "/usr/bin/node",
        "/opt/gx-it-proxy/0.2.3/node_modules/@galaxyproject/gx-it-proxy/lib/main.js",
    ]
    args = dict(zip(exec_start[2::2], exec_start[3::2], strict=True))
    assert args == {
        "--ip": "127.0.0.1",
        "--port": "%i",
        "--sessions": "/srv/galaxy/var/interactivetools_map.sqlite",
        "--proxyPathPrefix": "/interactivetool/ep",
    }
    for line in ("User=gxitproxy", "Restart=always", "RestartSec=1", "StartLimitIntervalSec=0",
                 "StandardOutput=null", "StandardError=journal", "ProtectSystem=strict", "NoNewPrivileges=true",
                 "CapabilityBoundingSet="):  # fmt: skip
        assert re.search(rf"^{re.escape(line)}$", unit, re.MULTILINE), line
    assert "--verbose" not in exec_start


def test_galaxy_settings_match_the_routes(default):
    assert default.settings == {
        "galaxy": {
            "interactivetools_enable": True,
            "interactivetools_map": "/srv/galaxy/var/interactivetools_map.sqlite",
            "interactivetools_prefix": "interactivetool",
            "interactivetools_base_path": "/",
            "interactivetools_proxy_host": HOST,
            "interactivetools_upstream_proxy": True,
        },
        "gravity": {"gx_it_proxy": {"enable": False}},
    }


def test_subdomains_under_another_host_need_galaxy_to_use_it(tmp_path):
    r = render(tmp_path, gie_proxy_subdomain_host="it.example.org")
    assert r.settings["galaxy"]["interactivetools_proxy_host"] == "it.example.org"
    assert r.settings["galaxy"]["interactivetools_upstream_proxy"] is False
    assert "server_name *.ep.interactivetool.it.example.org;" in r.http


def test_engine_nginx_wraps_its_own_routing(tmp_path):
    r = render(tmp_path, gie_proxy_engine="nginx")
    assert "gie_proxy_gxit" not in r.http + r.server
    assert "127.0.0.1:80" not in r.http  # nginx itself answers 404: nothing falls through
    for opening in ("location ^~ /interactivetool/ep/ {", "location ^~ /gie_proxy/ {"):
        assert "error_log /var/log/nginx/error.log crit;" in r.block(r.server, opening)
    assert "server_name *.ep.interactivetool." in r.http
    assert balanced(r.http) and balanced(r.server)
    location = ROLE / "templates" / "engine_nginx" / "location.conf.j2"
    if location.exists():
        assert "proxy_pass" in r.block(r.server, "location ^~ /interactivetool/ep/ {")


def test_galaxy_certificate_reaches_the_wildcard_server(tmp_path):
    """The subdomain server names no certificate: nginx_routes' server block file declares Galaxy's at http level."""
    tasks = """
    - ansible.builtin.template: {src: "%(root)s/templates/nginx/galaxy.j2", dest: "%(out)s/galaxy.conf", mode: "0600"}
"""
    variables = {
        "nginx_routes_tls": "certificate",
        "nginx_routes_tls_certificate": "/etc/ssl/galaxy.pem",
        "nginx_routes_tls_certificate_key": "/etc/ssl/galaxy.key",
    }
    text = (render_role(tmp_path, "nginx_routes", tasks, variables) / "galaxy.conf").read_text()
    http_level = text[: text.index("\nserver {")]
    assert "ssl_certificate /etc/ssl/galaxy.pem;" in http_level
    assert "ssl_certificate_key /etc/ssl/galaxy.key;" in http_level


PREFLIGHT = """
    - ansible.builtin.include_tasks: "%(role)s/tasks/preflight.yml"
"""


@pytest.mark.parametrize(
    ("variables", "named"),
    [
        ({"gie_proxy_path_prefix": "/interactivetool/ep/../x"}, "gie_proxy_path_prefix"),
        ({"gie_proxy_path_prefix": "interactivetool/ep"}, "gie_proxy_path_prefix"),
        ({"gie_proxy_legacy_prefix": "/gie proxy"}, "gie_proxy_legacy_prefix"),
        ({"gie_proxy_legacy_prefix": "/interactivetool/ep/"}, "gie_proxy_legacy_prefix"),
    ],
)
def test_preflight_refuses_bad_url_prefixes_naming_the_variable(tmp_path, variables, named):
    """Both URL prefixes are judged by the one path pattern in vars/main.yml, each failure naming its variable."""
    res, _ = run_role_tasks(tmp_path, "gie_proxy", PREFLIGHT, {"nginx_routes_server_name": HOST, **variables})
    assert res.returncode != 0
    failed = [line for line in res.stdout.splitlines() if "msg" in line and named in line]
    assert failed, res.stdout[-3000:]


def test_preflight_accepts_the_defaults(tmp_path):
    res, _ = run_role_tasks(tmp_path, "gie_proxy", PREFLIGHT, {"nginx_routes_server_name": HOST})
    assert res.returncode == 0, res.stdout[-3000:]
