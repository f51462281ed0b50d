"""One model per variant, with identical fields (see benchmarks/README.md).

``PlainItem``      no receivers at all (the baseline)
``UnwatchedItem``  no trigger watches it (triggers exist on other models)
``SignalItem``     an empty receiver on pre_save and on post_save: the floor of any signal-based
                   approach (what Django's signal dispatch alone costs)
``TrigItem``       ``@field_changed_trigger(TrigItem, "status", mode="inline")``
                   (in benchapp/triggers.py)
``TrigManyItem``   the same trigger plus 1,000 triggers that do not match (registered by run.py)
``DefItem``        a database trigger (a ``TriggerDefinition`` row), or the same trigger written
                   in code, registered by run.py around the blocks of their variants
``LimitItem``      the ``TrigItem`` trigger with a ``rate_limit`` (counters in the database or
                   in Redis; never reached, or always), registered by run.py around the blocks
``TrackerItem``    django-model-utils ``FieldTracker(fields=["status"])`` + a post_save receiver
``LifecycleItem``  django-lifecycle ``@hook(AFTER_UPDATE, condition=WhenFieldHasChanged(...))``
``Other0..9``      models that only carry the 1,000 "other model" triggers, in code or in the
                   database (never saved)
"""

from __future__ import annotations

from django.db import models
from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver
from django_lifecycle import AFTER_UPDATE, LifecycleModel, hook
from django_lifecycle.conditions import WhenFieldHasChanged
from model_utils import FieldTracker

from .hooks import noop


class ItemFields(models.Model):
    name = models.CharField(max_length=100)
    status = models.CharField(max_length=20, default="open")
    counter = models.IntegerField(default=0)
    note = models.TextField(blank=True)
    amount = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    created = models.DateTimeField()

    class Meta:
        abstract = True


class PlainItem(ItemFields):
    pass


class UnwatchedItem(ItemFields):
    pass


class SignalItem(ItemFields):
    pass


def _empty_receiver(sender, instance, **kwargs):
    return None


pre_save.connect(_empty_receiver, sender=SignalItem, dispatch_uid="benchapp.signal_item_pre")
post_save.connect(_empty_receiver, sender=SignalItem, dispatch_uid="benchapp.signal_item_post")


class TrigItem(ItemFields):
    pass


class TrigManyItem(ItemFields):
    pass


class DefItem(ItemFields):
    pass


class LimitItem(ItemFields):
    pass


class TrackerItem(ItemFields):
    tracker = FieldTracker(fields=["status"])


@receiver(post_save, sender=TrackerItem, dispatch_uid="benchapp.tracker_item_status")
def tracker_item_status(sender, instance, created=False, **kwargs):
    # A new row "has changed" for FieldTracker; the other variants do not fire on create.
    if not created and instance.tracker.has_changed("status"):
        noop("tracker")


class LifecycleItem(LifecycleModel, ItemFields):
    @hook(AFTER_UPDATE, condition=WhenFieldHasChanged("status", has_changed=True))
    def on_status_changed(self):
        noop("lifecycle")


OTHER_MODELS: list[type[models.Model]] = []
for _i in range(10):
    _name = f"Other{_i}"
    _model = type(_name, (ItemFields,), {"__module__": __name__})
    globals()[_name] = _model
    OTHER_MODELS.append(_model)
