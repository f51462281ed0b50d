"""``{{ path }}`` templates: the paths conditions use, and nothing more (no calls, no private
names, no tags, capped output)."""

from __future__ import annotations

import datetime
import functools
import html
import json
from decimal import Decimal

import pytest
from django.contrib.auth.models import User

import triggers
from tests.testapp.models import Article, Tag
from triggers import TriggerContext, TriggerEvent
from triggers.templating import (
    MAX_OUTPUT,
    MAX_PLACEHOLDERS,
    is_template,
    lookup,
    render,
    render_data,
    template_problems,
)
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


# The injection corpus ----------------------------------------------------------------------

SECRET = "tests-not-secret"


@pytest.fixture
def counters(monkeypatch):
    """Methods, properties, a cached property and ``__str__`` on Article and User that count
    their calls: a template that ran any of them would show up here."""
    calls = {"method": 0, "property": 0, "cached": 0, "str": 0, "user": 0}

    def bump(self):
        calls["method"] += 1
        return "method ran"

    def tally(self):
        calls["property"] += 1
        return "property ran"

    def heavy(self):
        calls["cached"] += 1
        return "cached property ran"

    def as_str(self):
        calls["str"] += 1
        return "str ran"

    def user_tally(self):
        calls["user"] += 1
        return "user property ran"

    heavy_property = functools.cached_property(heavy)
    heavy_property.__set_name__(Article, "heavy")
    monkeypatch.setattr(Article, "bump", bump, raising=False)
    monkeypatch.setattr(Article, "tally", property(tally), raising=False)
    monkeypatch.setattr(Article, "heavy", heavy_property, raising=False)
    monkeypatch.setattr(Article, "__str__", as_str)
    monkeypatch.setattr(User, "tally", property(user_tally), raising=False)
    monkeypatch.setattr(User, "bump", bump, raising=False)
    return calls


INJECTIONS = [
    "{{ settings.SECRET_KEY }}",
    "{{ SECRET_KEY }}",
    "{{ data.SECRET_KEY }}",
    "{{ instance.delete }}",
    "{{ instance.save }}",
    "{{ instance.refresh_from_db }}",
    "{{ instance.__class__.__init__.__globals__ }}",
    "{{ instance.__class__.__init__.__globals__.settings.SECRET_KEY }}",
    "{{ instance._meta }}",
    "{{ instance._meta.app_config }}",
    "{{ instance._state.db }}",
    "{{ instance._state }}",
    "{{ instance.objects }}",
    "{{ instance.objects.all }}",
    "{{ instance.tags }}",
    "{{ instance.tags.all }}",
    "{{ instance.author.article_set }}",
    "{{ instance.author.password }}",
    "{{ instance.author.PASSWORD }}",
    "{{ author.password }}",
    "{{ author.set_password }}",
    "{{ author.check_password }}",
    "{{ author.get_session_auth_hash }}",
    "{{ author.user_permissions }}",
    "{{ author.groups }}",
    "{{ user.password }}",
    "{{ user.set_password }}",
    "{{ user.get_session_auth_hash }}",
    "{{ user._password }}",
    "{{ user.__dict__ }}",
    "{{ instance.bump }}",
    "{{ instance.tally }}",
    "{{ instance.heavy }}",
    "{{ tally }}",
    "{{ bump }}",
    "{{ author.tally }}",
    "{{ author.bump }}",
    "{{ user.tally }}",
    "{{ user.bump }}",
    "{{ user.is_authenticated }}",
    "{{ instance.title.upper }}",
    "{{ instance.title.format }}",
    "{{ instance.title.__class__ }}",
    "{{ instance.price.as_tuple }}",
    "{{ instance.data.keys }}",
    "{{ instance.data.meta.items }}",
    "{{ instance.data.tags.pop }}",
    "{{ instance.data.__len__ }}",
    "{{ data.get }}",
    "{{ changes.keys }}",
    "{{ instance.__dict__ }}",
    "{{ instance.__reduce__ }}",
    "{{ __builtins__ }}",
    "{{ instance._Article__private }}",
    "{{ instance.title._x }}",
    "{{ instance.x__y }}",
    "{{ instance.title|safe }}",
    "{{ x|safe }}",
    "{{ instance.title|escape }}",
    "{{ instance.title | lower }}",
    "{{ instance['title'] }}",
    "{{ instance.title() }}",
    "{{ instance.delete() }}",
    "{{ instance.title[0] }}",
    "{{ instance .title }}",
    "{{ -1 }}",
    "{{ 0 }}",
    "{{ instance.data.tags.-1 }}",
    "{{ instance.data.tags.99999999999999999999 }}",
    "{{ instance.api_key }}",
    "{{ data.access_token }}",
    "{{ data.client_secret }}",
    "{{ data.password_hash }}",
]


