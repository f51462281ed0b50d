"""The example project's nine built-in triggers (seed 004) do their work on real models.

The tests use real transactions, so the triggers run when the change commits, as in
production (their default mode is ``on_commit``).
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from example_project.notifications.models import Notification
from example_project.shops.models import (
    FinancialEntry,
    Sale,
    Shop,
    ShopInventory,
    ShopPerformance,
    Transfer,
)
from example_project.sims.management.commands.demo_data import ADMIN_LINE, admin_line, hook_url
from example_project.sims.models import QualityStats, SimAssignment, SimCard
from triggers import acting_as, trigger_registry
from triggers.models import TriggerDefinition, TriggerExecution
from triggers.testing import capture_executions

pytestmark = pytest.mark.django_db(transaction=True)

BUILT_IN = {
    "sim_card_quality_update",
    "sim_card_status_notification",
    "sim_card_fraud_alert",
    "sim_card_assignment_tracking",
    "sim_card_registration_completion",
    "shop_status_change_handler",
    "shop_sales_performance_update",
    "shop_inventory_sale_tracking",
    "shop_transfer_workflow",
}

User = get_user_model()


@pytest.fixture(autouse=True)
def example_settings(settings):
    """What the example project's settings allow: database triggers on its models (demo_data
    makes one) and webhooks to itself."""
    settings.TRIGGER_MODELS = ["sims.*", "shops.*"]
    settings.TRIGGER_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.1/32"]


@pytest.fixture(autouse=True)
def runs():
    """Every trigger run of a test; none may fail (triggers log their errors, not raise them)."""
    with capture_executions() as captured:
        yield captured
    failed = [(r.name, r.status, r.error) for r in captured if r.status != "success"]
    assert not failed


@pytest.fixture
def manager():
    return User.objects.create_user("manager")


@pytest.fixture
def shop(manager):
    return Shop.objects.create(name="Central", code="C-1", status=Shop.Status.ACTIVE,
                               manager=manager)


@pytest.fixture
def other_shop():
    return Shop.objects.create(name="Harbour", code="H-1", status=Shop.Status.ACTIVE)


def sim_stock(shop):
    return ShopInventory.objects.get(shop=shop, product="SIM").quantity


def card(serial="S-1", **fields):
    return SimCard.objects.create(serial_number=serial, **fields)


def test_the_nine_built_in_triggers_are_registered():
    registered = {t.name: t for t in trigger_registry if t.name in BUILT_IN}
    assert set(registered) == BUILT_IN
    assert all(t.description for t in registered.values())
    assert registered["sim_card_fraud_alert"].priority == "critical"


# SIM cards ------------------------------------------------------------------------------


def test_quality_update_counts_the_cards_of_each_shop(shop, other_shop):
    card("S-1", shop=shop)
    card("S-2", shop=shop, quality=SimCard.Quality.FAIR)
    moving = card("S-3", shop=shop, quality=SimCard.Quality.POOR)
    stats = QualityStats.objects.get(shop=shop)
    assert (stats.good, stats.fair, stats.poor) == (1, 1, 1)

    moving.quality = SimCard.Quality.GOOD
    moving.save()
    stats.refresh_from_db()
    assert (stats.good, stats.fair, stats.poor) == (2, 1, 0)

    moving.shop = other_shop
    moving.save()
    stats.refresh_from_db()
    assert (stats.good, stats.fair, stats.poor) == (1, 1, 0)
    other = QualityStats.objects.get(shop=other_shop)
    assert (other.good, other.fair, other.poor) == (1, 0, 0)


def test_status_notification_goes_to_the_cards_user(runs):
    user = User.objects.create_user("owner")
    sim = card(status=SimCard.Status.ACTIVE, assigned_to_user=user)
    assert not Notification.objects.exists()  # not on creation

    sim.status = SimCard.Status.BLOCKED
    sim.save()
    sim.save()  # nothing changed: no second notification

    notification = Notification.objects.get()
    assert notification.kind == Notification.Kind.STATUS
    assert notification.recipient == user
    assert notification.title == "SIM S-1: ACTIVE → BLOCKED"
    assert notification.object_pk == str(sim.pk)
    assert runs.names() == ["sim_card_assignment_tracking", "sim_card_status_notification"]


def test_status_notification_without_a_user_goes_to_all_staff():
    sim = card()
    sim.status = SimCard.Status.ACTIVE
    with acting_as(User.objects.create_user("clerk")):
        sim.save()
    notification = Notification.objects.get()
    assert notification.recipient is None
    assert "from INACTIVE to ACTIVE by clerk" in notification.message


def test_fraud_alert_tells_every_staff_user_and_suspends_the_card():
    staff = [User.objects.create_user(n, is_staff=True) for n in ("ann", "ben")]
    User.objects.create_user("customer")
    sim = card(status=SimCard.Status.ACTIVE)

    sim.fraud_flag = True
    sim.fraud_reason = "cloned"
    sim.save()

    alerts = Notification.objects.filter(kind=Notification.Kind.FRAUD)
    assert {a.recipient for a in alerts} == set(staff)
    assert all("cloned" in a.message for a in alerts)
    sim.refresh_from_db()
    assert sim.status == SimCard.Status.SUSPENDED
    # The suspension is a status change like any other, made in the same chain.
    status = Notification.objects.get(kind=Notification.Kind.STATUS)
    assert status.title == "SIM S-1: ACTIVE → SUSPENDED"
    fraud = TriggerExecution.objects.get(trigger_name="sim_card_fraud_alert")
    chained = TriggerExecution.objects.get(trigger_name="sim_card_status_notification")
    assert (chained.chain_id, chained.depth) == (fraud.chain_id, 1)

    sim.fraud_flag = False
    sim.save()
    assert alerts.count() == 2


def test_fraud_alert_on_a_card_created_flagged():
    card(fraud_flag=True, fraud_reason="stolen batch")
    assert Notification.objects.get(kind=Notification.Kind.FRAUD).recipient is None
    assert SimCard.objects.get().status == SimCard.Status.SUSPENDED


def test_assignment_tracking_records_history_and_moves_stock(shop, other_shop):
    admin = User.objects.create_superuser("boss")
    user = User.objects.create_user("owner")
    sim = card(shop=shop)
    assert sim_stock(shop) == 1

    sim.shop = other_shop
    sim.assigned_to_user = user
    with acting_as(admin):
        sim.save()
    assert (sim_stock(shop), sim_stock(other_shop)) == (0, 1)
    latest = SimAssignment.objects.filter(sim_card=sim).first()
    assert (latest.shop, latest.user, latest.assigned_by) == (other_shop, user, "boss")

    sim.assigned_to_user = None
    sim.save()  # a new user only: history, no stock moved
    assert SimAssignment.objects.filter(sim_card=sim).count() == 3
    assert (sim_stock(shop), sim_stock(other_shop)) == (0, 1)


def test_assignment_tracking_skips_cards_created_unassigned(runs):
    card()
    assert not SimAssignment.objects.exists()
    assert "sim_card_assignment_tracking" not in runs.names()


def test_registration_completion_stamps_the_date_and_notifies():
    user = User.objects.create_user("owner")
    sim = card(assigned_to_user=user)
    before = timezone.now()

    sim.registration_status = SimCard.Registration.REGISTERED
    sim.save()

    sim.refresh_from_db()
    assert before <= sim.registered_at <= timezone.now()
    notification = Notification.objects.get(kind=Notification.Kind.REGISTRATION)
    assert (notification.recipient, notification.title) == (user, "SIM S-1 registered")
    sim.phone_number = "+1"
    sim.save()  # still registered, not newly: nothing more
    assert Notification.objects.count() == 1


def test_registration_completion_for_a_card_created_registered():
    given = timezone.now() - datetime.timedelta(days=3)
    card("S-1", registration_status=SimCard.Registration.REGISTERED)
    card("S-2", registration_status=SimCard.Registration.REGISTERED, registered_at=given)
    assert SimCard.objects.get(serial_number="S-1").registered_at is not None
    assert SimCard.objects.get(serial_number="S-2").registered_at == given
    assert Notification.objects.filter(kind=Notification.Kind.REGISTRATION).count() == 2


# Shops ----------------------------------------------------------------------------------


def test_shop_status_change_notifies_the_manager_and_sets_up_an_active_shop(manager):
    shop = Shop.objects.create(name="New", code="N-1", manager=manager)
    assert not Notification.objects.exists()
    assert not ShopPerformance.objects.exists()

    shop.status = Shop.Status.ACTIVE
    shop.save()
    notification = Notification.objects.get()
    assert (notification.recipient, notification.kind) == (manager, Notification.Kind.STATUS)
    assert notification.title == "Shop New: pending → active"
    assert ShopPerformance.objects.filter(shop=shop).exists()
    assert sim_stock(shop) == 0

    shop.status = Shop.Status.SUSPENDED
    shop.save()
    assert Notification.objects.count() == 2


def test_shop_created_active_is_set_up(shop):
    assert ShopPerformance.objects.filter(shop=shop).exists()
    assert ShopInventory.objects.filter(shop=shop, product="SIM").exists()
    assert Notification.objects.get().title == "Shop Central opened as active"


def test_sales_update_the_shop_performance(shop):
    Sale.objects.create(shop=shop, quantity=2, unit_price=Decimal("1.25"))
    last = Sale.objects.create(shop=shop, quantity=1, unit_price="3.00")
    last.save()  # saved again, not a new sale: counted once

    performance = ShopPerformance.objects.get(shop=shop)
    assert performance.sale_count == 2
    assert performance.total_sales == Decimal("5.50")
    assert performance.average_sale == Decimal("2.75")
    last.refresh_from_db()
    assert performance.last_sale_at == last.created_at


def test_sales_leave_the_stock_and_enter_the_ledger(shop):
    ShopInventory.objects.filter(shop=shop, product="SIM").update(quantity=10)
    sale = Sale.objects.create(shop=shop, quantity=3, unit_price=Decimal("2.50"))
    sale.save()

    stock = ShopInventory.objects.get(shop=shop, product="SIM")
    assert (stock.quantity, stock.sold) == (7, 3)
    entry = FinancialEntry.objects.get()
    assert (entry.shop, entry.sale, entry.amount) == (shop, sale, Decimal("7.50"))


def test_sales_in_one_transaction_add_up(shop):
    with transaction.atomic():
        for _ in range(3):
            Sale.objects.create(shop=shop, unit_price=Decimal("1.00"))
    assert ShopPerformance.objects.get(shop=shop).sale_count == 3
    assert ShopInventory.objects.get(shop=shop, product="SIM").sold == 3


def test_transfer_workflow_moves_stock_stage_by_stage(shop, other_shop, manager):
    ShopInventory.objects.filter(shop=shop).update(quantity=10)
    transfer = Transfer.objects.create(from_shop=shop, to_shop=other_shop, quantity=4)

    transfer.status = Transfer.Status.APPROVED
    transfer.save()
    notification = Notification.objects.get(kind=Notification.Kind.TRANSFER)
    assert notification.recipient == manager
    assert "send 4 SIM to Harbour" in notification.title
    assert (sim_stock(shop), sim_stock(other_shop)) == (10, 0)

    transfer.status = Transfer.Status.IN_TRANSIT
    transfer.save()
    assert (sim_stock(shop), sim_stock(other_shop)) == (6, 0)

    transfer.status = Transfer.Status.RECEIVED
    transfer.save()
    assert (sim_stock(shop), sim_stock(other_shop)) == (6, 4)
    assert Notification.objects.filter(kind=Notification.Kind.TRANSFER).count() == 1


def test_transfer_cancelled_in_transit_returns_the_stock(shop, other_shop):
    ShopInventory.objects.filter(shop=shop).update(quantity=10)
    transfer = Transfer.objects.create(from_shop=shop, to_shop=other_shop, quantity=4,
                                       status=Transfer.Status.IN_TRANSIT)
    assert sim_stock(shop) == 6

    transfer.status = Transfer.Status.CANCELLED
    transfer.save()
    assert (sim_stock(shop), sim_stock(other_shop)) == (10, 0)


# The demo and the admin -----------------------------------------------------------------


def test_demo_data_fires_every_trigger_and_runs_twice():
    out = StringIO()
    call_command("demo_data", stdout=out)
    assert ADMIN_LINE in out.getvalue()
    assert "sim-status-webhook" in out.getvalue()
    assert TriggerDefinition.objects.get().name == "sim-status-webhook"
    assert User.objects.get(username="admin").check_password("admin")
    counts = [m.objects.count() for m in (Shop, SimCard, Sale, Transfer, Notification,
                                          SimAssignment, TriggerExecution)]
    assert counts[:4] == [3, 20, 6, 1]
    logged = TriggerExecution.objects.values_list("trigger_name", flat=True)
    assert set(logged) == BUILT_IN
    assert set(TriggerExecution.objects.values_list("user", flat=True)) == {"admin"}

    call_command("demo_data", stdout=StringIO())
    assert counts == [m.objects.count() for m in (Shop, SimCard, Sale, Transfer, Notification,
                                                  SimAssignment, TriggerExecution)]


def demo_data(*args):
    out = StringIO()
    call_command("demo_data", *args, stdout=out)
    return out.getvalue()


def webhook_urls():
    return [action.config["url"] for action in TriggerDefinition.objects.get(
        name="sim-status-webhook").actions.all()]


def test_demo_data_says_what_it_did_to_the_admin_password():
    assert "Created the superuser admin with the password 'admin'." in demo_data()

    again = demo_data()
    assert "Left the password of the user admin as it was ('admin')." in again
    assert ADMIN_LINE in again

    admin = User.objects.get(username="admin")
    admin.set_password("something else")
    admin.save()
    left = demo_data()
    assert "Left the password of the user admin as it was; it is not 'admin'." in left
    assert "password: unchanged (not 'admin')" in left
    assert User.objects.get(username="admin").check_password("something else")

    reset = demo_data("--reset-password")
    assert "Reset the password of the user admin to 'admin'." in reset
    assert ADMIN_LINE in reset
    assert User.objects.get(username="admin").check_password("admin")


def test_the_demo_webhook_follows_the_port():
    first = demo_data("--port", "8001")
    assert admin_line(8001) in first
    assert webhook_urls() == [hook_url(8001)] == ["http://127.0.0.1:8001/hooks/demo/"]
    assert "Pointed" not in first

    moved = demo_data("--port", "8002")
    assert "Pointed the database trigger sim-status-webhook at " \
           "http://127.0.0.1:8002/hooks/demo/" in moved
    assert webhook_urls() == [hook_url(8002)]
    assert "Pointed" not in demo_data("--port", "8002")

    TriggerDefinition.objects.get(name="sim-status-webhook").actions.update(
        config={"url": "https://hooks.example.com/sims"})  # the user's own: left alone
    demo_data("--port", "8003")
    assert webhook_urls() == ["https://hooks.example.com/sims"]


def test_demo_data_refuses_a_port_that_is_not_one():
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="is not a port"):
        demo_data("--port", "70000")


def test_changing_a_sim_card_in_the_admin_fires_its_trigger(admin_client, shop):
    owner = User.objects.create_user("owner")
    sim = card(phone_number="+254700000001", shop=shop, assigned_to_user=owner,
               status=SimCard.Status.ACTIVE)
    url = f"/admin/sims/simcard/{sim.pk}/change/"
    assert admin_client.get(url).status_code == 200
    data = {
        "serial_number": sim.serial_number,
        "phone_number": sim.phone_number,
        "status": SimCard.Status.SUSPENDED,
        "quality": sim.quality,
        "shop": shop.pk,
        "assigned_to_user": owner.pk,
        "registration_status": sim.registration_status,
        "fraud_reason": "",
        "assignments-TOTAL_FORMS": sim.assignments.count(),
        "assignments-INITIAL_FORMS": sim.assignments.count(),
        "assignments-MIN_NUM_FORMS": 0,
        "assignments-MAX_NUM_FORMS": 1000,
    }
    for i, assignment in enumerate(sim.assignments.all()):
        data[f"assignments-{i}-id"] = assignment.pk
        data[f"assignments-{i}-sim_card"] = sim.pk

    response = admin_client.post(url, data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    notification = Notification.objects.get(kind=Notification.Kind.STATUS,
                                            object_pk=str(sim.pk))
    assert notification.recipient == owner
    assert notification.title == "SIM S-1: ACTIVE → SUSPENDED"
    assert "by admin" in notification.message
    execution = TriggerExecution.objects.get(trigger_name="sim_card_status_notification")
    assert (execution.user, execution.status, execution.object_pk) == ("admin", "success",
                                                                       str(sim.pk))
    assert "status" in execution.changed_fields


@pytest.mark.parametrize("model", [
    SimCard, QualityStats, SimAssignment, Shop, ShopPerformance, ShopInventory, Sale,
    FinancialEntry, Transfer, Notification, TriggerExecution,
])
def test_admin_pages_render(admin_client, model):
    call_command("demo_data", stdout=StringIO())
    base = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
    assert admin_client.get(base).status_code == 200
    assert admin_client.get(f"{base}{model.objects.first().pk}/change/").status_code == 200
