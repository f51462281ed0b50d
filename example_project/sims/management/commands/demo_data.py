"""``manage.py demo_data``: an admin user, shops, SIM cards, sales and a transfer.

The changes are made as the admin user, so the triggers of the example project fire and the
execution log in the admin shows who made them. Running the command again changes nothing,
except to point the demo's webhook at the port it is given (``--port``, as ``make demo PORT=``
passes it). It says what it did to the admin's password: set it when it made the user, reset
it with ``--reset-password``, or left it.
"""

from __future__ import annotations

import re
from decimal import Decimal
from itertools import cycle

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from example_project.notifications.models import Notification
from example_project.shops.models import Sale, Shop, Transfer
from example_project.sims.models import SimCard
from triggers import acting_as, definitions, execution_log
from triggers.models import TriggerDefinition, TriggerExecution

#: The port ``make demo`` serves on unless given another.
DEFAULT_PORT = 8000
ADMIN_USER = "admin"
ADMIN_PASSWORD = "admin"
#: The demo receiver's URL on some port of this machine (what ``--port`` changes).
HOOK = re.compile(r"^http://127\.0\.0\.1:\d+/hooks/demo/$")


def hook_url(port: int) -> str:
    """Where the demo's webhook trigger sends SIM status changes: the server's own receiver."""
    return f"http://127.0.0.1:{port}/hooks/demo/"


def admin_line(port: int, password: str = ADMIN_PASSWORD) -> str:
    return f"Admin: http://127.0.0.1:{port}/admin/  user: {ADMIN_USER}  password: {password}"


def webhook_trigger(port: int) -> dict:
    """The demo's async webhook trigger, sending to the receiver on ``port``."""
    return {
        "name": "sim-status-webhook",
        "description": "Send SIM card status changes to the demo receiver, signed (the "
                       "receiver answers the first try with 503, so the log shows a retry).",
        "event": "post_save", "model": "sims.SimCard", "fields": ["status"],
        "mode": "async", "max_retries": 3, "retry_backoff": 2,
        "actions": [{"type": "webhook", "url": hook_url(port),
                     "secret": "env:DEMO_WEBHOOK_SECRET",
                     "payload": {"serial": "{{ instance.serial_number }}"}, "timeout": 5}],
    }


ADMIN_LINE = admin_line(DEFAULT_PORT)
WEBHOOK_TRIGGER = webhook_trigger(DEFAULT_PORT)

SHOPS = [
    # code, name, city, manager username
    ("NBO-01", "Nairobi Central", "Nairobi", "alice"),
    ("MSA-01", "Mombasa Harbour", "Mombasa", "bob"),
    ("KSM-01", "Kisumu Lakeside", "Kisumu", "carol"),
]
CARD_COUNT = 20
SERIAL_PREFIX = "89254000000000"


