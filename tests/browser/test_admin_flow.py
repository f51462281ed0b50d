"""A staff user's flow through the trigger admin, in headless Chromium against the live server:
create a database trigger (a bad operator first, refused next to the field), make it fire,
find its execution in the log, and look at the dashboard."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect

from tests.testapp.models import Article
from triggers.models import TriggerDefinition, TriggerExecution

pytestmark = pytest.mark.django_db(transaction=True)

TRIGGER = "article-published"
PASSWORD = "a-browser-test-password"


def condition(operator):
    return json.dumps({"field": "status", "operator": operator, "value": "published"})


@pytest.fixture
def staff_superuser(django_user_model):
    return django_user_model.objects.create_superuser("editor", "editor@example.com", PASSWORD)


def test_create_a_trigger_see_it_fire_and_find_it(live_server, staff_superuser, page,
                                                   artifacts):
    admin = f"{live_server.url}/admin/"
    page.goto(admin)
    page.fill("#id_username", staff_superuser.username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    expect(page.locator("#content h1")).to_have_text("Site administration")

    # A database trigger with a changed_to condition and a log action, first with a typo in
    # the operator.
    page.click("#content-main a[href$='/triggers/triggerdefinition/']")
    page.click(".object-tools a.addlink")
    page.fill("#id_name", TRIGGER)
    page.select_option("#id_event", "post_save")
    page.select_option("#id_model", "testapp.Article")
    page.fill("#id_conditions", condition("changed_too"))
    page.select_option("#id_actions-0-type", "log")
    page.fill("#id_actions-0-config", '{"message": "{{ instance.title }} is out"}')
    page.click("input[name=_save]")

    error = page.locator(".field-conditions ul.errorlist")
    expect(error).to_contain_text("operator 'changed_too'")  # names the operator
    expect(error).to_contain_text("unknown operator; use one of")  # and the fix
    expect(error).to_contain_text("changed_to")
    expect(page.locator(".errorlist")).to_have_count(1)  # nothing else is wrong
    page.screenshot(path=str(artifacts / "admin-validation-error.png"), full_page=True)
    assert not TriggerDefinition.objects.exists()
    # The form keeps what was typed, the action included.
    expect(page.locator("#id_actions-0-config")).to_have_value(
        '{"message": "{{ instance.title }} is out"}')

    page.fill("#id_conditions", condition("changed_to"))
    page.click("input[name=_save]")
    expect(page.locator(".messagelist .success")).to_contain_text("was added successfully")
    row = TriggerDefinition.objects.get(name=TRIGGER)
    assert row.conditions["operator"] == "changed_to"
    assert [(a.type, a.config) for a in row.actions.all()] == [
        ("log", {"message": "{{ instance.title }} is out"})]

    # An article is published by the logged-in user, in a request of the server: it fires.
    article = Article.objects.create(title="Hello browser", status="draft")
    page.goto(f"{live_server.url}/publish/{article.pk}/")
    expect(page.locator("body")).to_have_text("ok")
    run = TriggerExecution.objects.get(trigger_name=TRIGGER)
    assert (run.status, run.object_pk, run.user) == ("success", str(article.pk), "editor")
    assert run.message == "Hello browser is out"

    # The execution log, searched by trigger.
    page.goto(admin)
    page.click("#content-main a[href$='/triggers/triggerexecution/']")
    page.fill("#searchbar", TRIGGER)
    page.press("#searchbar", "Enter")
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first.locator("td.field-object_pk")).to_have_text(str(article.pk))
    expect(rows.first.locator("td.field-user")).to_have_text("editor")
    expect(rows.first.locator("td.field-status")).to_have_text(re.compile("success", re.I))

    # The dashboard, from the list of database triggers.
    page.click(".breadcrumbs a:text-is('Triggers')")
    page.click("#content-main a[href$='/triggers/triggerdefinition/']")
    page.click(".object-tools a:text-is('Dashboard')")
    expect(page.locator("#content h1")).to_have_text("Trigger dashboard")
    expect(page.locator("#totals td").first).to_have_text("1")
    expect(page.locator("svg.trigger-chart")).to_have_count(2)
    expect(page.locator("#slowest")).to_contain_text(TRIGGER)
    page.screenshot(path=str(artifacts / "admin-dashboard.png"), full_page=True)
