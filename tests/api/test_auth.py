"""Who may do what: every endpoint and method against every kind of caller (anonymous,
non-staff, staff without and with each permission, superuser, read-only and read-write keys),
and the keys' own rules (hashed, revocable, last use, header forms)."""

import json

import pytest
from django.test import Client

from tests.api.conftest import NEW_TRIGGER, key_client, staff_client
from triggers import apikeys as keys
from triggers.api import auth
from triggers.api.operations import FUNCTIONS
from triggers.models import TriggerAPIKey

pytestmark = pytest.mark.django_db

B = "/rest/v1/triggers"
IMPORT_DOC = {"version": 1, "triggers": []}

#: (method, path, body, headers, permissions needed)
ENDPOINTS = [
    ("get", f"{B}/status/", None, {}, {auth.VIEW_TRIGGERS}),
    ("get", f"{B}/list/", None, {}, {auth.VIEW_TRIGGERS}),
    ("get", f"{B}/details/article-saved/", None, {}, {auth.VIEW_TRIGGERS}),
    ("post", f"{B}/toggle/article-saved/", {}, {}, {auth.TOGGLE}),
    ("post", f"{B}/execute/article-saved/", {"dry_run": True}, {}, {auth.EXECUTE}),
    ("post", f"{B}/engine/toggle/", {"enabled": True}, {}, {auth.ENGINE}),
    ("get", f"{B}/logs/", None, {}, {auth.VIEW_EXECUTIONS}),
    ("post", f"{B}/cache/clear/", {}, {}, {auth.ENGINE}),
    ("get", f"{B}/config/export/", None, {}, {auth.VIEW_TRIGGERS}),
    ("post", f"{B}/config/import/?validate_only=true", IMPORT_DOC, {}, {auth.IMPORT}),
    ("get", f"{B}/stats/", None, {}, {auth.VIEW_EXECUTIONS}),
    ("get", f"{B}/health/", None, {}, {auth.VIEW_TRIGGERS}),
    ("post", f"{B}/emit/", {"event_type": "order.paid"}, {}, {auth.EMIT}),
    ("post", f"{B}/executions/1/replay/", {}, {}, {auth.REPLAY}),
    ("get", B, None, {}, {auth.VIEW_TRIGGERS}),
    ("head", B, None, {}, {auth.VIEW_TRIGGERS}),
    ("options", B, None, {}, {auth.VIEW_TRIGGERS}),
    ("post", B, NEW_TRIGGER, {}, {auth.ADD_DEFINITION}),
    ("post", B, NEW_TRIGGER, {"HTTP_PREFER": "resolution=merge-duplicates"},
     {auth.ADD_DEFINITION, auth.CHANGE_DEFINITION}),
    ("patch", f"{B}?name=eq.article-saved", {"enabled": False}, {}, {auth.TOGGLE}),
    ("patch", f"{B}?name=eq.article-published", {"description": "x"}, {},
     {auth.CHANGE_DEFINITION}),
    ("delete", f"{B}?name=eq.article-published", None, {}, {auth.DELETE_DEFINITION}),
    ("get", "/rest/v1/trigger_executions", None, {}, {auth.VIEW_EXECUTIONS}),
    ("get", "/rest/v1/trigger_audit", None, {}, {auth.VIEW_AUDIT}),
    *[("post", f"/rest/v1/rpc/{name}", {}, {}, {f.permission}) for name, f in FUNCTIONS.items()],
    *[("get", f"/rest/v1/rpc/{name}", None, {}, {f.permission})
      for name, f in FUNCTIONS.items() if f.read_only],
    ("get", "/rest/v1/", None, {}, set()),
    ("get", "/rest/v1/docs/", None, {}, set()),
]
IDS = [f"{m.upper()} {p}{' ' + str(h) if h else ''}" for m, p, _b, h, _n in ENDPOINTS]


def call(client, method, path, body, headers):
    if method in ("get", "head", "options"):
        return getattr(client, method)(path, **headers)
    data = json.dumps(body) if body is not None else ""
    return getattr(client, method)(path, data, content_type="application/json", **headers)


def assert_denied(response, status):
    assert response.status_code == status, response.content
    if response.request["REQUEST_METHOD"] == "HEAD":
        assert response.content == b""
        return
    body = response.json()
    assert set(body) == {"code", "message", "details", "hint"}
    assert body["code"] in ("42501", "PGRST301")


def assert_allowed(response):
    assert response.status_code not in (401, 403), response.content
    assert response.status_code < 500, response.content


@pytest.fixture(autouse=True)
def _triggers(triggers):
    return triggers


