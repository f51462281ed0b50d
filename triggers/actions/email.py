"""The ``email`` action: a message sent through Django's mail settings: a ``MAILERS`` alias on
Django 6.1 and later (``"default"`` unless the action names another with ``mailer``), the
``EMAIL_BACKEND`` settings before.

Usable from code (``send_email(...)``, exported by ``triggers.actions``) and from database
rows (``{"type": "email", ...}``); both are checked by ``EmailType``. The subject, body and
recipients are ``{{ path }}`` templates (see ``triggers.templating``). The action returns a
successful ``TriggerResult``, raises ``RetryLater`` when the mail server cannot be reached or
answers with a temporary failure, and ``ActionFailed`` when retrying would not help.
"""

from __future__ import annotations

import contextlib
import html
import smtplib
from email.utils import getaddresses
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from ..exceptions import ActionFailed, RetryLater
from ..templating import is_template, render, template_problems
from .base import ActionType, MessagingAction, TriggerAction, TriggerResult
from .validation import check_delivery, check_text, raise_problems

if TYPE_CHECKING:
    from ..context import TriggerContext

#: Characters of a rendered email body (the subject and addresses use ``MAX_OUTPUT``).
MAX_BODY = 100_000


def valid_address(value: Any) -> str | None:
    """The address of ``value`` ("ops@example.com" or "Ops <ops@example.com>") when it is one
    valid address, else None."""
    if not isinstance(value, str) or "\r" in value or "\n" in value:
        return None
    found = getaddresses([value])
    if len(found) != 1 or not found[0][1]:
        return None
    try:
        validate_email(found[0][1])
    except ValidationError:
        return None
    return value.strip()


class EmailAction(MessagingAction):
    """Send an email through Django's mailer (``MAILERS``; ``EMAIL_BACKEND`` before Django 6.1).

    ``to``, ``cc`` and ``bcc`` hold addresses or templates that render to one address each
    (``{{ instance.owner.email }}``); rendered values that are not a valid address are left
    out, and with no recipient left the action fails. The subject is rendered on one line (line
    breaks become spaces: no header injection); values in ``html_body`` are HTML-escaped.
    """

    def __init__(self, to: list[str], subject: str, body: str, *, from_email: str | None = None,
                 cc: list[str] | tuple[str, ...] = (), bcc: list[str] | tuple[str, ...] = (),
                 html_body: str | None = None, max_retries: int | None = None,
                 timeout: float | None = None, mailer: str | None = None) -> None:
        super().__init__(max_retries, timeout)
        self.mailer = mailer
        self.to = list(to)
        self.subject = subject
        self.body = body
        self.from_email = from_email
        self.cc = list(cc)
        self.bcc = list(bcc)
        self.html_body = html_body

    def _addresses(self, values: list[str], context: TriggerContext,
                   dropped: list[str]) -> list[str]:
        found = []
        for value in values:
            text = render(value, context) if is_template(value) else value
            if not text.strip():
                continue  # an empty value, such as the email of an object that has none
            address = valid_address(text)
            if address is None:
                dropped.append(text)
            elif address not in found:
                found.append(address)
        return found

    def connection(self) -> Any:
        """A new connection of the mailer: ``MAILERS[mailer or "default"]`` where Django has
        mailers (6.1 and later), else the ``EMAIL_BACKEND``; with the action's timeout."""
        from django.core import mail

        mailers = getattr(mail, "mailers", None)
        if mailers is None:
            return mail.get_connection(timeout=self.timeout) if self.timeout else (
                mail.get_connection())
        connection = mailers[self.mailer or "default"]
        if self.timeout and hasattr(connection, "timeout"):
            connection.timeout = self.timeout
        return connection

    def execute(self, context: TriggerContext) -> TriggerResult:
        from django.core.mail import EmailMultiAlternatives

        dropped: list[str] = []
        to = self._addresses(self.to, context, dropped)
        cc = self._addresses(self.cc, context, dropped)
        bcc = self._addresses(self.bcc, context, dropped)
        if not (to or cc or bcc):
            shown = ", ".join(repr(d) for d in dropped) or "nothing"
            raise ActionFailed(f"email: no valid recipient (to, cc and bcc rendered {shown}).")
        subject = " ".join(render(self.subject, context).split())
        body = render(self.body, context, MAX_BODY)
        message = EmailMultiAlternatives(subject, body, self.from_email or None, to, bcc=bcc,
                                         cc=cc)
        if self.html_body:
            message.attach_alternative(
                render(self.html_body, context, MAX_BODY, escape=html.escape), "text/html")
        connection = self.connection()
        try:
            connection.open()
            connection.send_messages([message])
        except ValueError as exc:  # a header Django refuses (BadHeaderError before Django 6.1)
            raise ActionFailed(f"email: {exc}") from exc
        except smtplib.SMTPRecipientsRefused as exc:
            text = f"email: every recipient was refused: {exc.recipients}"
            if all(400 <= code < 500 for code, _answer in exc.recipients.values()):
                raise RetryLater(text) from exc  # a full mailbox, greylisting
            raise ActionFailed(text) from exc
        except smtplib.SMTPResponseException as exc:
            text = f"email: the mail server answered {exc.smtp_code} {exc.smtp_error!r}"
            if 400 <= exc.smtp_code < 500:
                raise RetryLater(text) from exc
            raise ActionFailed(text) from exc
        except OSError as exc:  # connection refused, timeouts, SMTPServerDisconnected
            raise RetryLater(f"email: the mail server cannot be reached: {exc}") from exc
        finally:
            # opened here, closed here: Django 4.2 leaves the connection open when sending fails
            with contextlib.suppress(Exception):
                connection.close()
        sent = [*to, *cc, *bcc]
        note = f" (left out: {', '.join(repr(d) for d in dropped)})" if dropped else ""
        return TriggerResult(True, f"email {subject!r} sent to {', '.join(sent)}{note}",
                             data={"to": to, "cc": cc, "bcc": bcc, "subject": subject})

    def description(self) -> str:
        return f"email {self.subject!r} to {', '.join(self.to)}"


