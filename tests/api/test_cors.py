"""CORS for /rest/v1/, configured as docs/api.md tells a project to (django-cors-headers, in
tests/settings.py): a browser's preflight needs no key, the headers Supabase clients send are
allowed, Content-Range is exposed; and the API answers preflights itself, without a key, when
no CORS middleware does."""

import pytest
from django.conf import settings
from django.test import Client, override_settings

pytestmark = pytest.mark.django_db

ORIGIN = "http://127.0.0.1:5173"
SUPABASE_HEADERS = ("apikey", "authorization", "x-client-info", "prefer", "range",
                    "content-profile", "accept-profile", "content-type", "x-retry-count")
WITHOUT_CORS = [m for m in settings.MIDDLEWARE if not m.startswith("corsheaders.")]


def preflight(path, method="GET", origin=ORIGIN):
    return Client().options(path, HTTP_ORIGIN=origin, HTTP_ACCESS_CONTROL_REQUEST_METHOD=method,
                            HTTP_ACCESS_CONTROL_REQUEST_HEADERS=", ".join(SUPABASE_HEADERS))


def header_set(value):
    return {item.strip().lower() for item in value.split(",")}


@pytest.fixture(autouse=True)
def _allowed_origin(settings):
    settings.CORS_ALLOWED_ORIGINS = [ORIGIN]


@pytest.mark.parametrize("path, method", [
    ("/rest/v1/trigger_executions", "GET"),
    ("/rest/v1/triggers", "PATCH"),
    ("/rest/v1/rpc/execute_trigger", "POST"),
    ("/rest/v1/triggers/status/", "GET"),
    ("/rest/v1/", "GET"),
])
def test_a_preflight_needs_no_key_and_allows_what_supabase_clients_send(path, method):
    response = preflight(path, method)

    assert response.status_code == 200
    assert response.content == b""
    assert response["Access-Control-Allow-Origin"] == ORIGIN
    assert header_set(response["Access-Control-Allow-Headers"]) >= set(SUPABASE_HEADERS)
    assert method.lower() in header_set(response["Access-Control-Allow-Methods"])


def test_answers_expose_content_range(api, rows_of_executions):
    response = api.get("/rest/v1/trigger_executions?select=id&limit=1", HTTP_ORIGIN=ORIGIN,
                       HTTP_PREFER="count=exact")

    assert response.status_code == 206
    assert response["Access-Control-Allow-Origin"] == ORIGIN
    assert {"content-range", "range-unit", "preference-applied"} <= header_set(
        response["Access-Control-Expose-Headers"])
    assert response["Content-Range"] == "0-0/2"
    assert "origin" in header_set(response["Vary"])


def test_errors_carry_the_cors_headers_so_the_page_can_read_them():
    response = Client().get("/rest/v1/triggers", HTTP_ORIGIN=ORIGIN)

    assert response.status_code == 401
    assert response["Access-Control-Allow-Origin"] == ORIGIN


def test_an_origin_that_is_not_listed_is_not_allowed():
    response = preflight("/rest/v1/triggers", origin="https://elsewhere.example")

    assert "Access-Control-Allow-Origin" not in response


def test_only_the_api_is_shared():
    response = Client().get("/admin/login/", HTTP_ORIGIN=ORIGIN)

    assert "Access-Control-Allow-Origin" not in response


@override_settings(MIDDLEWARE=WITHOUT_CORS)
@pytest.mark.parametrize("path", ["/rest/v1/triggers", "/rest/v1/rpc/toggle_trigger",
                                  "/rest/v1/triggers/toggle/x/", "/rest/v1/triggers/toggle/x",
                                  "/rest/v1/rpc/no_such_function", "/rest/v1/"])
def test_the_api_answers_a_preflight_itself_without_a_key(path):
    response = preflight(path, "POST")

    assert response.status_code == 200
    assert response.content == b""
    assert "options" in header_set(response["Allow"])


@override_settings(MIDDLEWARE=WITHOUT_CORS)
def test_an_options_request_that_is_no_preflight_still_needs_a_key(api):
    assert Client().options("/rest/v1/triggers").status_code == 401
    assert Client().options("/rest/v1/triggers", HTTP_ORIGIN=ORIGIN).status_code == 401
    assert api.options("/rest/v1/triggers").status_code == 200


@pytest.fixture
def rows_of_executions(db):
    from django.utils import timezone

    from triggers.models import TriggerExecution

    for name in ("a", "b"):
        TriggerExecution.objects.create(trigger_name=name, event="post_save",
                                        status="success", started_at=timezone.now())


def test_the_example_project_lets_pages_of_this_machine_call_the_api(settings, monkeypatch):
    monkeypatch.setenv("DEMO_WEBHOOK_SECRET", "unused")  # the settings module sets a default
    from example_project import settings as example

    assert example.MIDDLEWARE[0] == "corsheaders.middleware.CorsMiddleware"
    assert "corsheaders" in example.INSTALLED_APPS
    for name in ("CORS_URLS_REGEX", "CORS_ALLOWED_ORIGIN_REGEXES", "CORS_ALLOW_HEADERS",
                 "CORS_EXPOSE_HEADERS"):
        setattr(settings, name, getattr(example, name))
    settings.CORS_ALLOWED_ORIGINS = []

    allowed = preflight("/rest/v1/triggers", origin="http://localhost:5173")
    assert allowed["Access-Control-Allow-Origin"] == "http://localhost:5173"
    assert header_set(allowed["Access-Control-Allow-Headers"]) >= set(SUPABASE_HEADERS)
    assert "Access-Control-Allow-Origin" not in preflight(
        "/rest/v1/triggers", origin="https://elsewhere.example")
    assert "Access-Control-Allow-Origin" not in Client().get(
        "/admin/login/", HTTP_ORIGIN="http://localhost:5173")