@pytest.mark.parametrize("method, path, body, headers, needed", ENDPOINTS, ids=IDS)
class TestMatrix:
    def test_anonymous_is_401(self, method, path, body, headers, needed):
        response = call(Client(), method, path, body, headers)
        assert_denied(response, 401)
        assert response["WWW-Authenticate"] == 'Bearer realm="triggers"'

    def test_non_staff_is_403_even_with_the_permissions(self, method, path, body, headers,
                                                        needed):
        client = staff_client(*needed, staff=False)
        assert_denied(call(client, method, path, body, headers), 403)

    def test_staff_without_permissions(self, method, path, body, headers, needed):
        response = call(staff_client(), method, path, body, headers)
        if needed:
            assert_denied(response, 403)
            if method != "head":
                assert "lacks the permission" in response.json()["message"]
        else:
            assert_allowed(response)

    def test_staff_with_every_other_permission(self, method, path, body, headers, needed):
        client = staff_client(*(auth.ALL_PERMISSIONS - needed))
        response = call(client, method, path, body, headers)
        if needed:
            assert_denied(response, 403)
        else:  # an endpoint any staff user may call
            assert_allowed(response)

    def test_staff_with_the_permissions(self, method, path, body, headers, needed):
        assert_allowed(call(staff_client(*needed), method, path, body, headers))

    def test_superuser(self, method, path, body, headers, needed):
        assert_allowed(call(staff_client(superuser=True), method, path, body, headers))

    def test_read_only_key(self, method, path, body, headers, needed, ro_key):
        response = call(key_client(ro_key), method, path, body, headers)
        if needed <= auth.READ_PERMISSIONS:
            assert_allowed(response)
        else:
            assert_denied(response, 403)
            assert "read-only API key" in response.json()["message"]  # never a HEAD here

    def test_read_write_key(self, method, path, body, headers, needed, rw_key):
        assert_allowed(call(key_client(rw_key), method, path, body, headers))


# Keys --------------------------------------------------------------------------------------


def test_keys_are_stored_hashed_and_shown_once():
    row, key = keys.create_key("billing")

    assert key.startswith(f"trg_{row.prefix}_")
    stored = TriggerAPIKey.objects.get(pk=row.pk)
    assert key.split("_")[2] not in stored.hashed_key
    assert stored.hashed_key.startswith("sha256$")
    assert keys.find_key(key)[0] == stored
    other = keys.create_key("billing")[0]
    assert other.hashed_key.split("$")[1] != stored.hashed_key.split("$")[1]  # own salt


@pytest.mark.parametrize("headers, words", [
    ({"HTTP_APIKEY": "trg_0000_1111"}, "not valid"),
    ({"HTTP_APIKEY": "not-a-key"}, "not in the format"),
    ({"HTTP_AUTHORIZATION": "Bearer nope"}, "not in the format"),
])
def test_bad_keys_are_401(headers, words):
    response = Client(**headers).get(f"{B}/status/")

    assert_denied(response, 401)
    assert response.json()["code"] == "PGRST301"
    assert words in response.json()["message"]


def test_a_key_may_come_in_either_header_but_the_two_must_agree(rw_key, ro_key):
    assert Client(HTTP_APIKEY=rw_key).get(f"{B}/status/").status_code == 200
    assert Client(HTTP_AUTHORIZATION=f"Bearer {rw_key}").get(f"{B}/status/").status_code == 200

    response = Client(HTTP_APIKEY=rw_key, HTTP_AUTHORIZATION=f"Bearer {ro_key}").get(
        f"{B}/status/")
    assert_denied(response, 401)
    assert "differ" in response.json()["message"]


def test_keys_are_not_accepted_in_the_url(rw_key):
    response = Client().get(f"{B}/status/?apikey={rw_key}")

    assert_denied(response, 401)
    assert "not accepted in the URL" in response.json()["message"]


def test_a_revoked_key_stops_working_at_once(rw_key):
    client = key_client(rw_key)
    assert client.get(f"{B}/status/").status_code == 200

    row = keys.find_key(rw_key)[0]
    assert keys.revoke(row) is True
    assert keys.revoke(row) is False

    response = client.get(f"{B}/status/")
    assert_denied(response, 401)
    assert "was revoked" in response.json()["message"]


def test_last_use_is_recorded(rw_key):
    row = keys.find_key(rw_key)[0]
    assert row.last_used_at is None

    key_client(rw_key).get(f"{B}/status/")

    row.refresh_from_db()
    assert row.last_used_at is not None


def test_a_staff_user_with_a_basic_authorization_header_still_uses_the_session():
    client = staff_client(auth.VIEW_TRIGGERS)
    response = client.get(f"{B}/status/", HTTP_AUTHORIZATION="Basic dXNlcjpwdw==")

    assert response.status_code == 200


def test_project_drf_defaults_do_not_open_the_api(settings, rw_key):
    settings.REST_FRAMEWORK = {
        "DEFAULT_AUTHENTICATION_CLASSES": [],
        "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    }

    assert_denied(Client().get(f"{B}/status/"), 401)
    assert_denied(Client().get("/rest/v1/"), 401)
