"""Fixtures for the management API: keys, callers of every kind, and triggers to manage."""

import pytest
from django.contrib.auth.models import Permission
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import Client

from tests.factories import UserFactory
from tests.testapp.models import Article
from triggers import apikeys as keys
from triggers import definitions
from triggers.base.trigger_base import BaseTrigger
from triggers.registry import trigger_registry

CALLS = []


def record(context):
    CALLS.append(context)


PUBLISHED = {
    "name": "article-published", "event": "post_save", "model": "testapp.Article",
    "description": "Log published articles",
    "conditions": {"field": "status", "operator": "eq", "value": "published"},
    "actions": [{"type": "log", "message": "{{ instance.title }} is out"}],
}


@pytest.fixture(autouse=True)
def _calls():
    CALLS.clear()
    yield
    CALLS.clear()


@pytest.fixture
def code_trigger(db):
    """A code trigger on Article saves that records its calls."""
    return trigger_registry.register_trigger(BaseTrigger(
        name="article-saved", event="post_save", model=Article, actions=[record],
        priority="high", description="Record article saves",
    ))


@pytest.fixture
def custom_trigger(db):
    return trigger_registry.register_trigger(BaseTrigger(
        name="order-paid", event="custom", event_types=["order.*"], actions=[record],
        priority="low",
    ))


@pytest.fixture
def db_trigger(db):
    row = definitions.save_spec(PUBLISHED)
    definitions.reload()
    return row


@pytest.fixture
def triggers(code_trigger, custom_trigger, db_trigger):
    return [code_trigger, custom_trigger, db_trigger]


def key_client(key: str, **headers) -> Client:
    return Client(HTTP_APIKEY=key, HTTP_AUTHORIZATION=f"Bearer {key}", **headers)


@pytest.fixture
def rw_key(db):
    return keys.create_key("read-write test key")[1]


@pytest.fixture
def ro_key(db):
    return keys.create_key("read-only test key", read_only=True)[1]


@pytest.fixture
def api(rw_key):
    """A client with a read-write key (Supabase style: apikey and the same Bearer)."""
    return key_client(rw_key)


def staff_client(*perms: str, superuser: bool = False, staff: bool = True) -> Client:
    user = UserFactory(is_staff=staff, is_superuser=superuser)
    for perm in perms:
        app_label, codename = perm.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename))
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    client.user = user
    return client


NEW_TRIGGER = {"name": "made-by-api", "event": "post_save", "model": "testapp.Article",
               "actions": [{"type": "log", "message": "saved"}]}


@pytest.fixture
def wsgi_app(db):
    """Django's WSGI handler, as a server runs it, sending requests in the test's transaction
    (so it must not close the connection between requests, as it does for real ones)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield get_wsgi_application()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
