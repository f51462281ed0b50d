"""Who may call the API: API keys and staff sessions, each request checked against the
permissions its view names. Nothing is allowed by default, whatever the project's DRF settings.

- An API key comes as the ``apikey`` header and/or ``Authorization: Bearer <key>`` (Supabase
  clients send both, the same). A read-write key has every permission of the API, a read-only
  key the ``view_*`` permissions only. A key that is malformed, unknown or revoked gets 401.
- A staff session (``is_staff``, active) needs the model permissions the request names;
  superusers have them all. A user who is not staff gets 403.
- A session's unsafe requests need Django's CSRF token, as usual, except JSON requests
  (``Content-Type: application/json``) and PATCH, PUT and DELETE: a browser only sends those
  cross-site after a CORS preflight, so another site cannot forge them (the Origin and Referer
  checks still apply).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.http import HttpRequest, HttpResponseBase
from django.middleware.csrf import REASON_CSRF_TOKEN_MISSING, REASON_NO_CSRF_COOKIE
from rest_framework import authentication, exceptions, permissions
from rest_framework.authentication import CSRFCheck

from .. import apikeys

VIEW_TRIGGERS = "triggers.view_triggerdefinition"
VIEW_EXECUTIONS = "triggers.view_triggerexecution"
VIEW_AUDIT = "triggers.view_triggeraudit"
ADD_DEFINITION = "triggers.add_triggerdefinition"
CHANGE_DEFINITION = "triggers.change_triggerdefinition"
DELETE_DEFINITION = "triggers.delete_triggerdefinition"
TOGGLE = "triggers.toggle_trigger"
EXECUTE = "triggers.execute_trigger"
IMPORT = "triggers.import_config"
REPLAY = "triggers.replay_execution"
ENGINE = "triggers.manage_engine"
EMIT = "triggers.emit_event"

#: What a read-only key may do.
READ_PERMISSIONS = frozenset({VIEW_TRIGGERS, VIEW_EXECUTIONS, VIEW_AUDIT})
#: Every permission the API checks (a read-write key has them all).
ALL_PERMISSIONS = READ_PERMISSIONS | {ADD_DEFINITION, CHANGE_DEFINITION, DELETE_DEFINITION,
                                      TOGGLE, EXECUTE, IMPORT, REPLAY, ENGINE, EMIT}


class KeyUser:
    """The caller of a request made with an API key (``request.user``)."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = None
    id = None

    def __init__(self, key: Any) -> None:
        self.key = key

    def get_username(self) -> str:
        return f"apikey:{self.key.name}"

    def __str__(self) -> str:
        return self.get_username()

    def has_perm(self, perm: str, obj: Any = None) -> bool:
        if self.key.read_only:
            return perm in READ_PERMISSIONS
        return perm in ALL_PERMISSIONS

    def has_perms(self, perm_list: Iterable[str], obj: Any = None) -> bool:
        return all(self.has_perm(p) for p in perm_list)


def _bearer(request: Any) -> str | None:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _sep, value = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip() or None


class APIKeyAuthentication(authentication.BaseAuthentication):
    """An API key in the ``apikey`` header and/or as ``Authorization: Bearer``."""

    def authenticate(self, request: Any) -> tuple[KeyUser, Any] | None:
        header = request.META.get("HTTP_APIKEY", "").strip() or None
        bearer = _bearer(request)
        if header is None and bearer is None:
            if "apikey" in request.query_params:
                raise exceptions.AuthenticationFailed(
                    "API keys are not accepted in the URL, where they end up in server logs; "
                    "send the apikey header instead.")
            return None
        if header is not None and bearer is not None and header != bearer:
            raise exceptions.AuthenticationFailed(
                "The apikey header and the Authorization bearer differ; send the same key in "
                "both, or only one of them.")
        row, why = apikeys.find_key(header or bearer or "")
        if row is None:
            raise exceptions.AuthenticationFailed(why)
        apikeys.touch(row)
        return KeyUser(row), row

    def authenticate_header(self, request: Any) -> str:
        return 'Bearer realm="triggers"'


class StaffSessionAuthentication(authentication.SessionAuthentication):
    """The Django session's user; CSRF as described in the module docstring."""

    def enforce_csrf(self, request: Any) -> None:
        check = CSRFCheck(_no_view)
        check.process_request(request)
        reason = check.process_view(request, _no_view, (), {})
        if not reason:
            return
        if reason in (REASON_CSRF_TOKEN_MISSING, REASON_NO_CSRF_COOKIE) and (
            request.method != "POST" or _is_json(request)
        ):
            return
        raise exceptions.PermissionDenied(
            f"CSRF Failed: {reason} Send the CSRF token (X-CSRFToken header) or a JSON body "
            "with Content-Type: application/json, or use an API key.")


def _no_view(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
    """The view (and the rest of the middleware chain) that the CSRF check is given but never
    calls; it is not ``csrf_exempt``, so the check runs."""
    raise AssertionError("The CSRF check called the view it was given.")


def _is_json(request: Any) -> bool:
    return request.content_type.split(";")[0].strip().lower() == "application/json"


class TriggerPermission(permissions.BasePermission):
    """The permissions ``view.required_permissions(request)`` names: all of them."""

    message = "Permission denied."

    def has_permission(self, request: Any, view: Any) -> bool:
        user = request.user
        if user is None or not user.is_authenticated:
            return False
        if not isinstance(user, KeyUser) and not user.is_staff:
            self.message = ("Only staff users may use this API with a session; ask for staff "
                            "status, or use an API key.")
            return False
        if not hasattr(view, request.method.lower()):
            return True  # answered 405 Method Not Allowed, doing nothing
        needed = view.required_permissions(request)
        if needed is None:
            return True  # any key or staff user (e.g. an unknown function: 404)
        if not needed:
            return False  # a view that names no permission is closed, not open
        missing = [p for p in needed if not user.has_perm(p)]
        if missing:
            who = ("This read-only API key" if isinstance(user, KeyUser)
                   else f"The user {user.get_username()!r}")
            self.message = (f"{who} lacks the permission {', '.join(missing)} this request "
                            "needs" + ("; use a read-write key." if isinstance(user, KeyUser)
                                       else "; a superuser can grant it in the admin."))
            return False
        return True


class Authenticated(permissions.BasePermission):
    """Any valid key or staff session (the OpenAPI document and the Swagger UI)."""

    message = "Only staff users may use this API with a session; use an API key otherwise."

    def has_permission(self, request: Any, view: Any) -> bool:
        user = request.user
        if user is None or not user.is_authenticated:
            return False
        return isinstance(user, KeyUser) or bool(user.is_staff)


AUTHENTICATION_CLASSES = (APIKeyAuthentication, StaffSessionAuthentication)
