"""TIaaS through nginx, as a browser of Galaxy's host name would reach it: the one client of the Molecule tests.

Requests go to nginx by address (``base_url``, e.g. ``https://10.209.12.20``) with Galaxy's host name as ``Host``,
since the containers have no DNS for it. POSTs carry that name's ``Origin`` and ``Referer``, which Django's CSRF check
on HTTPS requires of a browser. Redirects are not followed (tests look at them), and nginx's self-signed certificate
is accepted per request: a session's ``verify=False`` alone loses to ``REQUESTS_CA_BUNDLE`` (psf/requests#3829).

    client = NginxClient("https://10.209.12.20", "galaxy.example.org")
    token = client.csrf("/tiaas/admin/login/")
    client.post("/tiaas/admin/login/", data={"csrfmiddlewaretoken": token, ...})
"""

from __future__ import annotations

import re

import requests
import urllib3

urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
_CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


class NginxClient(requests.Session):
    """One browser: its own cookies; paths relative to ``base_url``."""

    def __init__(self, base_url: str, hostname: str, timeout: float = 30) -> None:
        super().__init__()
        self.base_url = base_url.rstrip("/")
        self.origin = f"https://{hostname}"
        self.timeout = timeout
        self.verify = False
        self.headers.update({"Host": hostname})

    def request(self, method, path, **kw):  # noqa: ANN001, ANN003, ANN201 - requests' own signature
        headers = kw.pop("headers", {}) or {}
        if method.upper() == "POST":
            headers.setdefault("Origin", self.origin)
            headers.setdefault("Referer", self.origin + path)
        kw.setdefault("allow_redirects", False)
        kw["verify"] = False
        kw.setdefault("timeout", self.timeout)
        return super().request(method, self.base_url + path, headers=headers, **kw)

    def csrf(self, path: str) -> str:
        """The CSRF token of the Django form at ``path`` (its cookie is kept by the session)."""
        page = self.get(path)
        assert page.status_code == 200, (path, page.status_code, page.text[:500])
        found = _CSRF_FIELD.search(page.text)
        assert found, (path, page.text[:500])
        return found[1]
