"""API keys from the shell (manage.py triggers apikey) and from the admin."""

import re
from io import StringIO

import pytest
from django.contrib.auth.models import Permission
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from tests.api.conftest import staff_client
from tests.factories import UserFactory
from triggers import apikeys as keys
from triggers.models import TriggerAPIKey

pytestmark = pytest.mark.django_db

KEY = re.compile(r"trg_[0-9a-f]{12}_[0-9a-f]{64}")


def run(*args):
    out, err = StringIO(), StringIO()
    call_command("triggers", "apikey", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


# The command -------------------------------------------------------------------------------


def test_create_prints_the_key_once_and_it_works():
    out, err = run("create", "--name", "billing")

    key = out.strip()
    assert KEY.fullmatch(key)
    assert "read-write API key 'billing'" in err and "shown only now" in err
    row = TriggerAPIKey.objects.get()
    assert row.name == "billing" and row.read_only is False
    assert key not in row.hashed_key
    assert Client(HTTP_APIKEY=key).get("/rest/v1/triggers/status/").status_code == 200


def test_create_read_only():
    out, _err = run("create", "--name", "dashboard", "--read-only")

    key = out.strip()
    assert TriggerAPIKey.objects.get().read_only is True
    client = Client(HTTP_APIKEY=key)
    assert client.get("/rest/v1/triggers/status/").status_code == 200
    assert client.post("/rest/v1/rpc/clear_trigger_cache", "{}",
                       content_type="application/json").status_code == 403


def test_create_needs_a_name():
    with pytest.raises(CommandError, match="Give the key a name"):
        run("create", "--name", "  ")


def test_list_and_revoke():
    row, key = keys.create_key("ci")
    keys.create_key("old")[0].__class__.objects.filter(name="old").update(
        revoked_at="2024-01-01T00:00:00Z")

    out, _err = run("list")
    assert row.prefix in out and "read-write" in out and "never" in out
    assert "old" not in out
    assert "old" in run("list", "--all")[0]
    assert key not in out

    out, _err = run("revoke", row.prefix)
    assert out.strip() == f"Revoked the API key 'ci' ({row.prefix})."
    assert "already revoked" in run("revoke", key)[0]  # the whole key works too
    assert Client(HTTP_APIKEY=key).get("/rest/v1/triggers/status/").status_code == 401

    with pytest.raises(CommandError, match="No API key has the prefix 'nope'"):
        run("revoke", "nope")


def test_list_when_there_are_none():
    assert run("list")[0].strip() == "No API keys."


# The admin ---------------------------------------------------------------------------------

ADD = reverse("admin:triggers_triggerapikey_add")
CHANGELIST = reverse("admin:triggers_triggerapikey_changelist")


def test_superuser_makes_a_key_and_sees_it_once(admin_client, admin_user):
    response = admin_client.post(ADD, {"name": "partner", "read_only": "", "_save": "Save"})

    assert response.status_code == 200
    key = KEY.search(response.content.decode()).group(0)
    assert "no-store" in response["Cache-Control"]
    row = TriggerAPIKey.objects.get()
    assert row.read_only is False and row.created_by == admin_user
    assert keys.find_key(key)[0] == row
    page = admin_client.get(reverse("admin:triggers_triggerapikey_change", args=[row.pk]))
    assert key not in page.content.decode()
    assert row.prefix in admin_client.get(CHANGELIST).content.decode()


def test_staff_without_superuser_makes_only_read_only_keys():
    user = UserFactory(is_staff=True)
    for codename in ("add_triggerapikey", "view_triggerapikey", "change_triggerapikey"):
        user.user_permissions.add(Permission.objects.get(codename=codename))
    client = Client()
    client.force_login(user)

    response = client.post(ADD, {"name": "sneaky", "_save": "Save"})  # read_only left out

    assert response.status_code == 200
    assert KEY.search(response.content.decode())
    assert TriggerAPIKey.objects.get().read_only is True


def test_revoke_action(admin_client):
    row, key = keys.create_key("to-revoke")

    response = admin_client.post(CHANGELIST, {"action": "revoke_keys",
                                              "_selected_action": [row.pk]}, follow=True)

    assert "Revoked 1 key." in response.content.decode()
    row.refresh_from_db()
    assert row.revoked_at is not None
    assert Client(HTTP_APIKEY=key).get("/rest/v1/triggers/status/").status_code == 401


def test_staff_without_key_permissions_cannot_see_keys():
    client = staff_client("triggers.view_triggerdefinition")

    assert client.get(CHANGELIST).status_code == 403


def test_keys_admin_and_command_need_no_drf():
    """Only the API's views import DRF: a project without it keeps its admin and commands."""
    import subprocess
    import sys

    code = (
        "import sys, django; from django.conf import settings; "
        "settings.configure(INSTALLED_APPS=['django.contrib.admin', 'django.contrib.auth', "
        "'django.contrib.contenttypes', 'django.contrib.sessions', 'django.contrib.messages', "
        "'triggers'], DATABASES={'default': {'ENGINE': 'django.db.backends.sqlite3', "
        "'NAME': ':memory:'}}, DEFAULT_AUTO_FIELD='django.db.models.BigAutoField'); "
        "django.setup(); import triggers.admin, triggers.apikeys; "
        "from django.core.management import load_command_class; "
        "load_command_class('triggers', 'triggers'); "
        "assert 'rest_framework' not in sys.modules, 'DRF imported'; print('ok')"
    )
    result = subprocess.run([sys.executable, "-W", "error", "-c", code], capture_output=True,
                            text=True, timeout=60)
    assert result.stdout.strip() == "ok", result.stderr
