"""The OpenAPI document (valid, without warnings), the offline Swagger UI, and fuzzing every
operation from the document with schemathesis: no input may cause a server error."""

from io import StringIO

import pytest
import schemathesis
from django.contrib.staticfiles import finders
from django.core.management import call_command
from hypothesis import HealthCheck, given, settings
from schemathesis.generation import GenerationMode

from triggers.api.operations import FUNCTIONS

pytestmark = pytest.mark.django_db


def test_the_document_at_the_root(api):
    response = api.get("/rest/v1/")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi+json")
    document = response.json()
    assert document["openapi"].startswith("3.")
    paths = document["paths"]
    for path in ("/rest/v1/triggers", "/rest/v1/trigger_executions", "/rest/v1/trigger_audit",
                 "/rest/v1/triggers/status/", "/rest/v1/triggers/execute/{name}/",
                 "/rest/v1/triggers/executions/{id}/replay/"):
        assert path in paths
    assert {f"/rest/v1/rpc/{name}" for name in FUNCTIONS} <= set(paths)
    assert "/rest/v1/" not in paths and "/rest/v1/docs/" not in paths
    schemes = document["components"]["securitySchemes"]
    assert schemes["apikey"] == {"type": "apiKey", "in": "header", "name": "apikey",
                                 "description": schemes["apikey"]["description"]}
    assert schemes["bearer"]["scheme"] == "bearer"


def test_yaml_on_request(api):
    response = api.get("/rest/v1/", HTTP_ACCEPT="application/vnd.oai.openapi")

    assert response.content.startswith(b"openapi: 3.")


def test_generation_validates_without_warnings():
    out = StringIO()
    call_command("spectacular", "--validate", "--fail-on-warn", "--custom-settings",
                 "triggers.api.spectacular.SPECTACULAR_SETTINGS", stdout=out, stderr=out)
    assert out.getvalue().startswith("openapi: 3.")

    # and with the project's own (default) drf-spectacular settings
    call_command("spectacular", "--validate", "--fail-on-warn", stdout=StringIO(),
                 stderr=StringIO())


def test_swagger_ui_works_offline(api):
    response = api.get("/rest/v1/docs/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    assert "/rest/v1/" in page
    assert "cdn" not in page.lower() and "https://" not in page
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css",
                  "swagger-ui-standalone-preset.js"):
        assert finders.find(f"drf_spectacular_sidecar/swagger-ui-dist/{asset}")


def test_schema_and_docs_need_a_caller(client):
    assert client.get("/rest/v1/").status_code == 401
    response = client.get("/rest/v1/docs/")
    assert response.status_code == 401
    assert response.json()["code"] == "42501"


# Fuzzing -----------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_input_causes_a_server_error(triggers, rw_key, wsgi_app, mode):
    """Every operation of the document, with generated valid (positive) and invalid
    (negative) input: always an answer below 500, errors always in the error shape."""
    schema = schemathesis.openapi.from_wsgi("/rest/v1/", wsgi_app, headers={"apikey": rw_key})
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 30

    for operation in operations:
        @settings(max_examples=12, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy(generation_mode=mode))
        def check(case):
            response = case.call(headers={"apikey": rw_key})
            assert response.status_code < 500, (case.as_curl_command(), response.text[:500])
            if response.status_code >= 400 and response.content:
                body = response.json()
                assert set(body) == {"code", "message", "details", "hint"}, body
                assert body["message"]

        check()
