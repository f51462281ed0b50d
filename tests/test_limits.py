"""The flow-control keys as written (``triggers.limits``): every spelling DESIGN.md gives, the
canonical values stored and exported, the problems of bad values, the counters' keys, and
the decision a counter's state makes."""

from __future__ import annotations

import pytest

from tests.testapp.models import Article
from triggers import BaseTrigger, TriggerConfigurationError, post_save_trigger
from triggers.choices import TriggerEvent
from triggers.context import TriggerContext
from triggers.limits import MAX_KEY, FlowLimits, Rate, Stop, merge_alias, read_limits
from triggers.runtime import tenant_context


def noop(context):
    return None


@pytest.mark.parametrize(("given", "text", "count", "per"), [
    (10, "10/m", 10, 60),
    ("10", "10/m", 10, 60),
    ("10/m", "10/m", 10, 60),
    ("5/s", "5/s", 5, 1),
    (" 100 / h ", "100/h", 100, 3600),
    ("1/d", "1/d", 1, 86400),
])
def test_rate_limit_spellings(given, text, count, per):
    limits, values, problems = read_limits(given)
    assert problems == []
    assert values == {"rate_limit": text, "cooldown": None, "limit_by": "trigger"}
    assert limits == FlowLimits(Rate(count, per, text))


@pytest.mark.parametrize("given", [0, -1, 1_000_001, "ten", "10/w", "10/min", 1.5, True, [10],
                                   "/m"])
def test_a_bad_rate_limit_is_a_problem_that_says_what_to_give(given):
    limits, _values, problems = read_limits(given)
    assert limits is None
    [(key, message)] = problems
    assert key == "rate_limit"
    assert repr(given) in message
    assert '"N/h"' in message or "from 1 to 1,000,000" in message


@pytest.mark.parametrize(("given", "stored"), [(300, 300.0), (300.0, 300.0), (0.5, 0.5),
                                                (0, None), (None, None)])
def test_cooldowns(given, stored):
    limits, values, problems = read_limits(cooldown=given)
    assert problems == [] and values["cooldown"] == stored
    assert (limits is None) == (stored is None)


@pytest.mark.parametrize("given", [-1, "300", True, 31 * 86400])
def test_a_bad_cooldown_is_a_problem(given):
    _limits, _values, [(key, message)] = read_limits(cooldown=given)
    assert key == "cooldown" and "give a number of seconds from 0 to 2,592,000" in message


@pytest.mark.parametrize(("given", "path"), [
    ("trigger", ()), ("", ()), (None, ()), ("object", ()),
    ("instance.shop_id", ("instance", "shop_id")), ("data.account_id", ("data", "account_id")),
    ("tenant", ("tenant",)),
])
def test_limit_by(given, path):
    limits, values, problems = read_limits("3/m", limit_by=given)
    assert problems == []
    assert limits is not None and limits.path == path
    assert values["limit_by"] == (given or "trigger")


@pytest.mark.parametrize("given", ["instance..shop", "_private", "data.-x", 3])
def test_a_bad_limit_by_names_the_choices(given):
    _limits, _values, [(key, message)] = read_limits("3/m", limit_by=given)
    assert key == "limit_by"
    assert '"trigger", "object" or a path such as "instance.shop_id"' in message


def test_limit_by_without_a_limit_is_a_problem():
    assert read_limits(limit_by="object")[2] == [(
        "limit_by", "'object' says what the limits count per, but there is no rate_limit or "
                    "cooldown; add one, or remove limit_by.")]


def test_custom_events_have_no_object():
    [(key, message)] = read_limits("3/m", limit_by="object", custom=True)[2]
    assert key == "limit_by" and "data.account_id" in message


def test_cooldown_seconds_is_cooldown():
    assert merge_alias({"cooldown_seconds": 10}) == ({"cooldown": 10}, [])
    assert merge_alias({"cooldown": 10, "cooldown_seconds": 10}) == ({"cooldown": 10}, [])
    assert merge_alias({"cooldown": None, "cooldown_seconds": 10}) == ({"cooldown": 10}, [])
    assert merge_alias({"cooldown": 5, "cooldown_seconds": 10})[1] == [
        ("cooldown", "cooldown and cooldown_seconds are one key; give one.")]


# In code ---------------------------------------------------------------------------------


def test_decorator_keywords_and_describe():
    @post_save_trigger(Article, name="limited", rate_limit=10, cooldown_seconds=300.0,
                       limit_by="object")
    def handler(context):
        return None

    trigger = handler.trigger
    assert trigger.limits == FlowLimits(Rate(10, 60, "10/m"), 300.0, "object")
    described = trigger.describe()
    assert (described["rate_limit"], described["cooldown"], described["limit_by"]) == (
        "10/m", 300.0, "object")


