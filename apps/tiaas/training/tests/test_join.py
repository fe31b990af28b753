"""The join flow against Galaxy's real schema through the least-privilege role."""

from __future__ import annotations

import datetime as dt
import secrets

import pytest
from django.db import connections
from django.test import Client

from training.cookie import BadCookie, SessionCookieDecoder
from training.models import Training
from training.tests.galaxydb import ID_SECRET, encode_cookie

pytestmark = pytest.mark.django_db(databases=["default", "galaxy"])


def url(t) -> str:
    return f"/join-training/{t.training_identifier}/"


def counts(galaxy_db, name: str) -> dict[str, int]:
    return {
        "groups": galaxy_db("SELECT count(*) FROM galaxy_group WHERE name = %s", [name])[0][0],
        "roles": galaxy_db("SELECT count(*) FROM role WHERE name = %s", [name])[0][0],
        "links": galaxy_db(
            "SELECT count(*) FROM group_role_association gra JOIN galaxy_group g ON g.id = gra.group_id"
            " JOIN role r ON r.id = gra.role_id WHERE g.name = %s AND r.name = %s",
            [name, name],
        )[0][0],
        "members": galaxy_db(
            "SELECT count(*) FROM user_group_association uga JOIN galaxy_group g ON g.id = uga.group_id"
            " WHERE g.name = %s",
            [name],
        )[0][0],
    }


# --- cookie decoding compatible with Galaxy's own IdEncodingHelper -------------------------------------------


@pytest.mark.parametrize("secret", ["abcd", ID_SECRET, "x" * 56, "sécret-ünïcode-key", secrets.token_hex(20)])
def test_decoder_matches_galaxy_encoder(secret):
    from galaxy.security.idencoding import IdEncodingHelper

    helper = IdEncodingHelper(id_secret=secret)
    decoder = SessionCookieDecoder(secret)
    for _ in range(50):
        key = helper.get_new_guid()
        assert decoder.decode(encode_cookie(key, secret)) == key
    # and keys of other lengths (Galaxy pads 1..8 bytes)
    for n in range(1, 41):
        key = secrets.token_hex(32)[:n]
        assert decoder.decode(encode_cookie(key, secret)) == key
        assert helper.decode_guid(encode_cookie(key, secret)) == key


@pytest.mark.parametrize(
    "cookie",
    [
        "",
        "zz",
        "abc",
        "0" * 15,
        "g" * 80,
        "0" * 80,
        "f" * 4096,
        "\u00e9" * 16,
        "00112233445566778899aabbccddeeff" + "<script>",
    ],
)
def test_decoder_rejects_garbage(cookie):
    with pytest.raises(BadCookie):
        SessionCookieDecoder(ID_SECRET).decode(cookie)


def test_decoder_rejects_other_secret():
    cookie = encode_cookie(secrets.token_hex(16), "another-secret")
    with pytest.raises(BadCookie):
        SessionCookieDecoder(ID_SECRET).decode(cookie)


# --- join pages -------------------------------------------------------------------------------------------------


def test_get_explains_and_does_not_join(client, gx, make_training, galaxy_db):
    t = make_training()
    _, cookie = gx.login()
    client.cookies["galaxysession"] = cookie
    r = client.get(url(t))
    assert r.status_code == 200
    assert b'id="join-button"' in r.content and b"csrfmiddlewaretoken" in r.content
    assert counts(galaxy_db, t.galaxy_name) == {"groups": 0, "roles": 0, "links": 0, "members": 0}


