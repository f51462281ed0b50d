"""The admin for API keys: make one (its key is shown once, on the page after saving), list
them with their last use, revoke them. Registered with ``admin.site`` from ``triggers.admin``.

Only superusers may make read-write keys: such a key may do everything the API offers, more
than the staff user making it may be allowed to.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template import engines
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .. import apikeys
from ..models import TriggerAPIKey

CREATED_PAGE = """{% extends "admin/base_site.html" %}{% load i18n %}
{% block breadcrumbs %}<div class="breadcrumbs"><a href="{% url 'admin:index' %}">
{% translate 'Home' %}</a> &rsaquo; <a href="{% url 'admin:triggers_triggerapikey_changelist' %}">
{{ opts.verbose_name_plural|capfirst }}</a> &rsaquo; {{ key_row.name }}</div>{% endblock %}
{% block content %}<div id="content-main">
<p>{% blocktranslate with name=key_row.name %}The API key <strong>{{ name }}</strong> was made.
Copy it now: it is not stored and will not be shown again.{% endblocktranslate %}</p>
<p><input type="text" readonly size="84" value="{{ key }}" id="api-key"
 onfocus="this.select()" aria-label="API key"></p>
<p>{% translate 'Send it as the apikey header, or as Authorization: Bearer.' %}
{% if key_row.read_only %}{% translate 'It may only read.' %}{% else %}
{% translate 'It may read and change everything the API offers.' %}{% endif %}</p>
<p><a class="button" href="{% url 'admin:triggers_triggerapikey_changelist' %}">
{% translate 'Done' %}</a></p></div>{% endblock %}
"""


#: The request attribute that carries a new key from save_model to response_add.
NEW_KEY = "_triggers_new_api_key"

class APIKeyForm(forms.ModelForm):
    class Meta:
        model = TriggerAPIKey
        fields = ["name", "read_only"]


@admin.register(TriggerAPIKey)
class TriggerAPIKeyAdmin(admin.ModelAdmin):
    form = APIKeyForm
    list_display = ["name", "prefix", "read_only", "created_at", "created_by", "last_used_at",
                    "revoked_at"]
    list_filter = ["read_only", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "prefix"]
    readonly_fields = ["prefix", "created_at", "created_by", "last_used_at", "revoked_at"]
    actions = ["revoke_keys"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is not None and not request.user.is_superuser:
            return [*self.readonly_fields, "read_only"]  # making a key read-write is superuser's
        return self.readonly_fields

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False,
                 **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        field = form.base_fields.get("read_only")
        if obj is None and field is not None and not request.user.is_superuser:
            field.initial, field.disabled = True, True
            field.help_text = _("Only superusers may make read-write keys.")
        return form

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if not obj.read_only and not request.user.is_superuser and (
            not change or "read_only" in form.changed_data
        ):
            raise PermissionDenied("Only superusers may make read-write API keys.")
        if not change:
            obj.prefix, obj.hashed_key, key = apikeys.new_key()
            obj.created_by = request.user
            setattr(request, NEW_KEY, key)  # noqa: B010 - shown once by response_add, never stored
        super().save_model(request, obj, form, change)

    def response_add(self, request: HttpRequest, obj: Any, post_url_continue: Any = None
                     ) -> HttpResponse:
        key = getattr(request, NEW_KEY, None)
        if key is None:
            return super().response_add(request, obj, post_url_continue)
        template = engines["django"].from_string(CREATED_PAGE)
        context = {**self.admin_site.each_context(request), "opts": self.opts,
                   "title": _("API key made"), "key_row": obj, "key": key}
        return TemplateResponse(request, template, context)  # never cached: the admin's pages

    @admin.action(description=_("Revoke the selected keys"), permissions=["change"])
    def revoke_keys(self, request: HttpRequest, queryset: Any) -> None:
        done = sum(apikeys.revoke(row) for row in queryset)
        self.message_user(request, ngettext("Revoked %d key.", "Revoked %d keys.", done) % done,
                          messages.SUCCESS)
