"""A real Galaxy server's HTTP API, as tests and the demo use it: the one home of these calls.

Plain ``requests`` against Galaxy's base URL (``http://127.0.0.1:8080`` on the Galaxy host, or through nginx, e.g.
``https://10.209.12.20`` with ``verify=False``). Two kinds of caller:

- the admin: the ``api_key`` given here (Galaxy's ``bootstrap_admin_api_key`` or an admin's key), sent as
  ``x-api-key``; it creates users and reads where a job went;
- a user: a ``requests.Session`` from ``login``, which carries the ``galaxysession`` cookie Galaxy's own login
  form sets (GET ``/login/start`` for an anonymous session, GET ``/context`` for its CSRF token, POST
  ``/user/login``). That cookie alone is enough for the user's API calls (histories, tools, uploads).

Where a job went: ``job_destination`` is Galaxy's admin view of it (``Runner``, ``Runner Job ID``, ``Handler`` and the
destination's parameters, a Pulsar ``private_token`` included: do not log it). Galaxy's API does not show the
destination id (``local``, ``training_pulsar``); ``job_destination_id`` reads ``job.destination_id`` from the database
container given as ``db_container`` (``docker exec psql``, as postgres), the job id decoded by Galaxy's admin API.

    galaxy = Galaxy("http://127.0.0.1:8080", api_key=BOOTSTRAP_KEY)
    galaxy.create_user("alice", "alice@example.org", "a-Long-passphrase-1")
    alice = galaxy.login("alice@example.org", "a-Long-passphrase-1")
    job = galaxy.run_tool(alice, "galaxyops_where", {"seconds": 0})
    assert galaxy.wait_job(job) == "ok"
    galaxy.job_destination(job)["Runner"]        # "local" or "pulsar"
    galaxy.job_output_text(job, alice)           # "hostname=...\\npwd=...\\nuser=...\\n" (tool galaxyops_where)
"""

from __future__ import annotations

import time
from typing import Any

import requests

from tests.support.containers import CommandFailed, psql

TERMINAL_STATES = frozenset({"ok", "error", "deleted", "failed", "skipped"})
# The test tool of molecule/_shared/galaxy_server.yml (templates/galaxy_tools/galaxyops_where.xml).
WHERE_TOOL = "galaxyops_where"


class GalaxyError(RuntimeError):
    """Galaxy answered something other than what the call needs; the message says what, never the API key."""


def _check(response: requests.Response, what: str) -> requests.Response:
    if response.status_code >= 400:
        raise GalaxyError(f"{what}: HTTP {response.status_code} from {response.url}: {response.text[:500]}")
    return response


def parse_where(text: str) -> dict[str, str]:
    """The ``key=value`` lines the test tool writes (hostname, pwd, user) as a dict."""
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


class Session(requests.Session):
    """A session whose own ``verify`` wins (also the base of tests.support.tiaas_http's client): requests otherwise
    prefers ``REQUESTS_CA_BUNDLE`` from the environment over a session's ``verify=False`` (psf/requests#3829), and
    nginx's self-signed certificate then fails."""

    def request(self, method, url, **kwargs):  # noqa: ANN001, ANN003, ANN201 - requests' own signature
        kwargs.setdefault("verify", self.verify)
        return super().request(method, url, **kwargs)