def test_post_joins_in_one_go_and_twice_is_fine(client, gx, make_training, galaxy_db):
    t = make_training()
    uid, cookie = gx.login()
    client.cookies["galaxysession"] = cookie
    r = client.post(url(t))
    assert r.status_code == 200, r.content
    assert b"You joined" in r.content
    assert counts(galaxy_db, t.galaxy_name) == {"groups": 1, "roles": 1, "links": 1, "members": 1}
    role = galaxy_db("SELECT type, deleted FROM role WHERE name = %s", [t.galaxy_name])[0]
    assert role == ("system", False)
    assert galaxy_db(
        "SELECT uga.user_id FROM user_group_association uga JOIN galaxy_group g ON g.id = uga.group_id WHERE g.name=%s",
        [t.galaxy_name],
    ) == [(uid,)]
    r = client.post(url(t))
    assert r.status_code == 200 and b"already joined" in r.content
    assert counts(galaxy_db, t.galaxy_name) == {"groups": 1, "roles": 1, "links": 1, "members": 1}
    for _ in range(3):
        other = Client()
        other.cookies["galaxysession"] = gx.login()[1]
        assert other.post(url(t)).status_code == 200
    assert counts(galaxy_db, t.galaxy_name) == {"groups": 1, "roles": 1, "links": 1, "members": 4}


def test_identifier_is_case_insensitive(client, gx, make_training):
    make_training(training_identifier="case-test")
    client.cookies["galaxysession"] = gx.login()[1]
    assert client.post("/join-training/CASE-Test/").status_code == 200


def test_missing_csrf_token_is_403(gx, make_training, galaxy_db):
    t = make_training()
    c = Client(enforce_csrf_checks=True)
    c.cookies["galaxysession"] = gx.login()[1]
    r = c.post(url(t))
    assert r.status_code == 403
    assert b"Request blocked" in r.content
    assert counts(galaxy_db, t.galaxy_name)["members"] == 0
    # with the token from the GET page it works
    page = c.get(url(t))
    token = page.context["csrf_token"]
    assert c.post(url(t), {"csrfmiddlewaretoken": str(token)}).status_code == 200


def test_cross_site_origin_is_refused(gx, make_training):
    t = make_training()
    c = Client(enforce_csrf_checks=True)
    c.cookies["galaxysession"] = gx.login()[1]
    token = str(c.get(url(t)).context["csrf_token"])
    r = c.post(url(t), {"csrfmiddlewaretoken": token}, headers={"Origin": "https://evil.example"})
    assert r.status_code == 403


def test_reuses_partial_state_and_picks_one_role(client, gx, make_training, galaxy_db):
    """Group made by an old TIaaS without its link, and two same-named roles (role.name is not unique)."""
    t = make_training()
    name = t.galaxy_name
    gid = gx.one(
        "INSERT INTO galaxy_group (name, deleted, create_time, update_time) VALUES (%s, false, now(), now())"
        " RETURNING id",
        [name],
    )[0]
    r1 = gx.one(
        "INSERT INTO role (name, type, deleted, create_time, update_time) VALUES (%s,'system',false,now(),now())"
        " RETURNING id",
        [name],
    )[0]
    gx.one(
        "INSERT INTO role (name, type, deleted, create_time, update_time) VALUES (%s,'system',false,now(),now())"
        " RETURNING id",
        [name],
    )
    client.cookies["galaxysession"] = gx.login()[1]
    assert client.post(url(t)).status_code == 200
    assert galaxy_db("SELECT group_id, role_id FROM group_role_association WHERE group_id = %s", [gid]) == [(gid, r1)]
    assert counts(galaxy_db, name)["roles"] == 2  # nothing new created


def test_similar_names_are_not_confused(client, gx, make_training, galaxy_db):
    seq = make_training(training_identifier="seq")
    rnaseq = make_training(training_identifier="rnaseq")
    client.cookies["galaxysession"] = gx.login()[1]
    assert client.post(url(rnaseq)).status_code == 200
    assert client.post(url(seq)).status_code == 200
    assert counts(galaxy_db, "training-seq") == {"groups": 1, "roles": 1, "links": 1, "members": 1}
    assert counts(galaxy_db, "training-rnaseq") == {"groups": 1, "roles": 1, "links": 1, "members": 1}


