"""Seed 004's SIM card triggers, doing real work on the SIM, shop and notification models.

Every trigger runs after the change commits (the default ``on_commit`` mode) and reads the
values the change was made with from the context (``context.current``, ``context.previous``),
not from the instance, which the caller may have changed again since.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from example_project.notifications.models import Notification
from example_project.shops.triggers import SIM_PRODUCT, adjust_stock
from triggers import (
    TriggerContext,
    TriggerPriority,
    TriggerResult,
    field_changed_trigger,
    post_save_trigger,
    register_function,
)
from triggers.conditions import changed_to, field_equals

from .models import QualityStats, SimAssignment, SimCard

LABEL = "sims.SimCard"


def _notify(context: TriggerContext, kind: str, title: str, message: str = "") -> Notification:
    """One notification about the card, to its user, or to all staff when it has none."""
    return Notification.objects.create(
        recipient_id=context.current("assigned_to_user"),
        kind=kind,
        title=title,
        message=message,
        object_label=LABEL,
        object_pk=str(context.object_pk),
    )


def _by(context: TriggerContext) -> str:
    user = context.user
    return f" by {user.get_username()}" if user is not None else ""


def recompute_quality_stats(shop_id: int) -> QualityStats:
    """Count the shop's SIM cards by quality into its QualityStats row."""
    counts = dict(
        SimCard.objects.filter(shop_id=shop_id)
        .values_list("quality")
        .annotate(n=Count("pk"))
        .order_by()
    )
    stats, _ = QualityStats.objects.update_or_create(
        shop_id=shop_id,
        defaults={
            "good": counts.get(SimCard.Quality.GOOD, 0),
            "fair": counts.get(SimCard.Quality.FAIR, 0),
            "poor": counts.get(SimCard.Quality.POOR, 0),
        },
    )
    return stats


def _in_a_shop(context: TriggerContext) -> bool:
    """the card is or was in a shop"""
    return context.previous("shop") is not None or context.current("shop") is not None


@field_changed_trigger(
    SimCard,
    ("quality", "shop"),
    name="sim_card_quality_update",
    description="Recount the good, fair and poor SIM cards of the shops a card is in or left",
    on_create=True,
    condition=_in_a_shop,
    priority=TriggerPriority.LOW,
)
def sim_card_quality_update(context: TriggerContext) -> TriggerResult:
    shops = {context.previous("shop"), context.current("shop")} - {None}
    stats = [recompute_quality_stats(shop_id) for shop_id in sorted(shops)]
    return TriggerResult(message="; ".join(map(str, stats)))


@field_changed_trigger(
    SimCard,
    "status",
    name="sim_card_status_notification",
    description="Tell the card's user (or all staff) that its status changed",
    priority=TriggerPriority.NORMAL,
)
def sim_card_status_notification(context: TriggerContext) -> TriggerResult:
    old, new = context.previous("status"), context.current("status")
    serial = context.current("serial_number")
    notification = _notify(
        context,
        Notification.Kind.STATUS,
        f"SIM {serial}: {old} → {new}",
        f"The status of SIM card {serial} changed from {old} to {new}{_by(context)}.",
    )
    return TriggerResult(message=notification.title)


@field_changed_trigger(
    SimCard,
    "fraud_flag",
    name="sim_card_fraud_alert",
    description="Alert every staff user when a card is flagged for fraud, and suspend it",
    on_create=True,
    condition=field_equals("fraud_flag", True),
    priority=TriggerPriority.CRITICAL,
)
def sim_card_fraud_alert(context: TriggerContext) -> TriggerResult:
    serial = context.current("serial_number")
    reason = context.current("fraud_reason") or "no reason given"
    staff = list(
        get_user_model().objects.filter(is_staff=True, is_active=True).values_list("pk", flat=True)
    )
    alert = {
        "kind": Notification.Kind.FRAUD,
        "title": f"Fraud alert: SIM {serial}",
        "message": f"SIM card {serial} was flagged for fraud{_by(context)}: {reason}",
        "object_label": LABEL,
        "object_pk": str(context.object_pk),
    }
    with transaction.atomic():
        Notification.objects.bulk_create(
            [Notification(recipient_id=pk, **alert) for pk in staff] or [Notification(**alert)]
        )
        # A fresh copy, saved with update_fields: the caller's instance is left alone, and the
        # status change fires sim_card_status_notification like any other.
        card = SimCard.objects.select_for_update().filter(pk=context.object_pk).first()
        suspended = card is not None and card.status not in (
            SimCard.Status.SUSPENDED, SimCard.Status.BLOCKED
        )
        if suspended:
            card.status = SimCard.Status.SUSPENDED
            card.save(update_fields=["status", "updated_at"])
    action = "suspended" if suspended else "left as it was"
    return TriggerResult(message=f"{len(staff)} staff alerted; SIM {serial} {action}")


def _assigned(context: TriggerContext) -> bool:
    """the card's user or shop was set (a new card without either is skipped)"""
    return context.has_changed("shop") or context.has_changed("assigned_to_user")


@field_changed_trigger(
    SimCard,
    ("assigned_to_user", "shop"),
    name="sim_card_assignment_tracking",
    description="Record who and which shop a card is assigned to, and move it between shop stocks",
    on_create=True,
    condition=_assigned,
    priority=TriggerPriority.HIGH,
)
def sim_card_assignment_tracking(context: TriggerContext) -> TriggerResult:
    old_shop, new_shop = context.previous("shop"), context.current("shop")
    user = context.user
    with transaction.atomic():
        SimAssignment.objects.create(
            sim_card_id=context.object_pk,
            user_id=context.current("assigned_to_user"),
            shop_id=new_shop,
            assigned_by=user.get_username() if user is not None else "",
        )
        if old_shop != new_shop:
            adjust_stock(old_shop, SIM_PRODUCT, -1)
            adjust_stock(new_shop, SIM_PRODUCT, +1)
    return TriggerResult(message=f"assignment recorded; shop {old_shop} → {new_shop}")


@post_save_trigger(
    SimCard,
    name="sim_card_registration_completion",
    description="Stamp registered_at and tell the card's user when registration completes",
    condition=changed_to("registration_status", SimCard.Registration.REGISTERED.value)
    | (field_equals("created", True)
       & field_equals("registration_status", SimCard.Registration.REGISTERED.value)),
    priority=TriggerPriority.NORMAL,
)
def sim_card_registration_completion(context: TriggerContext) -> TriggerResult:
    now = timezone.now()
    rows = SimCard.objects.filter(pk=context.object_pk)
    if context.created:  # keep a registration date given at creation
        rows = rows.filter(registered_at__isnull=True)
    rows.update(registered_at=now)
    serial = context.current("serial_number")
    _notify(
        context,
        Notification.Kind.REGISTRATION,
        f"SIM {serial} registered",
        f"Registration of SIM card {serial} is complete{_by(context)}.",
    )
    return TriggerResult(message=f"SIM {serial} registered at {now:%Y-%m-%d %H:%M:%S}")


@register_function("notify_sim_owner")
def notify_sim_owner(context: TriggerContext) -> TriggerResult:
    """For database triggers made in the admin: notify the card's user of the change."""
    changes = ", ".join(f"{field}: {old} -> {new}" for field, (old, new) in context.changes.items())
    _notify(context, "info", f"SIM card {context.current('serial_number')} changed", changes)
    return TriggerResult(message="owner notified")
