"""The harness canary: apt, PyPI and npm all work inside a systemd container."""

import pytest

testinfra_hosts = ["all"]


def test_systemd_is_pid_1(host):
    assert host.run("readlink /proc/1/exe").stdout.strip().endswith("systemd")
    state = host.run("systemctl is-system-running").stdout.strip()
    assert state in {"running", "degraded"}, host.run("systemctl --failed --no-legend").stdout


def test_apt_package_service_runs(host):
    assert host.package("nginx-light").is_installed
    nginx = host.service("nginx")
    if not nginx.is_running:
        print(host.run("journalctl -u nginx --no-pager -n 50").stdout)
    assert nginx.is_running
    assert nginx.is_enabled


@pytest.mark.parametrize("address", ["tcp://0.0.0.0:80"])
def test_service_listens_and_answers(host, address):
    assert host.socket(address).is_listening
    answer = host.run("python3 -c \"import urllib.request as u; print(u.urlopen('http://127.0.0.1/').status)\"")
    assert answer.stdout.strip() == "200", answer.stderr


def test_pypi_package_in_venv(host):
    out = host.run("/opt/canary-venv/bin/python -c 'import packaging; print(packaging.__version__)'")
    assert out.rc == 0, out.stderr
    assert out.stdout.strip() == "24.2"


def test_npm_package_installed(host):
    out = host.run("cd /opt/canary-npm && node -e \"console.log(require('is-number')(7))\"")
    assert out.rc == 0, out.stderr
    assert out.stdout.strip() == "true"


def test_container_trusts_host_roots(host):
    env = host.run("cat /etc/environment").stdout
    assert "PIP_CERT=/etc/ssl/certs/ca-certificates.crt" in env
    assert "NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt" in env
    bundle = host.file("/usr/local/share/ca-certificates/galaxyops-host-bundle.crt")
    assert bundle.exists