def test_deleted_group_is_not_resurrected(client, gx, make_training):
    t = make_training()
    gx.one(
        "INSERT INTO galaxy_group (name, deleted, create_time, update_time) VALUES (%s, true, now(), now())"
        " RETURNING id",
        [t.galaxy_name],
    )
    client.cookies["galaxysession"] = gx.login()[1]
    r = client.post(url(t))
    assert r.status_code == 409


# --- error pages: clear 4xx, never 500 ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cookie",
    ["garbage", "0" * 80, "<script>alert(1)</script>", "a" * 5000, "ff" * 39 + "zz", "%00", "' OR 1=1 --"],
)
def test_tampered_cookies_give_400(client, make_training, cookie):
    t = make_training()
    client.cookies["galaxysession"] = cookie
    for method in (client.get, client.post):
        r = method(url(t))
        assert r.status_code == 400
        assert b"log in again" in r.content


def test_flipped_cookie_bits(client, gx, make_training):
    t = make_training()
    _, cookie = gx.login()
    for i in (0, 17, 40, 79):
        flipped = cookie[:i] + format(int(cookie[i], 16) ^ 0x5, "x") + cookie[i + 1 :]
        client.cookies["galaxysession"] = flipped
        assert client.post(url(t)).status_code in (400, 401)


def test_no_cookie_links_to_galaxy_login(client, make_training):
    t = make_training()
    r = client.get(url(t))
    assert r.status_code == 401
    assert b"https://galaxy.example.org/login/start?redirect=" in r.content
    assert b"join-training" in r.content


def test_logged_out_session_is_refused(client, gx, make_training, galaxy_db):
    t = make_training()
    uid = gx.user()
    key = gx.session(uid, valid=False)
    client.cookies["galaxysession"] = encode_cookie(key)
    assert client.post(url(t)).status_code == 401
    assert counts(galaxy_db, t.galaxy_name)["groups"] == 0


def test_anonymous_and_unknown_sessions(client, gx, make_training):
    t = make_training()
    client.cookies["galaxysession"] = encode_cookie(gx.session(None))
    assert client.post(url(t)).status_code == 401
    client.cookies["galaxysession"] = encode_cookie(secrets.token_hex(16))
    assert client.post(url(t)).status_code == 401


@pytest.mark.parametrize("flags", [{"deleted": True}, {"purged": True, "deleted": True}])
def test_deleted_users_are_refused(client, gx, make_training, galaxy_db, flags):
    t = make_training()
    uid = gx.user(**flags)
    client.cookies["galaxysession"] = encode_cookie(gx.session(uid))
    r = client.post(url(t))
    assert r.status_code == 403
    assert counts(galaxy_db, t.galaxy_name)["groups"] == 0


def test_unknown_and_malformed_identifiers_404(client, gx):
    client.cookies["galaxysession"] = gx.login()[1]
    for ident in ["nope", "x" * 21, "a_b", "%3Cscript%3E", "..", "a%20b"]:
        r = client.post(f"/join-training/{ident}/")
        assert r.status_code == 404, ident


@pytest.mark.parametrize("status", [Training.Status.PENDING, Training.Status.REJECTED])
def test_unapproved_trainings_are_refused(client, gx, make_training, galaxy_db, status):
    t = make_training(processed=status)
    client.cookies["galaxysession"] = gx.login()[1]
    r = client.post(url(t))
    assert r.status_code == 403 and b"not been approved" in r.content
    assert counts(galaxy_db, t.galaxy_name)["groups"] == 0


