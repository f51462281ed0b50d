"""The admin of database triggers: the list (last run, success rate, bulk actions) and the form
with its actions inline. Every save, delete, copy and switch goes through
``triggers.definitions.store``, which writes the audit entry and resets the actions that
delivery disabled."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db import models
from django.db.models import Count, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from .. import dashboard
from ..definitions import store
from ..definitions.spec import SPEC_KEYS
from ..models import TriggerDefinition, TriggerDefinitionAction, TriggerExecution
from .forms import (
    INLINE_JSON_WIDGET,
    JSON_WIDGET,
    ActionFormSet,
    TriggerDefinitionForm,
    action_type_choices,
    model_choices,
)
from .pages import TEMPLATES, TriggerPages


class ActionInline(admin.TabularInline):
    """A trigger's actions, run in ``position`` order."""

    model = TriggerDefinitionAction
    formset = ActionFormSet
    fields = ("position", "type", "config")
    ordering = ("position", "id")
    extra = 1
    formfield_overrides = {models.JSONField: INLINE_JSON_WIDGET}

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "type":
            return forms.ChoiceField(label=capfirst(db_field.verbose_name),
                                     choices=action_type_choices, required=True)
        return super().formfield_for_dbfield(db_field, request, **kwargs)


@admin.register(TriggerDefinition)
class TriggerDefinitionAdmin(TriggerPages, admin.ModelAdmin):
    """Database triggers, with their actions inline; every change is written by the store."""

    form = TriggerDefinitionForm
    inlines = [ActionInline]
    list_display = ("name", "enabled", "event", "model", "priority", "last_run", "success_rate")
    list_filter = ("enabled", "event", "priority", "model")
    search_fields = ("name", "description")
    actions = ["enable", "disable", "duplicate"]
    formfield_overrides = {models.JSONField: JSON_WIDGET}
    readonly_fields = ("created_at", "updated_at")
    change_list_template = f"{TEMPLATES}/change_list.html"
    change_form_template = f"{TEMPLATES}/change_form.html"
    fieldsets = (
        (None, {"fields": ("name", "description", "enabled")}),
        (_("When"), {"fields": ("event", "model", "event_types", "fields", "conditions",
                                "context_filters", "tenant")}),
        (_("How"), {"fields": ("priority", "mode", "timeout", "max_retries",
                               "retry_backoff")}),
        (_("Flow control"), {"fields": ("rate_limit", "cooldown", "limit_by"),
                             "description": _("Limits on how often the trigger runs; the "
                                              "events they stop are recorded as "
                                              "rate_limited.")}),
        (_("History"), {"fields": ("created_at", "updated_at"), "classes": ("collapse",)}),
    )

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "model":
            return forms.ChoiceField(
                label=capfirst(db_field.verbose_name), choices=model_choices, required=False,
                help_text=_("One of the models TRIGGER_MODELS allows; empty for custom "
                            "events."),
            )
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def get_urls(self) -> list[Any]:
        return [*self.page_urls(), *super().get_urls()]

    # The list ---------------------------------------------------------------------------

    def get_queryset(self, request: HttpRequest) -> Any:
        runs = TriggerExecution.objects.filter(trigger_name=OuterRef("name"))

        def count(condition: Q | None = None) -> Any:
            found = runs.filter(condition) if condition is not None else runs
            return Coalesce(Subquery(
                found.order_by().values("trigger_name")
                .annotate(n=Count("id")).values("n")[:1]
            ), 0)

        return super().get_queryset(request).annotate(
            last_run_at=Subquery(runs.order_by("-started_at").values("started_at")[:1]),
            executions=count(dashboard.RAN),
            successes=count(dashboard.OK),
        )

    @admin.display(description=_("last run"), ordering="last_run_at")
    def last_run(self, obj: TriggerDefinition) -> Any:
        return getattr(obj, "last_run_at", None) or "-"

    @admin.display(description=_("success rate"), ordering="executions")
    def success_rate(self, obj: TriggerDefinition) -> str:
        executions = getattr(obj, "executions", 0)  # annotated by get_queryset
        found = dashboard.rate(getattr(obj, "successes", 0), executions)
        return "-" if found is None else f"{found:g}% of {executions}"

    @admin.action(description=_("Enable the selected triggers"), permissions=["change"])
    def enable(self, request: HttpRequest, queryset: Any) -> None:
        self._set_enabled(request, queryset, True)

    @admin.action(description=_("Disable the selected triggers"), permissions=["change"])
    def disable(self, request: HttpRequest, queryset: Any) -> None:
        self._set_enabled(request, queryset, False)

    def _set_enabled(self, request: HttpRequest, queryset: Any, enabled: bool) -> None:
        names = list(queryset.values_list("name", flat=True))
        for name in names:
            store.set_enabled(name, enabled, request.user)
        state = _("enabled") if enabled else _("disabled")
        self.message_user(request, _("%(count)d trigger(s) %(state)s.")
                          % {"count": len(names), "state": state}, messages.SUCCESS)

    @admin.action(description=_("Duplicate the selected triggers (disabled)"),
                  permissions=["add"])
    def duplicate(self, request: HttpRequest, queryset: Any) -> None:
        copies = store.duplicate(*queryset.prefetch_related("actions"), actor=request.user)
        names = ", ".join(copy.name for copy in copies)
        self.message_user(request, _("Made %(names)s (disabled).") % {"names": names},
                          messages.SUCCESS)

    # Saving and deleting, through the store --------------------------------------------

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        """Nothing yet: ``save_related`` saves the definition with its actions at once."""

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool
                     ) -> None:
        formset.save(commit=False)  # what changed, for the admin's history; nothing written

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """Save the definition as the form and its actions give it, through the store."""
        super().save_related(request, form, formsets, change)
        obj = form.instance
        spec = {key: getattr(obj, key) for key in SPEC_KEYS if key != "actions"}
        spec["actions"] = [action for formset in formsets if isinstance(formset, ActionFormSet)
                           for action in formset.actions()]
        stored = TriggerDefinition.objects.filter(pk=obj.pk).first() if change else None
        saved = store.save_spec(spec, actor=request.user, definition=stored)
        obj.pk = saved.pk  # the admin's history and redirect name the saved row

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        store.delete(obj, actor=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        store.delete(*queryset.prefetch_related("actions"), actor=request.user)
