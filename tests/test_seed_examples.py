"""Every code example of seed 004, run as written (``ssm.triggers`` -> ``triggers``).

The examples call functions the seed leaves to the user (``send_notification``,
``setup_shop_inventory``, ...); they are defined here, doing real work on the example
project's models. Each example is pasted inside a test so that its triggers are
registered for that test only.
"""

import logging

import pytest
from django.utils.module_loading import import_string

from example_project.notifications.models import Notification
from example_project.shops.models import Shop, ShopInventory
from example_project.sims.models import SimCard
from tests.factories import ShopFactory, SimCardFactory, UserFactory
from triggers import TriggerContext, TriggerEvent, TriggerResult  # noqa: F401 (as the seed)
from triggers.models import TriggerExecution

pytestmark = pytest.mark.django_db


# The user's own functions that the seed's examples call ----------------------------------

def send_notification(user, message):
    Notification.objects.create(recipient=user, title="SIM activated", message=message)


def setup_shop_inventory(shop):
    ShopInventory.objects.get_or_create(shop=shop, product="SEED-SIM")


def notify_stakeholders(shop):
    Notification.objects.create(title=f"{shop.name} is active", object_pk=str(shop.pk))


def send_fraud_alert(sim_card, reason):
    Notification.objects.create(kind="fraud", title=f"Fraud on {sim_card}", message=reason)


# 1. Basic trigger with decorator ---------------------------------------------------------

def test_quick_start_basic_trigger(django_capture_on_commit_callbacks):
    from triggers import post_save_trigger, TriggerContext, TriggerResult

    @post_save_trigger(
        'SimCard',
        name='sim_card_activation',
        description='Handle SIM card activation'
    )
    def handle_sim_activation(context: TriggerContext) -> TriggerResult:
        sim_card = context.instance

        if sim_card.status == 'ACTIVE':
            # Send activation notification
            send_notification(
                user=sim_card.assigned_to_user,
                message=f"SIM {sim_card.serial_number} activated successfully"
            )

        return TriggerResult(success=True, message="Activation handled")

    user = UserFactory()
    card = SimCardFactory(serial_number="8901000001", assigned_to_user=user)
    with django_capture_on_commit_callbacks(execute=True):
        card.status = "ACTIVE"
        card.save()
    note = Notification.objects.get(title="SIM activated")
    assert note.recipient == user
    assert note.message == "SIM 8901000001 activated successfully"
    row = TriggerExecution.objects.filter(trigger_name="sim_card_activation").first()
    assert row.status == "success" and row.message == "Activation handled"


# 2. Conditional trigger ------------------------------------------------------------------

def test_quick_start_conditional_trigger(django_capture_on_commit_callbacks):
    from triggers import conditional_trigger

    @conditional_trigger(
        TriggerEvent.POST_SAVE,
        'Shop',
        condition_func=lambda ctx: ctx.instance.status == 'active',
        name='shop_activation_handler'
    )
    def handle_shop_activation(context: TriggerContext) -> TriggerResult:
        shop = context.instance

        # Initialize shop operations
        setup_shop_inventory(shop)
        notify_stakeholders(shop)

        return TriggerResult(success=True, message="Shop activated")

    with django_capture_on_commit_callbacks(execute=True):
        pending = ShopFactory(status="pending")
        active = ShopFactory(name="Kampala Central", status="active")
    assert ShopInventory.objects.filter(product="SEED-SIM").get().shop == active
    assert Notification.objects.filter(title="Kampala Central is active").exists()
    assert not ShopInventory.objects.filter(shop=pending, product="SEED-SIM").exists()


# 3. Field change trigger -----------------------------------------------------------------

def test_quick_start_field_change_trigger(django_capture_on_commit_callbacks):
    from triggers import field_changed_trigger

    @field_changed_trigger(
        'SimCard',
        'fraud_flag',
        name='fraud_alert_trigger'
    )
    def handle_fraud_detection(context: TriggerContext) -> TriggerResult:
        sim_card = context.instance

        if sim_card.fraud_flag:
            # Send immediate alert
            send_fraud_alert(
                sim_card=sim_card,
                reason=sim_card.fraud_reason
            )

        return TriggerResult(success=True, message="Fraud alert sent")

    card = SimCardFactory(serial_number="8901000002")
    with django_capture_on_commit_callbacks(execute=True):
        card.phone_number = "+256700000000"
        card.save()  # fraud_flag unchanged: the trigger does not fire
        card.fraud_flag = True
        card.fraud_reason = "cloned IMSI"
        card.save()
    alerts = Notification.objects.filter(kind="fraud", title="Fraud on 8901000002")
    assert list(alerts.values_list("message", flat=True)) == ["cloned IMSI"]
    assert TriggerExecution.objects.filter(trigger_name="fraud_alert_trigger").count() == 1


