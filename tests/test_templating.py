"""``{{ path }}`` templates: the paths conditions use, and nothing more (no calls, no private
names, no tags, capped output)."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import User

import triggers
from tests.testapp.models import Article
from triggers import TriggerContext, TriggerEvent
from triggers.templating import MAX_OUTPUT, lookup, render
from triggers.tracking import MISSING, track, tracker_for, untrack


@pytest.fixture
def tracker():
    existing = tracker_for(Article)
    yield track(Article)
    if existing is None:
        untrack(Article)


@pytest.fixture
def alice(db):
    return User.objects.create_user("alice", email="alice@example.com", password="pw")


@pytest.fixture
def article(db, alice):
    return Article.objects.create(title="Hello", status="published", views=7,
                                  price=Decimal("9.50"), author=alice,
                                  data={"tags": ["a", "b"], "meta": {"lang": "en"}})


@pytest.fixture
def context(article, tracker):
    """An update of ``article`` from draft to published, views 3 to 7."""
    old = {"id": article.pk, "title": "Hello", "status": "draft", "views": 3,
           "price": Decimal("9.50"), "data": article.data, "author_id": article.author_id}
    return TriggerContext(TriggerEvent.POST_SAVE, Article, article, tracker=tracker, old=old)


@pytest.mark.parametrize("template,expected", [
    ("{{ instance.title }}", "Hello"),
    ("{{instance.title}}", "Hello"),
    ("{{   title   }}", "Hello"),
    ("{{ status }}", "published"),
    ("{{ old.status }}", "draft"),
    ("{{ new.status }}", "published"),
    ("{{ old.views }} -> {{ new.views }}", "3 -> 7"),
    ("{{ instance.price }}", "9.50"),
    ("{{ instance.author.username }}", "alice"),
    ("{{ author.email }}", "alice@example.com"),
    ("{{ instance.data.tags.1 }}", "b"),
    ("{{ instance.data.meta.lang }}", "en"),
    ("{{ model }}", "testapp.Article"),
    ("{{ event }}", "post_save"),
    ("{{ event_type }}", "post_save"),
    ("{{ created }}", "False"),
    ("Article {{ instance.title }} is {{ status }}.", "Article Hello is published."),
])
def test_placeholders(template, expected, context):
    assert render(template, context) == expected


def test_pk_changes_and_timestamp(context, article):
    assert render("{{ pk }}", context) == str(article.pk)
    assert render("{{ instance.pk }}", context) == str(article.pk)
    assert render("{{ changes }}", context) == str({"status": ["draft", "published"],
                                                    "views": [3, 7]})
    stamp = datetime.datetime.fromisoformat(render("{{ timestamp }}", context))
    assert stamp.tzinfo is not None
    assert abs((stamp - datetime.datetime.now(datetime.timezone.utc)).total_seconds()) < 60


def test_user_and_data(article, tracker, alice):
    with triggers.acting_as(alice):
        context = TriggerContext(TriggerEvent.POST_SAVE, Article, article, tracker=tracker,
                                 data={"order": {"id": 12, "lines": [{"sku": "X"}]}})
        assert render("{{ user.username }} <{{ user.email }}>", context) == (
            "alice <alice@example.com>")
    assert render("{{ data.order.id }}/{{ data.order.lines.0.sku }}", context) == "12/X"
    assert render("[{{ user.username }}]", TriggerContext(TriggerEvent.POST_SAVE, Article,
                                                          article, tracker=tracker)) == "[]"


def test_custom_event_data():
    context = TriggerContext(TriggerEvent.CUSTOM, data={"email": "x@y.z", "n": 3},
                             event_type="user.created")
    assert render("{{ event }} {{ data.email }} {{ email }} {{ n }}", context) == (
        "user.created x@y.z x@y.z 3")
    assert render("{{ model }}|{{ pk }}|{{ old.email }}|{{ changes }}", context) == "|||{}"


@pytest.mark.parametrize("template", [
    "{{ nope }}",
    "{{ instance.nope }}",
    "{{ instance.title.nope }}",
    "{{ data.nope.deeper }}",
    "{{ instance.data.tags.9 }}",
    "{{ old.author.username }}",
    "{{ user.username }}",
    "{{ }}",
    "{{ . }}",
    "{{ instance..title }}",
    "{{ instance.title|upper }}",
    "{{ instance.title|default:'x' }}",
    "{{ instance.title.0 }}",
])
def test_unknown_paths_render_empty(template, context):
    assert render(f"<{template}>", context) == "<>"


def test_old_path_naming_no_field_renders_empty(context, article):
    # Regression: {{ old.nope }} raised ValueError (resolve() did not catch the ValueError of
    # context.previous() for a name that is not a field), and so did {{ old.title }} in an
    # m2m_changed context, which has no tracker.
    assert render("<{{ old.nope }}{{ new.nope }}>", context) == "<>"
    m2m = TriggerContext(TriggerEvent.M2M_CHANGED, Article, article, m2m_action="post_add")
    assert render("<{{ old.title }}|{{ instance.title }}>", m2m) == "<|Hello>"


def test_none_renders_empty(article, tracker):
    article.author = None
    created = TriggerContext(TriggerEvent.POST_SAVE, Article, article, created=True,
                             tracker=tracker)
    assert render("<{{ old.status }}|{{ author }}|{{ instance.author.username }}>",
                  created) == "<||>"


@pytest.mark.parametrize("path", ["instance.delete", "delete", "instance.save",
                                  "instance.refresh_from_db", "author.delete",
                                  "instance.author.set_password", "instance.tags",
                                  "instance.title.upper", "user.delete"])
def test_nothing_is_called(path, context, article, alice):
    article.title = "changed in memory only"
    with triggers.acting_as(alice):
        assert render("<{{ " + path + " }}>", context) == "<>"
    assert Article.objects.filter(pk=article.pk).exists()
    assert Article.objects.get(pk=article.pk).title == "Hello"
    assert User.objects.get(pk=alice.pk).check_password("pw")


@pytest.mark.parametrize("template", [
    "{{ instance._state }}",
    "{{ instance._state.db }}",
    "{{ _state }}",
    "{{ instance.__class__ }}",
    "{{ instance.__class__.__name__ }}",
    "{{ __class__.__mro__ }}",
    "{{ instance.__dict__ }}",
    "{{ author._password }}",
    "{{ settings.SECRET_KEY }}",
    "{{ instance.settings.SECRET_KEY }}",
    "{{ data.__class__ }}",
])
def test_private_names_and_settings_render_empty(template, context):
    output = render(f"<{template}>", context)
    assert output == "<>"
    assert "tests-not-secret" not in output


def test_lookup_returns_missing_for_refused_paths(context):
    assert lookup(context, "instance._state") is MISSING
    assert lookup(context, "settings.SECRET_KEY") is MISSING
    assert lookup(context, "instance.delete") is MISSING
    assert lookup(context, "instance.title") == "Hello"


def test_template_tags_are_inert(context):
    template = ('{% load static %}{% now "Y" %}{% if 1 %}yes{% endif %}{# comment #}'
                '{% include "x.html" %} {{ instance.title }}')
    assert render(template, context) == (
        '{% load static %}{% now "Y" %}{% if 1 %}yes{% endif %}{# comment #}'
        '{% include "x.html" %} Hello')


def test_values_are_not_expanded_again(article, tracker):
    article.title = "{{ user.username }} {{ settings.SECRET_KEY }} {% now 'Y' %}"
    context = TriggerContext(TriggerEvent.POST_SAVE, Article, article, tracker=tracker)
    with triggers.acting_as(User(username="mallory")):
        assert render("{{ title }}", context) == article.title


def test_text_around_placeholders_is_kept(context):
    assert render('{"title": "{{ title }}", "n": {{ views }}}', context) == (
        '{"title": "Hello", "n": 7}')
    assert render("{ single } {{ unclosed", context) == "{ single } {{ unclosed"
    assert render("", context) == ""
    assert render("no placeholders", context) == "no placeholders"


def test_output_is_capped(article, tracker):
    context = TriggerContext(TriggerEvent.CUSTOM, data={"big": "x" * 3000},
                             event_type="big.event")
    assert len(render("y" * (MAX_OUTPUT + 500), context)) == MAX_OUTPUT
    output = render("{{ data.big }}" * 10, context)
    assert output == "x" * MAX_OUTPUT
    assert render("{{ data.big }}", context, limit=5) == "xxxxx"
    assert len(render("{{ data.big }}", context)) == 3000


@pytest.mark.django_db
def test_rendering_inside_a_real_trigger():
    rendered = []
    triggers.post_save_trigger(Article, name="render-probe", mode="inline")(
        lambda context: rendered.append(
            render("{{ instance.title }}: {{ old.status }} -> {{ new.status }}", context)))
    article = Article.objects.create(title="Post", status="draft")
    article.status = "published"
    article.save()
    assert rendered == ["Post:  -> draft", "Post: draft -> published"]