class Galaxy:
    """One Galaxy server: ``base_url`` without a trailing slash or with; ``api_key`` for the admin calls."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        verify: bool = True,
        db_container: str | None = None,
        db_name: str = "galaxy",
        timeout: float = 60,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.verify = verify
        self.timeout = timeout
        self.db_container = db_container
        self.db_name = db_name
        self.admin = Session()
        self.admin.verify = verify
        if api_key:
            self.admin.headers["x-api-key"] = api_key

    # ------------------------------------------------------------------ plumbing
    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def new_session(self) -> requests.Session:
        """An anonymous browser-like session (no cookie yet) with this server's TLS setting."""
        session = Session()
        session.verify = self.verify
        return session

    def _get(self, session: requests.Session, path: str, what: str, **params: Any) -> Any:
        response = session.get(self.url(path), params=params or None, timeout=self.timeout)
        return _check(response, what).json()

    def _post(self, session: requests.Session, path: str, what: str, payload: dict) -> Any:
        response = session.post(self.url(path), json=payload, timeout=self.timeout)
        return _check(response, what).json()

    def version(self) -> dict:
        """``/api/version``: ``{"version_major": "26.1", "version_minor": "2", ...}``."""
        return self._get(self.admin, "api/version", "Galaxy's version")

    def wait_up(self, timeout: float = 120) -> dict:
        """Wait until ``/api/version`` answers; its answer."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                return self.version()
            except (requests.RequestException, GalaxyError, ValueError):
                if time.monotonic() > deadline:
                    raise
            time.sleep(1)

    # ------------------------------------------------------------------ users
    def find_user(self, email: str) -> dict | None:
        """The user with this email (admin API), or None."""
        users = self._get(self.admin, "api/users", f"looking up user {email}", f_email=email)
        return next((user for user in users if user.get("email") == email), None)

    def create_user(self, username: str, email: str, password: str) -> dict:
        """Create a local user (admin API); an existing user with this email is returned as it is."""
        return self.find_user(email) or self._post(
            self.admin,
            "api/users",
            f"creating user {email}",
            {"username": username, "email": email, "password": password},
        )

    def create_role(self, name: str, description: str = "galaxyops test role") -> dict:
        """A new role (admin API; Galaxy allows several roles of one name)."""
        return self._post(self.admin, "api/roles", f"creating role {name}", {"name": name, "description": description})

    def create_group(self, name: str, user_ids: list[str] = (), role_ids: list[str] = ()) -> dict:
        """A new group with these users and roles (admin API)."""
        payload = {"name": name, "user_ids": list(user_ids), "role_ids": list(role_ids)}
        answer = self._post(self.admin, "api/groups", f"creating group {name}", payload)
        return answer[0] if isinstance(answer, list) else answer

    def set_group_role(self, group_id: str, role_id: str, present: bool = True) -> None:
        """Add the role to the group, or remove it (admin API)."""
        response = (self.admin.put if present else self.admin.delete)(
            self.url(f"api/groups/{group_id}/roles/{role_id}"), timeout=self.timeout
        )
        _check(response, f"{'adding' if present else 'removing'} role {role_id} of group {group_id}")

    def login(self, email: str, password: str) -> requests.Session:
        """Log in through Galaxy's own login, as the web client does; the session holds the new ``galaxysession``."""
        session = self.new_session()
        _check(session.get(self.url("login/start"), timeout=self.timeout), "opening the login page")
        if "galaxysession" not in session.cookies:
            raise GalaxyError(f"{self.url('login/start')} set no galaxysession cookie")
        token = self._get(session, "context", "reading the session's CSRF token").get("session_csrf_token")
        if not token:
            raise GalaxyError(f"{self.url('context')} gave no session_csrf_token")
        response = session.post(
            self.url("user/login"),
            json={"login": email, "password": password, "session_csrf_token": token},
            timeout=self.timeout,
        )
        _check(response, f"logging in as {email}")
        if self.whoami(session) is None:
            raise GalaxyError(f"logging in as {email}: Galaxy answered {response.text[:200]} but no user is logged in")
        return session

    def whoami(self, session: requests.Session) -> dict | None:
        """The session's user (``/api/whoami``), or None for an anonymous or invalidated session."""
        return self._get(session, "api/whoami", "asking who is logged in")

    # ------------------------------------------------------------------ jobs
    def create_history(self, session: requests.Session, name: str = "galaxyops test") -> str:
        """A new history of the session's user; its id."""
        return self._post(session, "api/histories", f"creating history {name!r}", {"name": name})["id"]

    def run_tool(
        self,
        session: requests.Session,
        tool_id: str,
        inputs: dict,
        history_name: str = "galaxyops test",
        history_id: str | None = None,
    ) -> str:
        """Run a tool in a new history (or ``history_id``) as the session's user; the job's id."""
        history_id = history_id or self.create_history(session, history_name)
        answer = self._post(
            session,
            "api/tools",
            f"running tool {tool_id}",
            {"tool_id": tool_id, "history_id": history_id, "inputs": inputs},
        )
        if not answer.get("jobs"):
            raise GalaxyError(f"running tool {tool_id}: Galaxy created no job: {answer}")
        return answer["jobs"][0]["id"]

    def upload(
        self,
        session: requests.Session,
        content: str,
        history_id: str | None = None,
        name: str = "pasted.txt",
        ext: str = "txt",
    ) -> str:
        """Upload pasted text (``__DATA_FETCH__``) into a history (a new one by default); the job's id."""
        history_id = history_id or self.create_history(session, "galaxyops upload")
        payload = {
            "history_id": history_id,
            "targets": [
                {
                    "destination": {"type": "hdas"},
                    "elements": [{"src": "pasted", "paste_content": content, "name": name, "ext": ext}],
                }
            ],
        }
        answer = self._post(session, "api/tools/fetch", "uploading pasted text", payload)
        if not answer.get("jobs"):
            raise GalaxyError(f"uploading pasted text: Galaxy created no job: {answer}")
        return answer["jobs"][0]["id"]

    def job(self, job_id: str, session: requests.Session | None = None, full: bool = False) -> dict:
        """The job as its owner (``session``) or the admin sees it."""
        params = {"full": "true"} if full else {}
        return self._get(session or self.admin, f"api/jobs/{job_id}", f"reading job {job_id}", **params)

    def wait_job(self, job_id: str, session: requests.Session | None = None, timeout: float = 180) -> str:
        """Wait until the job is in a terminal state (ok, error, deleted, failed, skipped); that state."""
        deadline = time.monotonic() + timeout
        while True:
            state = self.job(job_id, session)["state"]
            if state in TERMINAL_STATES:
                return state
            if time.monotonic() > deadline:
                raise GalaxyError(f"job {job_id} still {state!r} after {timeout:.0f} s")
            time.sleep(1)

    def job_output_text(self, job_id: str, session: requests.Session | None = None, name: str | None = None) -> str:
        """The text of one of the job's output datasets (the only one, or the one called ``name``)."""
        outputs = self.job(job_id, session, full=True).get("outputs", {})
        if not outputs:
            raise GalaxyError(f"job {job_id} has no outputs")
        if name is None and len(outputs) > 1:
            raise GalaxyError(f"job {job_id} has several outputs ({', '.join(outputs)}): name one")
        output = outputs[name] if name else next(iter(outputs.values()))
        response = (session or self.admin).get(
            self.url(f"api/datasets/{output['id']}/display"), params={"preview": "false"}, timeout=self.timeout
        )
        return _check(response, f"reading output of job {job_id}").text

    def job_destination(self, job_id: str) -> dict:
        """Galaxy's admin view of where the job went: ``Runner``, ``Runner Job ID``, ``Handler``, the params."""
        return self._get(self.admin, f"api/jobs/{job_id}/destination_params", f"reading job {job_id}'s destination")

    def decode_id(self, encoded_id: str) -> int:
        """The database id behind an API id (admin API)."""
        answer = self._get(self.admin, f"api/configuration/decode/{encoded_id}", f"decoding id {encoded_id}")
        return int(answer["decoded_id"])

    def job_destination_id(self, job_id: str) -> str | None:
        """The job's destination id (``job.destination_id``: the TPV destination or job environment), from the
        database in ``db_container``; None until Galaxy has mapped the job."""
        if not self.db_container:
            raise GalaxyError("job_destination_id needs db_container: the container of Galaxy's database")
        sql = "SELECT destination_id FROM job WHERE id = :'job_id';"
        try:
            return psql(self.db_container, self.db_name, sql, job_id=self.decode_id(job_id)) or None
        except CommandFailed as error:
            raise GalaxyError(f"reading job {job_id}'s destination id: {error}") from None