@pytest.mark.parametrize("template", INJECTIONS)
def test_injection_corpus_renders_empty(template, context, article, alice, counters):
    article.data = {**article.data, "SECRET_KEY": SECRET, "access_token": SECRET,
                    "client_secret": SECRET, "password_hash": SECRET}
    article.save()
    tags = Tag.objects.create(name="t")
    article.tags.add(tags)
    with triggers.acting_as(alice):
        context = TriggerContext(TriggerEvent.POST_SAVE, Article, article,
                                 data={"SECRET_KEY": SECRET, "access_token": SECRET,
                                       "client_secret": SECRET, "password_hash": SECRET})
        output = render(f"<{template}>", context)
    assert output == "<>"
    assert counters == {"method": 0, "property": 0, "cached": 0, "str": 0, "user": 0}
    assert Article.objects.filter(pk=article.pk).exists()
    assert User.objects.get(pk=alice.pk).check_password("pw")


def test_no_secret_leaks_through_any_path_of_the_corpus(context, article, alice, counters):
    """All of the corpus in one text, with the secrets on the objects: none comes out."""
    article.data = {"SECRET_KEY": SECRET}
    alice.refresh_from_db()
    with triggers.acting_as(alice):
        context = TriggerContext(TriggerEvent.POST_SAVE, Article, article,
                                 data={"SECRET_KEY": SECRET})
        output = render(" ".join(INJECTIONS), context, limit=10**6)
    assert SECRET not in output
    assert alice.password not in output
    assert "md5$" not in output
    assert "ran" not in output
    assert set(output) <= {" "}
    assert sum(counters.values()) == 0


def test_a_related_objects_methods_are_not_called(db):
    from example_project.shops.models import Shop
    from example_project.sims.models import SimCard

    shop = Shop.objects.create(name="Main", code="M1")
    card = SimCard(serial_number="8901", shop=shop)
    context = TriggerContext(TriggerEvent.POST_SAVE, SimCard, card)
    for path in ("instance.shop.delete", "instance.shop.save", "shop.delete",
                 "instance.shop.sim_cards", "instance.shop.sim_cards.all",
                 "instance.shop.inventory", "instance.shop.performance",
                 "instance.shop.manager.password", "instance.shop._state.db"):
        assert render("<{{ " + path + " }}>", context) == "<>", path
    assert Shop.objects.filter(pk=shop.pk).exists()
    assert render("{{ instance.shop.code }} {{ instance.shop.name }} {{ shop.status }}",
                  context) == "M1 Main pending"
    assert render("{{ instance.shop }}|{{ instance.shop.pk }}|{{ instance.shop_id }}",
                  context) == f"{shop.pk}|{shop.pk}|{shop.pk}"


def test_model_instances_render_as_their_primary_key(context, article, alice, counters):
    with triggers.acting_as(alice):
        context = TriggerContext(TriggerEvent.POST_SAVE, Article, article)
        assert render("{{ instance }}|{{ author }}|{{ user }}", context) == (
            f"{article.pk}|{alice.pk}|{alice.pk}")
    assert render("{{ instance.data }}", TriggerContext(
        TriggerEvent.CUSTOM, data={"who": alice, "list": (article,)}, event_type="x")) == ""
    custom = TriggerContext(TriggerEvent.CUSTOM, data={"who": alice, "list": (article,)},
                            event_type="x")
    assert render("{{ data }}", custom) == str({"who": alice.pk, "list": [article.pk]})
    assert counters["str"] == 0


def test_lazy_request_user_is_read_without_running_its_properties(article, tracker, alice):
    from django.utils.functional import SimpleLazyObject

    with triggers.acting_as(SimpleLazyObject(lambda: alice)):
        context = TriggerContext(TriggerEvent.POST_SAVE, Article, article, tracker=tracker)
        assert render("{{ user.username }}|{{ user.is_staff }}|{{ user.email }}|"
                      "{{ user.is_authenticated }}|{{ user.password }}", context) == (
            "alice|False|alice@example.com||")


