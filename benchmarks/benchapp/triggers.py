"""The triggers of the "this app" variants, found by the triggers app's autodiscovery, and the
functions the database triggers of the benchmark call (``register_function``)."""

from triggers import field_changed_trigger, register_function

from .hooks import noop
from .models import TrigItem, TrigManyItem


@field_changed_trigger(TrigItem, "status", name="bench.trig_item_status", mode="inline")
def trig_item_status(context):
    noop("triggers")


@field_changed_trigger(TrigManyItem, "status", name="bench.trig_many_item_status", mode="inline")
def trig_many_item_status(context):
    noop("triggers-many")


@register_function("bench.db_noop")
def def_item_status_db(context):
    """The action of the database trigger on DefItem."""
    noop("db")


def def_item_status_code(context):
    """The action of its twin in code (the same work under its own hook key)."""
    noop("code")


@register_function("bench.extra")
def extra(context):
    """The action of the 1,000 database triggers on other models (never called)."""
    noop("extra")


def limited_status(context):
    """The action of the rate-limited triggers on LimitItem (run.py registers them)."""
    noop("limited")