# Settings --------------------------------------------------------------------------------

def test_the_settings_examples_are_valid(settings):
    assert "triggers" in settings.INSTALLED_APPS
    middleware = import_string("triggers.base.signal_integration.TriggerRequestMiddleware")
    assert middleware is import_string("triggers.middleware.TriggerRequestMiddleware")
    assert "triggers.base.signal_integration.TriggerRequestMiddleware" in settings.MIDDLEWARE

    # Trigger system configuration
    settings.TRIGGER_DEBUG = False                    # Enable debug logging
    settings.TRIGGER_CACHE_TIMEOUT = 300             # Cache timeout in seconds
    settings.TRIGGER_MAX_WORKERS = 10                # Thread pool size
    settings.TRIGGER_DEFAULT_TIMEOUT = 30            # Default trigger timeout
    from triggers.checks import check_triggers

    assert check_triggers() == []


# Monitoring ------------------------------------------------------------------------------

def test_system_health_check_example(capsys):
    from triggers import get_system_status

    status = get_system_status()
    print(f"System healthy: {status['system_healthy']}")
    print(f"Total triggers: {status['total_triggers']}")

    out = capsys.readouterr().out
    assert "System healthy: True" in out
    assert f"Total triggers: {status['total_triggers']}" in out
    assert status["total_triggers"] >= 9  # the example project's built-in triggers


