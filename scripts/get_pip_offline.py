"""Offline stand-in for the pip bootstrap script ansible-test downloads.

ansible-test fetches ``get-pip-<version>.py`` from a host that is not reachable here; it uses a
file saved as ``~/.ansible/test/cache/get_pip_<version>.py`` instead, and the harness copies this
one there. It installs pip from the standard library's ``ensurepip`` and then runs ``pip install``
with the arguments ansible-test passes (the pinned pip version). The sanity test venvs do not read
pip's configuration, so the system CA bundle is passed explicitly.
"""

from __future__ import annotations

import os
import subprocess
import sys

DROPPED = {"--no-setuptools", "--no-wheel"}
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


def main() -> int:
    subprocess.run([sys.executable, "-m", "ensurepip", "--upgrade", "--default-pip"], check=True, capture_output=True)
    args = [a for a in sys.argv[1:] if a not in DROPPED]
    cmd = [sys.executable, "-m", "pip", "install", *args]
    if os.path.exists(CA_BUNDLE):
        cmd += ["--cert", CA_BUNDLE]
    return subprocess.run(cmd, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