def test_objects_with_getattr_are_not_asked(article, tracker):
    asked = []

    class Sneaky:
        plain = "class attribute"

        def __init__(self):
            self.own = "own attribute"

        def __getattr__(self, name):
            asked.append(name)
            return "computed"

    with triggers.tenant_context(Sneaky()):
        context = TriggerContext(TriggerEvent.POST_SAVE, Article, article, tracker=tracker)
        assert render("{{ tenant.own }}|{{ tenant.plain }}|{{ tenant.anything }}",
                      context) == "own attribute|class attribute|"
    assert asked == []


@pytest.mark.parametrize("template,expected", [
    ("{% load static %}{% debug %}", "{% load static %}{% debug %}"),
    ("{% load secrets %}{{ instance.title }}", "{% load secrets %}Hello"),
    ("{% debug %}", "{% debug %}"),
    ("{% templatetag openvariable %}", "{% templatetag openvariable %}"),
    ("{{ instance.title|safe }}", ""),
    ("{{ settings.SECRET_KEY|safe }}", ""),
    ("{{ {{ instance.title }} }}", "{{ Hello }}"),
    ("{{{ instance.title }}}", "{Hello}"),
    ("{{{{ instance.title }}}}", "{{Hello}}"),
    ("{{ instance.{{ title }} }}", "{{ instance.Hello }}"),
    ("{ {{ title }} }", "{ Hello }"),
    ("{{ title }", "{{ title }"),
    ("{{ title", "{{ title"),
    ("}}{{", "}}{{"),
    ("{0.__class__} {title} %(title)s %s", "{0.__class__} {title} %(title)s %s"),
    ("{0.__init__.__globals__[settings]}", "{0.__init__.__globals__[settings]}"),
    ("${title} #{title} <%= title %>", "${title} #{title} <%= title %>"),
])
def test_tag_filter_brace_and_format_syntax_is_text(template, expected, context):
    assert render(template, context) == expected


@pytest.mark.parametrize("value", [
    "{0.__class__.__init__.__globals__}",
    "{title} {0} {} %s %(title)s %d",
    "{{ settings.SECRET_KEY }}",
    "{{ instance.title }}",
    "{% debug %}{% load static %}",
    "{{ user.password }}{{",
    "}}{{ title }}{{",
])
def test_values_are_inserted_as_they_are(value, article, tracker):
    article.title = value
    context = TriggerContext(TriggerEvent.POST_SAVE, Article, article, tracker=tracker,
                             data={"v": value})
    assert render("[{{ title }}|{{ data.v }}]", context) == f"[{value}|{value}]"
    assert render_data({"t": "{{ title }}", "v": "x {{ data.v }}"}, context) == {
        "t": value, "v": f"x {value}"}


def test_a_value_of_one_megabyte_is_capped():
    big = "x" * 1_000_000
    context = TriggerContext(TriggerEvent.CUSTOM, data={"big": big, "blob": {"k": big}},
                             event_type="big")
    assert render("{{ data.big }}", context) == "x" * MAX_OUTPUT
    assert render("a{{ data.big }}b", context) == "a" + "x" * (MAX_OUTPUT - 1)
    assert len(render("{{ data.blob }}", context)) == MAX_OUTPUT
    assert len(render("{{ data.big }}" * 50, context)) == MAX_OUTPUT
    assert render_data("{{ data.big }}", context) == "x" * MAX_OUTPUT
    # a JSON value too big for the cap is rendered as (capped) text, not kept whole
    blob = render_data("{{ data.blob }}", context)
    assert isinstance(blob, str) and len(blob) == MAX_OUTPUT
    assert render_data({"a": "{{ data.big }}", "b": ["{{ data.big }}"]}, context) == {
        "a": "x" * MAX_OUTPUT, "b": ["x" * MAX_OUTPUT]}


class CountingDict(dict):
    """Event data that counts how many lookups a render made."""

    lookups = 0

    def get(self, key, default=None):
        type(self).lookups += 1
        return super().get(key, default)


