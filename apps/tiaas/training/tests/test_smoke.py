import pytest


@pytest.mark.django_db(databases=["default", "galaxy"])
def test_about(client):
    r = client.get("/tiaas/")
    assert r.status_code == 200
