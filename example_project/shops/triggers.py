"""Seed 004's shop management triggers, doing real work on the shop models.

Every trigger runs after the change commits (the default ``on_commit`` mode) and reads the
values the change was made with from the context (``context.current``), not from the instance,
which the caller may have changed again since.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.db.models import F

from example_project.notifications.models import Notification
from triggers import (
    TriggerContext,
    TriggerPriority,
    TriggerResult,
    field_changed_trigger,
    post_save_trigger,
)
from triggers.conditions import field_changed, field_equals

from .models import FinancialEntry, Sale, Shop, ShopInventory, ShopPerformance, Transfer

SIM_PRODUCT = "SIM"
CENTS = Decimal("0.01")


def adjust_stock(shop_id: int, product: str, quantity: int, sold: int = 0) -> None:
    """Add ``quantity`` (negative to remove) to a shop's stock of ``product``, and ``sold``
    to its sold count, with one UPDATE so that concurrent changes add up."""
    if not shop_id or not (quantity or sold):
        return
    row, _ = ShopInventory.objects.get_or_create(shop_id=shop_id, product=product)
    ShopInventory.objects.filter(pk=row.pk).update(
        quantity=F("quantity") + quantity, sold=F("sold") + sold
    )


def _sale_amount(sale: Sale) -> Decimal:
    return (Decimal(str(sale.unit_price)) * int(sale.quantity)).quantize(CENTS)


# Shop status ----------------------------------------------------------------------------


@post_save_trigger(
    Shop,
    name="shop_status_change_handler",
    description="Tell the manager when a shop's status changes; set up an activated shop",
    condition=field_changed("status") | (field_equals("created", True)
                                         & field_equals("status", Shop.Status.ACTIVE.value)),
    priority=TriggerPriority.HIGH,
)
def shop_status_change_handler(context: TriggerContext) -> TriggerResult:
    shop = context.instance
    old, new = context.previous("status"), context.current("status")
    if context.created:
        title = f"Shop {shop.name} opened as {new}"
    else:
        title = f"Shop {shop.name}: {old} → {new}"
    Notification.objects.create(
        recipient_id=context.current("manager"),
        kind=Notification.Kind.STATUS,
        title=title,
        message=f"The status of shop {context.current('code')} is now {new}.",
        object_label="shops.Shop",
        object_pk=str(shop.pk),
    )
    if new == Shop.Status.ACTIVE:
        ShopPerformance.objects.get_or_create(shop_id=shop.pk)
        ShopInventory.objects.get_or_create(shop_id=shop.pk, product=SIM_PRODUCT)
        return TriggerResult(message=f"{title}; performance and inventory ready")
    return TriggerResult(message=title)


# Sales ----------------------------------------------------------------------------------


@post_save_trigger(
    Sale,
    name="shop_sales_performance_update",
    description="Add a new sale to its shop's sales count, total, average and last sale date",
    condition=lambda ctx: ctx.created,
    priority=TriggerPriority.NORMAL,
)
def shop_sales_performance_update(context: TriggerContext) -> TriggerResult:
    sale = context.instance
    amount = _sale_amount(sale)
    with transaction.atomic():
        performance, _ = ShopPerformance.objects.select_for_update().get_or_create(
            shop_id=context.current("shop")
        )
        performance.sale_count += 1
        performance.total_sales += amount
        performance.average_sale = (performance.total_sales / performance.sale_count).quantize(
            CENTS
        )
        sold_at = context.current("created_at")
        if performance.last_sale_at is None or sold_at > performance.last_sale_at:
            performance.last_sale_at = sold_at
        performance.save()
    return TriggerResult(
        message=f"{performance.sale_count} sales, total {performance.total_sales}"
    )


@post_save_trigger(
    Sale,
    name="shop_inventory_sale_tracking",
    description="Take a new sale out of its shop's stock and write it to the ledger",
    condition=lambda ctx: ctx.created,
    priority=TriggerPriority.HIGH,
)
def shop_inventory_sale_tracking(context: TriggerContext) -> TriggerResult:
    sale = context.instance
    shop_id, product = context.current("shop"), context.current("product")
    quantity, amount = int(context.current("quantity")), _sale_amount(sale)
    with transaction.atomic():
        adjust_stock(shop_id, product, -quantity, sold=quantity)
        FinancialEntry.objects.get_or_create(
            sale_id=sale.pk,
            defaults={
                "shop_id": shop_id,
                "amount": amount,
                "description": f"Sale #{sale.pk}: {quantity} × {product}",
            },
        )
    return TriggerResult(message=f"{quantity} {product} sold for {amount}")


# Transfers ------------------------------------------------------------------------------

#: Statuses in which the goods have left the sending shop, and reached the receiving one.
LEFT_SENDER = frozenset({Transfer.Status.IN_TRANSIT, Transfer.Status.RECEIVED})
REACHED_RECEIVER = frozenset({Transfer.Status.RECEIVED})


@field_changed_trigger(
    Transfer,
    "status",
    name="shop_transfer_workflow",
    description="Move stock between shops as a transfer is approved, shipped, received or "
                "cancelled",
    on_create=True,
    priority=TriggerPriority.HIGH,
)
def shop_transfer_workflow(context: TriggerContext) -> TriggerResult:
    """Stock leaves the sender when the transfer goes in transit and reaches the receiver when
    it is received; moving back (cancelled while in transit) undoes exactly those steps."""
    transfer = context.instance
    old, new = context.previous("status"), context.current("status")
    product, quantity = context.current("product"), int(context.current("quantity"))
    sender, receiver = context.current("from_shop"), context.current("to_shop")
    left = int(new in LEFT_SENDER) - int(old in LEFT_SENDER)  # 1 shipped, -1 shipped back
    reached = int(new in REACHED_RECEIVER) - int(old in REACHED_RECEIVER)
    with transaction.atomic():
        adjust_stock(sender, product, -left * quantity)
        adjust_stock(receiver, product, reached * quantity)
        if new == Transfer.Status.APPROVED:
            shops = Shop.objects.in_bulk([sender, receiver])
            Notification.objects.create(
                recipient_id=shops[sender].manager_id,
                kind=Notification.Kind.TRANSFER,
                title=f"Transfer #{transfer.pk} approved: send {quantity} {product} to "
                      f"{shops[receiver].name}",
                message=f"Transfer #{transfer.pk} from {shops[sender].code} to "
                        f"{shops[receiver].code} was approved.",
                object_label="shops.Transfer",
                object_pk=str(transfer.pk),
            )
    return TriggerResult(
        message=f"transfer #{transfer.pk} {old or 'new'} → {new}: sender {-left * quantity:+d}, "
                f"receiver {reached * quantity:+d}"
    )
