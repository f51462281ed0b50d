"""The table of operations: both surfaces of an operation (its seed endpoint and its rpc
function) are made from one row, so they answer with the same permission, summary and
``Prefer: tx=rollback`` behaviour."""

import json
import re

import pytest
from django.urls import resolve

from tests.api.conftest import staff_client
from triggers.api.operations import ENDPOINTS, FUNCTIONS, OPERATIONS
from triggers.api.prefer import Rollback
from triggers.base.trigger_base import ENGINE_SWITCH
from triggers.models import TriggerSwitch
from triggers.registry import trigger_registry

pytestmark = pytest.mark.django_db

BOTH = [op for op in OPERATIONS if op.endpoint is not None and op.function is not None]
EXAMPLES = {"str": "article-saved", "int": "1"}


def seed_path(op):
    """The operation's seed endpoint as a path a client sends."""
    return "/rest/v1/" + re.sub(r"<(\w+):\w+>", lambda m: EXAMPLES[m.group(1)], op.endpoint.path)


def post(client, path, body=None, **headers):
    return client.post(path, json.dumps(body or {}), content_type="application/json", **headers)


def call(client, op, path):
    return client.get(path) if op.read_only else post(client, path)


def test_every_operation_has_a_surface_and_a_unique_name():
    assert all(op.endpoint is not None or op.function is not None for op in OPERATIONS)
    assert len({op.name for op in OPERATIONS}) == len(OPERATIONS)
    assert {op.function for op in BOTH} == set(FUNCTIONS)
    assert {op.name for op in ENDPOINTS} >= {op.name for op in BOTH}


@pytest.mark.parametrize("op", BOTH, ids=[op.name for op in BOTH])
def test_both_surfaces_share_permission_and_summary(api, op):
    seed = resolve(seed_path(op)).func.cls
    function = resolve(f"/rest/v1/rpc/{op.function}").func.cls
    method = "GET" if op.read_only else "POST"
    assert seed.permissions == {method: (op.permission,)}
    assert function.permissions["POST"] == (op.permission,)

    paths = api.get("/rest/v1/").json()["paths"]
    seed_doc = paths["/rest/v1/" + re.sub(r"<\w+:(\w+)>", r"{\1}", op.endpoint.path)]
    function_doc = paths[f"/rest/v1/rpc/{op.function}"]
    assert seed_doc[method.lower()]["summary"] == function_doc["post"]["summary"] == op.summary


@pytest.mark.parametrize("op", BOTH, ids=[op.name for op in BOTH])
def test_both_surfaces_need_the_same_permission(triggers, op):
    allowed = staff_client(op.permission)
    other = staff_client("triggers.view_triggeraudit")

    for path in (seed_path(op), f"/rest/v1/rpc/{op.function}"):
        assert call(allowed, op, path).status_code != 403, path
        assert call(other, op, path).status_code == 403, path


@pytest.mark.parametrize("surface", ["seed", "rpc"])
def test_toggle_with_tx_rollback_keeps_nothing_on_either_surface(api, code_trigger, surface):
    toggle = next(op for op in OPERATIONS if op.name == "toggle")
    assert toggle.rollback is Rollback.TRANSACTION
    if surface == "seed":
        response = post(api, seed_path(toggle), {"enabled": False}, HTTP_PREFER="tx=rollback")
    else:
        response = post(api, "/rest/v1/rpc/toggle_trigger",
                        {"name": "article-saved", "enabled": False}, HTTP_PREFER="tx=rollback")

    assert response.status_code == 200
    assert response.json()["enabled"] is False
    assert response["Preference-Applied"] == "tx=rollback"
    assert trigger_registry.is_enabled("article-saved")
    assert not TriggerSwitch.objects.exists()


def test_engine_toggle_with_tx_rollback_keeps_nothing(api):
    response = post(api, "/rest/v1/triggers/engine/toggle/", {"enabled": False},
                    HTTP_PREFER="tx=rollback")

    assert response.json() == {"engine_enabled": False, "changed": True}
    assert response["Preference-Applied"] == "tx=rollback"
    assert not TriggerSwitch.objects.filter(name=ENGINE_SWITCH).exists()
    assert api.get("/rest/v1/triggers/status/").json()["engine_enabled"] is True


def test_tx_commit_is_applied_where_tx_is_honoured(api, code_trigger):
    response = post(api, "/rest/v1/rpc/toggle_trigger", {"name": "article-saved"},
                    HTTP_PREFER="tx=commit")

    assert response["Preference-Applied"] == "tx=commit"
    assert not trigger_registry.is_enabled("article-saved")
    cleared = post(api, "/rest/v1/rpc/clear_trigger_cache", HTTP_PREFER="tx=commit")
    assert "Preference-Applied" not in cleared