def test_performance_metrics_example(capsys, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        card = SimCardFactory()
        card.status = "ACTIVE"
        card.save()

    from triggers import get_trigger_performance_metrics

    metrics = get_trigger_performance_metrics()
    print(f"Overall success rate: {metrics['overall_stats']['overall_success_rate']}%")

    assert "Overall success rate: 100.0%" in capsys.readouterr().out


def test_trigger_listing_example(capsys):
    from triggers import list_all_triggers

    triggers = list_all_triggers()
    for trigger in triggers['triggers']:
        print(f"{trigger['name']}: {trigger['execution_stats']['success_rate']}%")

    out = capsys.readouterr().out
    assert "sim_card_status_notification: " in out


# Advanced usage --------------------------------------------------------------------------

def test_custom_condition_example(django_capture_on_commit_callbacks):
    from triggers import conditional_trigger
    from triggers.base.trigger_base import TriggerCondition

    class BusinessHoursCondition(TriggerCondition):
        def evaluate(self, context):
            from datetime import datetime
            now = datetime.now()
            return 9 <= now.hour <= 17

        def description(self):
            return "During business hours (9 AM - 5 PM)"

    calls = []

    # Use in trigger
    @conditional_trigger(
        TriggerEvent.POST_SAVE,
        'Shop',
        condition_func=BusinessHoursCondition(),
        name='business_hours_trigger'
    )
    def business_hours_handler(context):
        # Only executes during business hours
        calls.append(context.instance.pk)
        pass

    from datetime import datetime

    during = 9 <= datetime.now().hour <= 17
    with django_capture_on_commit_callbacks(execute=True):
        shop = ShopFactory()
    assert calls == ([shop.pk] if during else [])
    assert business_hours_handler.trigger.condition.description() == (
        "During business hours (9 AM - 5 PM)"
    )
    # the same condition class, with the clock held at 10:00 and 20:00
    class At(BusinessHoursCondition):
        hour = 10

        def evaluate(self, context):
            return 9 <= self.hour <= 17

    assert (At() & ~At()).evaluate(None) is False
    assert (At() | ~At()).evaluate(None) is True


def test_custom_action_example(django_capture_on_commit_callbacks):
    from triggers.base.trigger_base import TriggerAction

    class SlackNotificationAction(TriggerAction):
        def __init__(self, webhook_url, message_template):
            self.webhook_url = webhook_url
            self.message_template = message_template

        def execute(self, context):
            # Send Slack notification
            message = self.message_template.format(
                model=context.model.__name__,
                instance_id=context.instance.pk
            )
            # ... send to Slack
            return TriggerResult(success=True, message="Slack notification sent")

        def description(self):
            return f"Send Slack notification to {self.webhook_url}"

    from triggers import BaseTrigger, trigger_registry

    action = SlackNotificationAction("https://hooks.slack.example/T1", "{model} {instance_id}")
    trigger_registry.register_trigger(BaseTrigger(
        name="slack_on_shop", event=TriggerEvent.POST_SAVE, model="Shop", actions=[action],
    ))
    with django_capture_on_commit_callbacks(execute=True):
        ShopFactory()
    row = TriggerExecution.objects.get(trigger_name="slack_on_shop")
    assert (row.status, row.message) == ("success", "Slack notification sent")
    assert action.description() == "Send Slack notification to https://hooks.slack.example/T1"


def test_programmatic_trigger_creation_example(caplog, django_capture_on_commit_callbacks):
    from triggers.base.trigger_base import BaseTrigger, TriggerEvent, TriggerPriority
    from triggers.conditions.common_conditions import field_equals
    from triggers.actions.common_actions import log_info

    # Create trigger programmatically
    trigger = BaseTrigger(
        name='custom_trigger',
        event=TriggerEvent.POST_SAVE,
        model='SimCard',
        conditions=[field_equals('status', 'ACTIVE')],
        actions=[log_info('SIM card activated')],
        priority=TriggerPriority.HIGH,
        description='Custom programmatic trigger'
    )

    # Register trigger
    from triggers import trigger_registry
    trigger_registry.register_trigger(trigger)

    assert trigger.model_class is SimCard
    with caplog.at_level(logging.INFO, logger="triggers.actions"):
        with django_capture_on_commit_callbacks(execute=True):
            SimCardFactory(status="INACTIVE")
            active = SimCardFactory(status="ACTIVE")
    logged = [r.getMessage() for r in caplog.records if r.name == "triggers.actions"]
    assert logged == [f"SIM card activated [sims.SimCard pk={active.pk}]"]


def test_enable_debug_mode_example(settings, caplog, django_capture_on_commit_callbacks):
    # In settings.py
    settings.TRIGGER_DEBUG = True

    from triggers import get_trigger_engine
    assert get_trigger_engine().debug_mode is True
    settings.TRIGGER_DEBUG = False

    # Or programmatically
    from triggers import get_trigger_engine
    engine = get_trigger_engine()
    engine.debug_mode = True

    with caplog.at_level(logging.DEBUG, logger="triggers.engine"):
        with django_capture_on_commit_callbacks(execute=True):
            card = SimCardFactory()
            card.status = "ACTIVE"
            card.save()
    assert any("sim_card_status_notification success" in m for m in caplog.messages)


def test_check_trigger_health_example(capsys, django_capture_on_commit_callbacks):
    from triggers import trigger_registry

    health = trigger_registry.health_check()
    if not health['healthy']:
        print("Issues found:", health['issues'])
    assert health["healthy"] and capsys.readouterr().out == ""

    # a trigger that always fails makes the system unhealthy
    from triggers import post_save_trigger

    @post_save_trigger("Shop", name="always_fails")
    def always_fails(context):
        raise RuntimeError("broken on purpose")

    with django_capture_on_commit_callbacks(execute=True):
        ShopFactory()

    health = trigger_registry.health_check()
    if not health['healthy']:
        print("Issues found:", health['issues'])
    assert "Issues found: [\"Trigger 'always_fails' succeeds in only 0.0% of executions.\"]" in (
        capsys.readouterr().out
    )


def test_seed_built_in_trigger_names_are_registered():
    from triggers import trigger_registry

    for name in [
        "sim_card_quality_update", "sim_card_status_notification", "sim_card_fraud_alert",
        "sim_card_assignment_tracking", "sim_card_registration_completion",
        "shop_status_change_handler", "shop_sales_performance_update",
        "shop_inventory_sale_tracking", "shop_transfer_workflow",
    ]:
        assert name in trigger_registry, name
    assert Shop and SimCard
