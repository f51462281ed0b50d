"""The equality index: a save evaluates only the conditions whose ``eq``/``in`` field matches.

Whatever the index skips must be exactly what evaluating every condition would have rejected.
"""

from decimal import Decimal

import pytest
from django.db import models
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import ArticleFactory, UserFactory
from tests.testapp.models import Article
from triggers import (
    BaseTrigger,
    TriggerCondition,
    TriggerContext,
    TriggerEvent,
    trigger_registry,
)
from triggers.conditions import field_equals, field_in
from triggers.testing import isolated_registry


class Status(models.TextChoices):
    DRAFT = "draft"
    LIVE = "live"


class Counting(TriggerCondition):
    """Always true; counts how often the engine evaluates it."""

    def __init__(self):
        self.calls = 0

    def evaluate(self, context):
        self.calls += 1
        return True


def register(name, condition, fired, event="post_save"):
    trigger_registry.register_trigger(BaseTrigger(
        name=name, event=event, model=Article, mode="inline", conditions=condition,
        actions=[lambda context: fired.append(name)],
    ))


@pytest.mark.django_db
def test_only_the_matching_value_is_evaluated():
    fired, counters = [], {}
    for i in range(50):
        counters[i] = Counting()
        register(f"eq{i}", field_equals("title", f"t{i}") & counters[i], fired)
    article = ArticleFactory(title="t7")
    assert fired == ["eq7"]
    article.title = "t8"
    article.save()
    assert fired == ["eq7", "eq8"]
    assert sum(c.calls for c in counters.values()) == 2


@pytest.mark.django_db
@pytest.mark.parametrize("condition, value, fires", [
    ({"field": "status", "operator": "eq", "value": "live"}, "live", True),
    ({"field": "instance.status", "operator": "eq", "value": "live"}, "live", True),
    ({"field": "new.status", "operator": "eq", "value": "live"}, "live", True),
    ({"field": "status", "operator": "in", "value": ["a", "live"]}, "live", True),
    ({"field": "status", "operator": "in", "value": ["a", "b"]}, "live", False),
    ({"field": "views", "operator": "eq", "value": 3}, 3, True),
    ({"field": "views", "operator": "eq", "value": "3"}, 3, True),  # JSON value converted
    ({"field": "price", "operator": "eq", "value": "2.50"}, Decimal("2.5"), True),
])
def test_json_equality_conditions_fire_as_evaluated(condition, value, fires):
    fired = []
    field = condition["field"].split(".")[-1]
    register("guarded", condition, fired)
    ArticleFactory(**{field: value})
    assert fired == (["guarded"] if fires else [])


@pytest.mark.django_db
def test_enum_values_and_foreign_keys_are_indexed_by_their_plain_value():
    fired = []
    author = UserFactory()
    register("enum", field_equals("status", Status.LIVE), fired)
    register("fk", field_equals("author", author), fired)
    ArticleFactory(status="live", author=author)
    assert sorted(fired) == ["enum", "fk"]
    fired.clear()
    ArticleFactory(status=Status.LIVE)  # an enum member on the instance
    assert fired == ["enum"]


@pytest.mark.django_db
def test_a_value_of_an_unindexed_type_is_still_compared():
    fired = []
    register("eq", field_equals("status", "live"), fired, event="pre_save")

    class Odd(str):
        pass

    article = ArticleFactory.build(status=Odd("live"))
    article.save()
    assert fired == ["eq"]


@pytest.mark.django_db
def test_guarded_triggers_keep_priority_order_with_unguarded_ones():
    fired = []
    for name, priority, condition in [
        ("low", "low", field_equals("status", "live")),
        ("critical", "critical", None),
        ("high", "high", field_in("status", ["live", "x"])),
    ]:
        trigger_registry.register_trigger(BaseTrigger(
            name=name, event="post_save", model=Article, mode="inline", priority=priority,
            conditions=condition, actions=[lambda context, name=name: fired.append(name)],
        ))
    ArticleFactory(status="live")
    assert fired == ["critical", "high", "low"]


@pytest.mark.django_db
def test_related_and_old_paths_are_not_indexed_but_still_work():
    fired = []
    author = UserFactory(username="ann")
    register("related", {"field": "author.username", "operator": "eq", "value": "ann"}, fired)
    register("old", {"field": "old.status", "operator": "eq", "value": "draft"}, fired)
    plan = trigger_registry.plan(Article, TriggerEvent.POST_SAVE)
    assert {t.name for t in plan.always} == {"related", "old"}
    article = ArticleFactory(author=author, status="draft")
    assert fired == ["related"]
    article.status = "live"
    article.save()
    assert fired == ["related", "related", "old"]


values = st.sampled_from(["draft", "live", "x", "", "Live"])


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    conditions=st.lists(
        st.one_of(
            st.builds(lambda v: {"field": "status", "operator": "eq", "value": v}, values),
            st.builds(lambda vs: {"field": "status", "operator": "in", "value": vs},
                      st.lists(values, min_size=1, max_size=3)),
            st.builds(lambda v: {"field": "views", "operator": "eq", "value": v},
                      st.integers(0, 3)),
            st.builds(lambda v: {"field": "views", "operator": "gte", "value": v},
                      st.integers(0, 3)),
        ),
        min_size=1, max_size=8,
    ),
    status=values,
    views=st.integers(0, 3),
)
@pytest.mark.django_db
def test_the_index_fires_exactly_what_evaluating_every_condition_fires(conditions, status,
                                                                        views):
    with isolated_registry():
        fired = []
        for i, condition in enumerate(conditions):
            register(f"t{i}", condition, fired)
        article = ArticleFactory(status=status, views=views)
        context = TriggerContext(TriggerEvent.POST_SAVE, Article, article, created=True)
        expected = [t.name for t in trigger_registry.for_model(Article, TriggerEvent.POST_SAVE)
                    if t.condition.evaluate(context)]
        assert fired == expected
