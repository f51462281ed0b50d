"""Secret values never leave the app: a corpus of event data and instances with secret-named
keys at every depth, rendered through every template path, the data renderer, every webhook
payload preset and the Redis message. No secret value may appear in any output."""

from __future__ import annotations

import json

import pytest

from tests.testapp.models import Article
from triggers import TriggerContext, TriggerEvent
from triggers.actions import LogAction, send_email
from triggers.actions.payloads import PAYLOADS
from triggers.actions.redis import event_payload
from triggers.templating import is_secret, render, render_data
from triggers.tracking import track

pytestmark = pytest.mark.django_db

SECRET_KEYS = ["token", "password", "access_token", "api_key", "apiKey", "client_secret",
               "Authorization", "private_key", "session_key", "db_password_hash", "credentials"]


def secrets_at_every_depth(tag: str) -> tuple[dict, list[str]]:
    """Event data holding a secret under each secret name, at depths 1 to 4 and inside lists,
    beside plain values that must stay; and the list of the secret values."""
    values: list[str] = []

    def secrets(depth: str) -> dict:
        found = {}
        for key in SECRET_KEYS:
            value = f"SECRET-{tag}-{depth}-{key}"
            values.append(value)
            found[key] = value
        return found

    data = {
        **secrets("top"), "visible": "shown",
        "nested": {**secrets("nested"), "visible": "shown",
                   "deeper": {**secrets("deeper"), "deepest": [secrets("in-list")]}},
        "items": [secrets("item0"), {"inner": secrets("item1")}, "shown"],
    }
    return data, values


def custom_context(data: dict) -> TriggerContext:
    return TriggerContext(TriggerEvent.CUSTOM, None, None, data=data, event_type="shop.secret")


def article_context(data: dict) -> TriggerContext:
    tracker = track(Article)
    article = Article.objects.create(title="t", data={})
    article.data = data
    return TriggerContext(TriggerEvent.POST_SAVE, Article, article, tracker=tracker,
                          old={"data": {}, "title": "t"})


TEMPLATES = ["{{ data }}", "{{ data.nested }}", "{{ data.nested.deeper }}",
             "{{ data.items }}", "{{ data.items.0 }}", "{{ data.items.1 }}",
             "{{ data.items.1.inner }}", "{{ data.nested.deeper.deepest }}",
             "{{ data.nested.deeper.deepest.0 }}", "{{ data.token }}", "{{ changes }}",
             "{{ instance.data }}", "{{ new.data }}", "{{ instance.data.nested }}"]


def outputs(context: TriggerContext) -> dict[str, str]:
    from django.core import mail

    found = {template: render(template, context) for template in TEMPLATES}
    found["log action"] = LogAction("{{ data }} {{ instance.data }}").execute(context).message
    mail.outbox.clear()
    send_email("ops@example.com", "{{ data.nested }}", "{{ data }} {{ changes }}").execute(
        context)
    found["email"] = mail.outbox[0].message().as_string()
    found["celery args"] = json.dumps(render_data(["{{ data }}", {"x": "{{ data.items }}"}],
                                                  context))
    found["render_data"] = json.dumps(render_data(
        {"all": "{{ data }}", "list": ["{{ data.items }}"], "x": "{{ instance.data }}"},
        context))
    for name, preset in PAYLOADS.items():
        found[f"preset {name}"] = json.dumps(preset(context, "t", "msg_1"), default=str)
    found["redis"] = json.dumps(event_payload(context), default=str)
    return found


@pytest.mark.parametrize("make", [custom_context, article_context], ids=["custom", "instance"])
def test_no_secret_value_appears_in_any_output(make):
    data, values = secrets_at_every_depth(make.__name__)
    context = make(data)
    leaks = {where: [v for v in values if v in text]
             for where, text in outputs(context).items()}
    assert {where: found for where, found in leaks.items() if found} == {}
    assert "shown" in render("{{ data }}", context) or "shown" in render("{{ instance.data }}",
                                                                         context)


def test_the_secret_names_can_be_extended(settings):
    context = custom_context({"iban": "DE00 1234", "customer": {"Bank_IBAN": "FR76 9"},
                              "name": "Ada"})
    assert "DE00" in render("{{ data }}", context)
    settings.TRIGGER_SECRET_NAMES = ["iban"]
    text = render("{{ data }}", context)
    assert "DE00" not in text and "FR76" not in text and "Ada" in text
    assert render("{{ data.iban }}", context) == ""
    assert is_secret("customer_IBAN") and not is_secret(3)