def test_a_trigger_without_limits_has_none():
    trigger = BaseTrigger("plain", "post_save", Article, actions=[noop])
    assert trigger.limits is None
    assert trigger.flow_control == {"rate_limit": None, "cooldown": None, "limit_by": "trigger"}


def test_bad_keywords_name_the_trigger_and_the_key():
    with pytest.raises(TriggerConfigurationError,
                       match=r"Trigger 'x': rate_limit: '10/week' is not a rate"):
        BaseTrigger("x", "post_save", Article, actions=[noop], rate_limit="10/week")
    with pytest.raises(TriggerConfigurationError, match="cooldown and cooldown_seconds"):
        BaseTrigger("x", "post_save", Article, actions=[noop], cooldown=1, cooldown_seconds=2)
    with pytest.raises(TriggerConfigurationError, match="custom events have no object"):
        BaseTrigger("x", "custom", event_types=["a.*"], actions=[noop], cooldown=1,
                    limit_by="object")


def test_the_keys_of_the_other_half_are_not_accepted_yet():
    for key in ("throttle", "max_concurrent", "debounce"):
        with pytest.raises(TypeError):
            BaseTrigger("x", "post_save", Article, actions=[noop], **{key: 1})


# Keys and verdicts -----------------------------------------------------------------------


@pytest.mark.django_db
def test_keys_per_trigger_object_and_path():
    article = Article.objects.create(title="a", data={"account": {"id": 7}})
    context = TriggerContext(TriggerEvent.POST_SAVE, Article, article)
    assert FlowLimits(Rate(1, 60, "1/m")).key(context) == ""
    assert FlowLimits(Rate(1, 60, "1/m"), limit_by="object").key(context) == str(article.pk)
    by_title = FlowLimits(Rate(1, 60, "1/m"), limit_by="instance.title", path=("instance",
                                                                                 "title"))
    assert by_title.key(context) == "a"
    missing = FlowLimits(cooldown=1.0, limit_by="instance.nothing", path=("instance", "nothing"))
    assert missing.key(context) == ""
    article.title = "t" * (MAX_KEY + 1)
    assert by_title.key(context).startswith("sha256:") and len(by_title.key(context)) == 71
    custom = TriggerContext(TriggerEvent.CUSTOM, data={"account_id": 42})
    assert FlowLimits(cooldown=1.0, limit_by="data.account_id",
                      path=("data", "account_id")).key(custom) == "42"
    with tenant_context("acme"):
        assert FlowLimits(cooldown=1.0, limit_by="tenant", path=("tenant",)).key(
            TriggerContext(TriggerEvent.CUSTOM)) == "acme"


def test_verdicts():
    limits = FlowLimits(Rate(2, 60, "2/m"), cooldown=10.0)
    assert limits.verdict(None, 0, None, 1000.0) is None
    assert limits.verdict(1000.0, 1, 1000.0, 1005.0) == Stop("cooldown", 1010.0)
    assert limits.verdict(1000.0, 1, 1000.0, 1010.0) is None  # a cooldown ends at its end
    assert limits.verdict(1000.0, 2, 1020.0, 1030.0, "k") == Stop("rate_limit", 1060.0, "k")
    assert limits.verdict(1000.0, 2, 1020.0, 1060.0) is None  # a new window
    # both stop it: the one that allows the next execution last
    assert FlowLimits(Rate(1, 60, "1/m"), 100.0).verdict(1000.0, 1, 1000.0, 1001.0) == Stop(
        "cooldown", 1100.0)
    assert FlowLimits(Rate(1, 60, "1/m"), 10.0).verdict(1000.0, 1, 1000.0, 1001.0) == Stop(
        "rate_limit", 1060.0)


def test_stop_messages_say_which_limit_for_which_key_and_when():
    at = 1_700_000_000.25
    rate = FlowLimits(Rate(10, 60, "10/m"), limit_by="instance.shop_id",
                      path=("instance", "shop_id"))
    assert Stop("rate_limit", at, "7").message(rate) == (
        "The rate_limit 10/m (10 per minute) is reached for instance.shop_id '7'; the next "
        "execution is allowed at 2023-11-14T22:13:20.250Z.")
    assert Stop("cooldown", at).message(FlowLimits(cooldown=300.0)) == (
        "The cooldown of 300 s after the last execution is running; the next execution is "
        "allowed at 2023-11-14T22:13:20.250Z.")
    assert "could not be read or written" in Stop("unavailable", at).message(None)
