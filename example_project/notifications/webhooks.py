"""A webhook receiver for the demo: it checks the Standard Webhooks signature, answers the first
delivery of each message with 503 (so that the execution log shows a retry), and turns the
second into a notification.

The demo's database trigger ``sim-status-webhook`` (made by ``manage.py demo_data``) sends SIM
card status changes here, signed with the secret in the environment variable
``DEMO_WEBHOOK_SECRET``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .models import Notification

#: Oldest webhook-timestamp accepted, in seconds: older messages may be replays.
TOLERANCE = 300
_first_tries: set[str] = set()


def valid_signature(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """Whether one of the ``v1,`` signatures is the HMAC of ``id.timestamp.body``."""
    message_id = headers.get("webhook-id", "")
    timestamp = headers.get("webhook-timestamp", "")
    if not message_id or not timestamp.isdigit() or abs(time.time() - int(timestamp)) > TOLERANCE:
        return False
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{message_id}.{timestamp}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(
        hmac.compare_digest(f"v1,{expected}", candidate)
        for candidate in headers.get("webhook-signature", "").split()
    )


@csrf_exempt
@require_POST
def receive(request: HttpRequest) -> HttpResponse:
    headers = {name.lower(): value for name, value in request.headers.items()}
    if not valid_signature(os.environ["DEMO_WEBHOOK_SECRET"], headers, request.body):
        return HttpResponse("bad signature", status=401)
    message_id = headers["webhook-id"]
    if message_id not in _first_tries:
        _first_tries.add(message_id)
        response = HttpResponse("busy, try again in a moment", status=503)
        response["Retry-After"] = "2"
        return response
    event = json.loads(request.body or b"{}")
    Notification.objects.create(
        kind=Notification.Kind.INFO,
        title=f"Webhook received: {event.get('trigger', '')} {event.get('event', '')}",
        message=json.dumps(event, indent=2, sort_keys=True)[:4000],
        object_label=str(event.get("model", "")),
        object_pk=str(event.get("pk", "")),
    )
    return HttpResponse("ok")