class Command(BaseCommand):
    help = "Create demo data for the example project (idempotent) and print how to log in."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                            help="The port the server will run on: the demo's webhook posts "
                                 f"to it (default {DEFAULT_PORT}).")
        parser.add_argument("--reset-password", action="store_true",
                            help=f"Set the password of the user {ADMIN_USER} to "
                                 f"{ADMIN_PASSWORD!r} if the user exists already.")

    def handle(self, *args, port, reset_password, **options):
        if not 0 < port < 65536:
            raise CommandError(f"--port {port} is not a port; give a number from 1 to 65535.")
        admin, password = self.admin_user(reset_password)
        with acting_as(admin), transaction.atomic():
            managers = {name: self.user(name) for *_, name in SHOPS}
            shops = [self.shop(code, name, city, managers[manager])
                     for code, name, city, manager in SHOPS]
            cards = self.cards(shops, list(managers.values()))
            self.sales(shops, cards, admin)
            self.transfer(shops, admin)
        # The triggers have run: they run when the transaction above commits.
        self.webhook_trigger(admin, port)
        execution_log.flush()  # the runs above, buffered in this process, counted below
        self.stdout.write(
            f"{Shop.objects.count()} shops, {SimCard.objects.count()} SIM cards, "
            f"{Sale.objects.count()} sales, {Transfer.objects.count()} transfers, "
            f"{Notification.objects.count()} notifications, "
            f"{TriggerExecution.objects.count()} trigger executions logged."
        )
        self.stdout.write(admin_line(port, password))

    def webhook_trigger(self, admin, port):
        """The async webhook trigger, made last so that the demo data above does not fire it
        before the server (its receiver) runs; pointed at ``port`` if it was made for another
        one."""
        spec = webhook_trigger(port)
        stored = TriggerDefinition.objects.filter(name=spec["name"]).first()
        if stored is None:
            definitions.save_spec(spec, actor=admin)
            self.stdout.write(f"Created the database trigger {spec['name']}: change a SIM "
                              f"card's status to see a signed, retried webhook to "
                              f"{hook_url(port)}.")
            return
        current = definitions.spec_of(stored)
        moved = [{**action, "url": hook_url(port)}
                 if action.get("type") == "webhook" and HOOK.match(str(action.get("url")))
                 else action for action in current["actions"]]
        if moved != current["actions"]:
            definitions.save_spec({**current, "actions": moved}, actor=admin)
            self.stdout.write(f"Pointed the database trigger {spec['name']} at "
                              f"{hook_url(port)}, the receiver of this server.")

    def admin_user(self, reset_password):
        """The admin user, and the password to print: what it was set to, or a sentence."""
        User = get_user_model()
        admin = User.objects.filter(username=ADMIN_USER).first()
        if admin is None:
            admin = User.objects.create_superuser(ADMIN_USER, "admin@example.com",
                                                  ADMIN_PASSWORD)
            self.stdout.write(f"Created the superuser {ADMIN_USER} with the password "
                              f"{ADMIN_PASSWORD!r}.")
            return admin, ADMIN_PASSWORD
        if reset_password:
            admin.set_password(ADMIN_PASSWORD)
            admin.save(update_fields=["password"])
            self.stdout.write(f"Reset the password of the user {ADMIN_USER} to "
                              f"{ADMIN_PASSWORD!r}.")
            return admin, ADMIN_PASSWORD
        if admin.check_password(ADMIN_PASSWORD):
            self.stdout.write(f"Left the password of the user {ADMIN_USER} as it was "
                              f"({ADMIN_PASSWORD!r}).")
            return admin, ADMIN_PASSWORD
        self.stdout.write(f"Left the password of the user {ADMIN_USER} as it was; it is not "
                          f"{ADMIN_PASSWORD!r}. Run 'manage.py demo_data --reset-password' to "
                          f"set it to {ADMIN_PASSWORD!r}.")
        return admin, f"unchanged (not {ADMIN_PASSWORD!r})"

    def user(self, username):
        user, created = get_user_model().objects.get_or_create(
            username=username, defaults={"email": f"{username}@example.com"}
        )
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        return user

    def shop(self, code, name, city, manager):
        shop, created = Shop.objects.get_or_create(
            code=code, defaults={"name": name, "city": city, "manager": manager}
        )
        if created and code != "KSM-01":  # Kisumu stays pending: activate it in the admin
            shop.status = Shop.Status.ACTIVE
            shop.save()  # fires shop_status_change_handler
        return shop

    def cards(self, shops, users):
        """Twenty cards in various states; a few of them then change, as they would in use."""
        statuses = cycle([SimCard.Status.ACTIVE] * 3 + [SimCard.Status.INACTIVE])
        qualities = cycle([SimCard.Quality.GOOD] * 3 + [SimCard.Quality.FAIR,
                                                        SimCard.Quality.POOR])
        cards, new = [], []
        for i in range(1, CARD_COUNT + 1):
            card, created = SimCard.objects.get_or_create(
                serial_number=f"{SERIAL_PREFIX}{i:05d}",
                defaults={
                    "phone_number": f"+2547{i:08d}",
                    "status": next(statuses),
                    "quality": next(qualities),
                    "shop": shops[i % len(shops)],
                    "assigned_to_user": users[i % len(users)] if i % 4 == 0 else None,
                },
            )
            cards.append(card)
            if created:
                new.append(card)
        if len(new) == CARD_COUNT:  # the first run: make some changes that fire triggers
            self.story(cards, shops)
        return cards

    def story(self, cards, shops):
        cards[2].status = SimCard.Status.SUSPENDED
        cards[2].save()  # sim_card_status_notification
        cards[4].quality = SimCard.Quality.POOR
        cards[4].save()  # sim_card_quality_update
        cards[6].fraud_flag = True
        cards[6].fraud_reason = "Used in 40 countries within an hour"
        cards[6].save()  # sim_card_fraud_alert (which suspends it)
        for card in cards[8:12]:
            card.registration_status = SimCard.Registration.REGISTERED
            card.save(update_fields=["registration_status"])  # sim_card_registration_completion
        moved = next(c for c in cards if c.shop_id != shops[2].pk)
        moved.shop = shops[2]
        moved.assigned_to_user = shops[2].manager
        moved.save()  # sim_card_assignment_tracking, sim_card_quality_update

    def sales(self, shops, cards, admin):
        if Sale.objects.filter(shop__in=shops).exists():
            return
        prices = (Decimal("1.50"), Decimal("2.00"), Decimal("2.50"))
        for shop in shops[:2]:  # the active shops
            shop_cards = [c for c in cards if c.shop_id == shop.pk]
            for card, price in zip(shop_cards, prices, strict=False):
                Sale.objects.create(shop=shop, sim_card=card, unit_price=price, sold_by=admin)

    def transfer(self, shops, admin):
        if Transfer.objects.filter(from_shop__in=shops).exists():
            return
        transfer = Transfer.objects.create(from_shop=shops[0], to_shop=shops[1], quantity=2,
                                           requested_by=admin)
        for status in (Transfer.Status.APPROVED, Transfer.Status.IN_TRANSIT,
                       Transfer.Status.RECEIVED):
            transfer.status = status
            transfer.save()  # shop_transfer_workflow