def test_ten_thousand_placeholders_are_capped():
    CountingDict.lookups = 0
    context = TriggerContext(TriggerEvent.CUSTOM,
                             data=CountingDict(v="abc", long="y" * 30, empty=""),
                             event_type="many")
    # the output cap stops the lookups ...
    output = render("{{ data.long }}" * 10_000, context)
    assert output == "y" * MAX_OUTPUT
    assert CountingDict.lookups == -(-MAX_OUTPUT // 30)
    CountingDict.lookups = 0
    # ... and so does the placeholder cap, for short values: the rest render empty
    output = render("{{ data.v }}" * 10_000, context)
    assert output == "abc" * MAX_PLACEHOLDERS
    assert CountingDict.lookups == MAX_PLACEHOLDERS
    CountingDict.lookups = 0
    assert render("{{ data.empty }}" * 10_000, context) == ""
    assert CountingDict.lookups == MAX_PLACEHOLDERS
    CountingDict.lookups = 0
    output = render("{{ data.empty }}-" * 10_000, context)
    assert output == "-" * MAX_OUTPUT
    assert CountingDict.lookups == MAX_PLACEHOLDERS
    assert len(render("{{ data.v }}" * 10_000, context, limit=10**9)) == 3 * MAX_PLACEHOLDERS


def test_escape_applies_to_values_only(article, tracker):
    article.title = '<script>alert("x")</script> & co'
    context = TriggerContext(TriggerEvent.POST_SAVE, Article, article, tracker=tracker)
    assert render("<p>{{ title }}</p>", context, escape=html.escape) == (
        "<p>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co</p>")


# render_data ------------------------------------------------------------------------------


def test_render_data_keeps_json_types_of_single_placeholders(context, article, alice):
    with triggers.acting_as(alice):
        context = TriggerContext(TriggerEvent.POST_SAVE, Article, article,
                                 data={"n": 3, "f": 1.5, "none": None, "list": [1, (2, 3)]})
        data = render_data({
            "id": "{{ instance.id }}", "views": "{{ views }}", "created": "{{ created }}",
            "data": "{{ instance.data }}", "tags": "{{ instance.data.tags }}",
            "n": "{{ data.n }}", "f": "{{ data.f }}", "none": "{{ data.none }}",
            "list": "{{ data.list }}", "author": "{{ instance.author }}",
            "user": "{{ user }}", "price": "{{ instance.price }}",
            "padded": " {{ instance.id }}", "text": "id {{ instance.id }}",
            "missing": "{{ instance.nope }}", "refused": "{{ user.password }}",
            "call": "{{ instance.delete }}",
            "nested": [{"id": "{{ pk }}", "literal": 7, "flag": True, "null": None}],
            "{{ instance.title }}": "keys are not rendered",
        }, context)
    assert data == {
        "id": article.pk, "views": 7, "created": False,
        "data": {"tags": ["a", "b"], "meta": {"lang": "en"}}, "tags": ["a", "b"],
        "n": 3, "f": 1.5, "none": None, "list": [1, [2, 3]], "author": alice.pk,
        "user": alice.pk, "price": "9.50", "padded": f" {article.pk}",
        "text": f"id {article.pk}", "missing": "", "refused": "", "call": "",
        "nested": [{"id": article.pk, "literal": 7, "flag": True, "null": None}],
        "{{ instance.title }}": "keys are not rendered",
    }
    assert json.loads(json.dumps(data)) == data


def test_render_data_leaves_other_values_alone(context):
    assert render_data(5, context) == 5
    assert render_data(None, context) is None
    assert render_data([1.5, True, None, "{{ status }}"], context) == [1.5, True, None,
                                                                       "published"]
    assert render_data((1, "{{ status }}"), context) == [1, "published"]
    timestamp = render_data("{{ timestamp }}", context)
    assert isinstance(timestamp, str) and "T" not in timestamp  # str() of a datetime


def test_render_data_of_changes_and_model(context):
    assert render_data({"c": "{{ changes }}", "m": "{{ model }}"}, context) == {
        "c": {"status": ["draft", "published"], "views": [3, 7]}, "m": "testapp.Article"}


# Checking templates when they are saved ----------------------------------------------------


@pytest.mark.parametrize("template,problem", [
    ("{{ instance.title|upper }}", "uses a filter"),
    ("{{ instance._meta }}", "is not a path"),
    ("{{ instance.__class__ }}", "is not a path"),
    ("{{ }}", "is not a path"),
    ("{{ instance['x'] }}", "is not a path"),
    ("{{ user.password }}", "names 'password', a secret"),
    ("{{ settings.SECRET_KEY }}", "names 'SECRET_KEY', a secret"),
    ("{{ data.api_key }}", "names 'api_key', a secret"),
])
def test_template_problems(template, problem):
    found = template_problems(f"x {template} y")
    assert len(found) == 1 and problem in found[0], found
    assert found[0].startswith("{{ ")


def test_good_templates_have_no_problems():
    assert template_problems("{{ instance.title }} {{ old.status }} {{ pk }} {{ model }} "
                             "{{ changes }} {{ timestamp }} {{ data.items.0.sku }} "
                             "{% debug %} { x } plain") == []
    assert is_template("a {{ b }}") and not is_template("a { b }") and not is_template(3)
