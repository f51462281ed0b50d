"""The trigger of the "this app" variants, found by the triggers app's autodiscovery."""

from triggers import field_changed_trigger

from .hooks import noop
from .models import TrigItem, TrigManyItem


@field_changed_trigger(TrigItem, "status", name="bench.trig_item_status", mode="inline")
def trig_item_status(context):
    noop("triggers")


@field_changed_trigger(TrigManyItem, "status", name="bench.trig_many_item_status", mode="inline")
def trig_many_item_status(context):
    noop("triggers-many")