def test_join_window(client, gx, make_training, settings):
    today = dt.date.today()
    client.cookies["galaxysession"] = gx.login()[1]
    settings.TIAAS = {**settings.TIAAS, "JOIN_FLEX_HOURS": 12}
    early = make_training(start=today + dt.timedelta(days=3), end=today + dt.timedelta(days=4))
    r = client.post(url(early))
    assert r.status_code == 403 and b"Too early" in r.content
    ended = make_training(start=today - dt.timedelta(days=5), end=today - dt.timedelta(days=2))
    assert client.post(url(ended)).status_code == 410
    # yesterday's training is still open within the flex window only if flex is large enough
    yesterday = make_training(start=today - dt.timedelta(days=1), end=today - dt.timedelta(days=1))
    settings.TIAAS = {**settings.TIAAS, "JOIN_FLEX_HOURS": 48}
    assert client.post(url(yesterday)).status_code == 200
    settings.TIAAS = {**settings.TIAAS, "JOIN_FLEX_HOURS": 0}
    assert client.post(url(yesterday)).status_code == 410


def test_galaxy_connection_is_least_privilege(db):
    """The connection TIaaS uses cannot write Galaxy tables outside the grant set."""
    from django.db import DatabaseError, transaction

    with connections["galaxy"].cursor() as cur:
        cur.execute("SELECT current_user")
        assert cur.fetchone()[0] == "tiaas_galaxy"
    for statement in [
        "UPDATE galaxy_user SET deleted = false",
        "DELETE FROM user_group_association",
        "UPDATE role SET deleted = false",
        "SELECT * FROM dataset LIMIT 1",
        "INSERT INTO user_role_association (user_id, role_id) VALUES (1, 1)",
    ]:
        with (
            pytest.raises(DatabaseError, match="permission denied"),
            transaction.atomic(using="galaxy"),
            connections["galaxy"].cursor() as cur,
        ):
            cur.execute(statement)


test_galaxy_connection_is_least_privilege = pytest.mark.django_db(databases=["default", "galaxy"])(
    test_galaxy_connection_is_least_privilege
)


def test_links_with_a_galaxy_prefix(settings, make_training):
    from training.links import join_url

    settings.TIAAS = {**settings.TIAAS, "GALAXY_URL": "https://eu.example.org/galaxy"}
    t = make_training(training_identifier="pfx")
    assert join_url(t) == "https://eu.example.org/join-training/pfx/"  # JOIN_PREFIX carries Galaxy's prefix if any
    r = Client().get("/join-training/pfx/")
    assert (
        b"https://eu.example.org/galaxy/login/start?redirect=https%3A%2F%2Feu.example.org%2Fjoin-training%2Fpfx%2F"
        in r.content
    )


def test_deleted_role_is_replaced(client, gx, make_training, galaxy_db):
    t = make_training()
    gx.one(
        "INSERT INTO role (name, type, deleted, create_time, update_time) VALUES (%s,'system',true,now(),now())"
        " RETURNING id",
        [t.galaxy_name],
    )
    client.cookies["galaxysession"] = gx.login()[1]
    assert client.post(url(t)).status_code == 200
    live = galaxy_db(
        "SELECT r.deleted FROM group_role_association gra JOIN role r ON r.id = gra.role_id"
        " JOIN galaxy_group g ON g.id = gra.group_id WHERE g.name = %s",
        [t.galaxy_name],
    )
    assert live == [(False,)]


def test_job_id_lower_bound(gx, db):
    from django.core.cache import cache

    from training.galaxy import job_id_lower_bound
    from training.tests.galaxydb import utcnow

    cache.clear()
    uid = gx.user()
    now = utcnow()
    ids = {h: gx.job(uid, created=now - dt.timedelta(hours=h)) for h in (50, 49, 5, 4, 2, 1)}
    # window starts 3 h ago; with the 1 h margin the bound is the first job at or after 4 h ago
    bound = job_id_lower_bound(now - dt.timedelta(hours=3))
    assert ids[5] < bound <= ids[4]
    cache.clear()
    assert job_id_lower_bound(now + dt.timedelta(hours=5)) > ids[1]  # nothing newer: bound beyond the last id


test_job_id_lower_bound = pytest.mark.django_db(databases=["default", "galaxy"])(test_job_id_lower_bound)


def test_migrations_are_complete():
    from io import StringIO

    from django.core.management import call_command

    call_command("makemigrations", "--check", "--dry-run", stdout=StringIO())
