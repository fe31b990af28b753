"""TIaaS through nginx, as a browser of Galaxy's host name would reach it: the one client of the Molecule tests.

Requests go to nginx by address (``base_url``, e.g. ``https://10.209.12.20``) with Galaxy's host name as ``Host``,
since the containers have no DNS for it. POSTs carry that name's ``Origin`` and ``Referer``, which Django's CSRF check
on HTTPS requires of a browser. Redirects are not followed (tests look at them), and nginx's self-signed certificate
is accepted (galaxy_api.Session: its ``verify=False`` wins over ``REQUESTS_CA_BUNDLE``).

    admin = NginxClient("https://10.209.12.20", "galaxy.example.org")
    admin.admin_login("admin", password)
    NginxClient(...).request_training("gx-101", dt.date.today(), title="Galaxy for beginners")
    dashboard = admin.approve("gx-101")       # "/tiaas/status/?key=..."
"""

from __future__ import annotations

import datetime as dt
import html
import re

import urllib3

from tests.support.galaxy_api import Session

urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
_CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


class NginxClient(Session):
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
        kw.setdefault("timeout", self.timeout)
        return super().request(method, self.base_url + path, headers=headers, **kw)

    def csrf(self, path: str) -> str:
        """The CSRF token of the Django form at ``path`` (its cookie is kept by the session)."""
        page = self.get(path)
        assert page.status_code == 200, (path, page.status_code, page.text[:500])
        found = _CSRF_FIELD.search(page.text)
        assert found, (path, page.text[:500])
        return found[1]

    def admin_login(self, username: str, password: str) -> None:
        """Log in to TIaaS's admin with Django's login form; asserts it accepted the account."""
        answer = self.post(
            "/tiaas/admin/login/",
            data={"csrfmiddlewaretoken": self.csrf("/tiaas/admin/login/"), "username": username,
                  "password": password, "next": "/tiaas/admin/"},
        )  # fmt: skip
        assert answer.status_code == 302 and answer.headers["Location"] == "/tiaas/admin/", answer.text[:500]

    def request_training(self, identifier: str, start: dt.date, **fields: object) -> None:
        """Submit the request form as an instructor would (two days from ``start``, late-request reason given);
        ``fields`` replace the form's values. Asserts the thank-you redirect."""
        form = {
            "csrfmiddlewaretoken": self.csrf("/tiaas/new/"),
            "name": "Ada Instructor",
            "email": "ada@example.org",
            "title": "Galaxy training",
            "description": "Galaxy through nginx.",
            "start": start.isoformat(),
            "end": (start + dt.timedelta(days=1)).isoformat(),
            "website": "https://example.org/course",
            "location": ["DE"],
            "use_gtn": "on",
            "gtn_links": "https://training.galaxyproject.org/topics/introduction/",
            "non_gtn_links": "",
            "attendance": "20",
            "training_identifier": identifier,
            "advertise": "on",
            "other_requests": "",
            "late_request_acknowledged": "on",
            "late_reason": "The tests run today.",
            **fields,
        }
        answer = self.post("/tiaas/new/", data=form)
        assert answer.status_code == 302 and answer.headers["Location"].endswith("/tiaas/thanks/"), answer.text[:2000]

    def approve(self, identifier: str) -> str:
        """Approve a training with the admin's action (this client logged in as an admin); the path of its
        instructors' dashboard (``/tiaas/status/?key=...``) from the training's admin page."""
        listing = self.get("/tiaas/admin/training/training/", params={"q": identifier})
        pk = re.search(r'name="_selected_action" value="(\d+)"', listing.text)
        assert pk, (identifier, listing.status_code, listing.text[:1000])
        answer = self.post(
            "/tiaas/admin/training/training/",
            data={"csrfmiddlewaretoken": _CSRF_FIELD.search(listing.text)[1], "action": "approve",
                  "_selected_action": pk[1], "index": "0"},
        )  # fmt: skip
        assert answer.status_code == 302, answer.text[:1000]
        page = html.unescape(self.get(f"/tiaas/admin/training/training/{pk[1]}/change/").text)
        links = re.findall(r'href="([^"]*/status/\?key=[^"]+)"', page) or re.findall(
            r'(https?://[^\s"<]*/status/\?key=[0-9a-f]+)', page
        )
        assert links, page[:3000]
        return re.sub(r"^https?://[^/]+", "", links[0])