class EmailType(ActionType):
    name = "email"
    required = ("to", "subject", "body")
    optional = ("from_email", "cc", "bcc", "html_body", "mailer", "max_retries", "timeout")
    help = ('an email action sends a message, e.g. {"to": ["{{ instance.owner.email }}"], '
            '"subject": "Order {{ instance.id }}", "body": "It is {{ instance.status }}."}.')

    def check_values(self, config: dict[str, Any], model: Any) -> list[str]:
        problems = []
        for key in ("to", "cc", "bcc"):
            if key not in config:
                continue
            values = config[key]
            if not isinstance(values, list) or (key == "to" and not values):
                problems.append(f"{key}: give a list of addresses or templates, e.g. "
                                '["ops@example.com", "{{ instance.owner.email }}"].')
                continue
            for value in values:
                if is_template(value):
                    problems.extend(f"{key}: {p}" for p in template_problems(value))
                elif valid_address(value) is None:
                    problems.append(f"{key}: {value!r} is not a valid email address; give an "
                                    "address such as 'ops@example.com' or a template such as "
                                    "'{{ instance.owner.email }}'.")
        problems.extend(check_text("subject", config["subject"]))
        problems.extend(check_text("body", config["body"]))
        if "html_body" in config:
            problems.extend(check_text("html_body", config["html_body"]))
        sender = config.get("from_email")
        if sender is not None and valid_address(sender) is None:
            problems.append(f"from_email: {sender!r} is not a valid email address; give one "
                            "such as 'Shop <noreply@example.com>', or leave it out for "
                            "DEFAULT_FROM_EMAIL.")
        problems.extend(_check_mailer(config.get("mailer")))
        problems.extend(check_delivery(config))
        return problems

    def build(self, config: dict[str, Any], model: Any) -> TriggerAction:
        return EmailAction(
            config["to"], config["subject"], config["body"],
            from_email=config.get("from_email"), cc=config.get("cc", ()),
            bcc=config.get("bcc", ()), html_body=config.get("html_body"),
            max_retries=config.get("max_retries"), timeout=config.get("timeout"),
            mailer=config.get("mailer"),
        )


def _check_mailer(mailer: Any) -> list[str]:
    if mailer is None:
        return []
    from django.core import mail

    if getattr(mail, "mailers", None) is None:
        return ["mailer: mailers are Django 6.1's MAILERS setting; leave mailer out to send "
                "through EMAIL_BACKEND."]
    if not isinstance(mailer, str) or mailer not in mail.mailers:
        known = ", ".join(repr(alias) for alias in mail.mailers) or "none"
        return [f"mailer: {mailer!r} is not a mailer in MAILERS (configured: {known})."]
    return []


def send_email(to: str | list[str], subject: str, body: str, *, from_email: str | None = None,
               cc: list[str] | tuple[str, ...] = (), bcc: list[str] | tuple[str, ...] = (),
               html_body: str | None = None, max_retries: int | None = None,
               timeout: float | None = None, mailer: str | None = None) -> EmailAction:
    """An action that sends an email; ``to`` is an address, a template or a list of them;
    ``mailer`` an alias of Django's ``MAILERS`` (Django 6.1 and later)."""
    config: dict[str, Any] = {
        "to": [to] if isinstance(to, str) else list(to), "subject": subject, "body": body,
        "cc": list(cc), "bcc": list(bcc), "from_email": from_email, "max_retries": max_retries,
        "timeout": timeout, "mailer": mailer,
    }
    if html_body is not None:
        config["html_body"] = html_body
    raise_problems("send_email", EmailType().check(config, None))
    return EmailAction(config["to"], subject, body, from_email=from_email, cc=cc, bcc=bcc,
                       html_body=html_body, max_retries=max_retries, timeout=timeout,
                       mailer=mailer)
