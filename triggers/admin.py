"""The admin: database triggers (edit, test, run), every trigger with its switch, the execution
log, the audit trail and a dashboard.

Every custom view goes through ``admin_site.admin_view`` and checks its own permission; the
views that change something accept only POST (with Django's CSRF check). See ``docs/admin.md``.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import FieldDoesNotExist, PermissionDenied, ValidationError
from django.db import models, transaction
from django.db.models import Count, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.forms.models import BaseInlineFormSet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from . import dashboard, definitions
from .actions.types import ACTION_TYPES
from .base.trigger_base import TriggerEvent
from .base.trigger_engine import engine
from .exceptions import UnknownModel
from .models import (
    TriggerAudit,
    TriggerDefinition,
    TriggerDefinitionAction,
    TriggerExecution,
    TriggerSwitch,
)
from .registry import resolve_model, trigger_registry
from .switches import switches

#: Checked in place of the inline actions when the main form is checked: the inline formset
#: reports the actions' own problems next to each action.
PLACEHOLDER_ACTIONS = [{"type": "log", "message": "placeholder"}]
EMPTY_JSON = {"event_types": list, "fields": list, "context_filters": dict}
JSON_WIDGET = {"widget": forms.Textarea(attrs={"rows": 3, "cols": 60,
                                                "class": "vLargeTextField"})}


def _model_choices() -> list[tuple[str, str]]:
    return [("", "---------")] + [(m._meta.label, m._meta.label)
                                  for m in definitions.allowed_models()]


def _action_type_choices() -> list[tuple[str, str]]:
    return [("", "---------")] + [(name, name) for name in ACTION_TYPES]


def _perm(model: type[models.Model], action: str) -> str:
    return f"{model._meta.app_label}.{action}_{model._meta.model_name}"


# Forms -----------------------------------------------------------------------------------


class TriggerDefinitionForm(forms.ModelForm):
    """Checks the definition with ``check_spec``; each problem goes next to its field."""

    class Meta:
        model = TriggerDefinition
        fields = "__all__"

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        for name, empty in EMPTY_JSON.items():
            if name in cleaned and cleaned[name] is None:
                cleaned[name] = empty()
        spec = {key: cleaned[key] for key in definitions.SPEC_KEYS if key in cleaned}
        spec["actions"] = PLACEHOLDER_ACTIONS
        _clean, problems = definitions.check_spec(spec)
        for problem in problems:
            if problem.key in self.errors:
                continue  # the field's own error says it already
            self.add_error(problem.key if problem.key in self.fields else None, problem.message)
        return cleaned


class ActionFormSet(BaseInlineFormSet):
    """Checks every action kept with ``check_action`` against the trigger's chosen model."""

    def clean(self) -> None:
        super().clean()
        definition = self.instance
        check, model = self._target(definition)
        kept = 0
        for form in self.forms:
            if not hasattr(form, "cleaned_data") or self._should_delete_form(form):
                continue
            if not form.cleaned_data or (form.empty_permitted and not form.has_changed()):
                continue
            kept += 1
            if form.errors or not check:
                continue
            config = form.cleaned_data.get("config")
            if config is None:
                config = {}
            if not isinstance(config, dict):
                form.add_error("config", _('Give an object, e.g. {"message": "changed"}.'))
                continue
            if "type" in config:
                form.add_error("config", _('Remove the key "type"; choose the type beside.'))
                continue
            for message in definitions.check_action(
                {"type": form.cleaned_data.get("type"), **config}, model
            ):
                form.add_error("type" if message.startswith("type:") else "config", message)
        if not kept:
            raise ValidationError(_('Give at least one action, e.g. a log action with '
                                    '{"message": "changed"}.'))

    @staticmethod
    def _target(definition: TriggerDefinition) -> tuple[bool, Any]:
        """(whether to check the actions, the model to check them against)."""
        if definition.event == TriggerEvent.CUSTOM:
            return True, None
        try:
            model = resolve_model(definition.model)
        except UnknownModel:
            return False, None  # the main form reports the model
        return definitions.allowed_model(model), model


class ActionInline(admin.TabularInline):
    model = TriggerDefinitionAction
    formset = ActionFormSet
    fields = ("position", "type", "config")
    ordering = ("position", "id")
    extra = 1
    formfield_overrides = {models.JSONField: JSON_WIDGET}

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "type":
            return forms.ChoiceField(label=db_field.verbose_name, choices=_action_type_choices,
                                     required=True)
        return super().formfield_for_dbfield(db_field, request, **kwargs)


class ObjectForm(forms.Form):
    """The object (or, for custom events, the payload) a trigger is tested or run with."""

    object_pk = forms.CharField(label=_("object id"), required=False, max_length=255)
    payload = forms.JSONField(
        label=_("JSON payload"), required=False,
        widget=forms.Textarea(attrs={"rows": 5, "cols": 60}),
        help_text=_("For a custom event: its data. For a model: field values set on the object "
                    "(in memory only) to test a change, or on a new object when no id is "
                    "given."),
    )

    def __init__(self, *args: Any, model: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.model = model
        self.instance: Any = None

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        pk = (cleaned.get("object_pk") or "").strip()
        if pk:
            if self.model is None:
                raise ValidationError(_("This trigger has no model; give a JSON payload."))
            try:
                self.instance = self.model._default_manager.get(pk=pk)
            except (self.model.DoesNotExist, ValueError, ValidationError):
                self.add_error("object_pk", _("No %(model)s has the id %(pk)s.")
                               % {"model": self.model._meta.label, "pk": pk})
        elif cleaned.get("payload") is None and "payload" not in self.errors:
            raise ValidationError(_("Give an object id or a JSON payload."))
        return cleaned


# Database triggers -----------------------------------------------------------------------


@admin.register(TriggerDefinition)
class TriggerDefinitionAdmin(admin.ModelAdmin):
    """Database triggers, with their actions inline; every save and delete is audited."""

    form = TriggerDefinitionForm
    inlines = [ActionInline]
    list_display = ("name", "enabled", "event", "model", "priority", "last_run", "success_rate")
    list_filter = ("enabled", "event", "priority", "model")
    search_fields = ("name", "description")
    actions = ["enable", "disable", "duplicate"]
    formfield_overrides = {models.JSONField: JSON_WIDGET}
    readonly_fields = ("created_at", "updated_at")
    change_list_template = "admin/triggers/triggerdefinition/change_list.html"
    change_form_template = "admin/triggers/triggerdefinition/change_form.html"
    fieldsets = (
        (None, {"fields": ("name", "description", "enabled")}),
        (_("When"), {"fields": ("event", "model", "event_types", "fields", "conditions",
                                "context_filters", "tenant")}),
        (_("How"), {"fields": ("priority", "mode", "timeout", "max_retries",
                               "retry_backoff")}),
        (_("History"), {"fields": ("created_at", "updated_at"), "classes": ("collapse",)}),
    )

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "model":
            return forms.ChoiceField(
                label=db_field.verbose_name, choices=_model_choices, required=False,
                help_text=_("One of the models TRIGGER_MODELS allows; empty for custom "
                            "events."),
            )
        return super().formfield_for_dbfield(db_field, request, **kwargs)

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
            executions=count(),
            successes=count(dashboard.OK),
        )

    @admin.display(description=_("last run"), ordering="last_run_at")
    def last_run(self, obj: TriggerDefinition) -> Any:
        return getattr(obj, "last_run_at", None) or "-"

    @admin.display(description=_("success rate"), ordering="executions")
    def success_rate(self, obj: TriggerDefinition) -> str:
        found = dashboard.rate(getattr(obj, "successes", 0), getattr(obj, "executions", 0))
        return "-" if found is None else f"{found:g}% of {obj.executions}"

    @admin.action(description=_("Enable the selected triggers"), permissions=["change"])
    def enable(self, request: HttpRequest, queryset: Any) -> None:
        self._set_enabled(request, queryset, True)

    @admin.action(description=_("Disable the selected triggers"), permissions=["change"])
    def disable(self, request: HttpRequest, queryset: Any) -> None:
        self._set_enabled(request, queryset, False)

    def _set_enabled(self, request: HttpRequest, queryset: Any, enabled: bool) -> None:
        names = list(queryset.values_list("name", flat=True))
        for name in names:
            definitions.set_enabled(name, enabled, request.user)
        state = _("enabled") if enabled else _("disabled")
        self.message_user(request, _("%(count)d trigger(s) %(state)s.")
                          % {"count": len(names), "state": state}, messages.SUCCESS)

    @admin.action(description=_("Duplicate the selected triggers (disabled)"),
                  permissions=["add"])
    def duplicate(self, request: HttpRequest, queryset: Any) -> None:
        made = []
        with transaction.atomic():
            for original in queryset.prefetch_related("actions"):
                spec = definitions.spec_of(original)
                copy = definitions.write_row(
                    {**spec, "name": _copy_name(original.name), "enabled": False}
                )
                definitions.audit("create", copy.name,
                                  definitions.diff(None, definitions.spec_of(copy)), request.user)
                made.append(copy.name)
        self.message_user(request, _("Made %(names)s (disabled).") % {"names": ", ".join(made)},
                          messages.SUCCESS)

    # Saving and deleting, audited --------------------------------------------------------

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        before = None
        if change and obj.pk is not None:
            stored = TriggerDefinition.objects.filter(pk=obj.pk).first()
            before = definitions.spec_of(stored) if stored is not None else None
        form._spec_before = before
        super().save_model(request, obj, form, change)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        before = getattr(form, "_spec_before", None)
        after = definitions.spec_of(form.instance)
        if before != after:
            definitions.audit("update" if before is not None else "create", form.instance.name,
                              definitions.diff(before, after), request.user)

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        spec = definitions.spec_of(obj)
        super().delete_model(request, obj)
        _audit_deleted(spec, request.user)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        specs = [definitions.spec_of(obj) for obj in queryset.prefetch_related("actions")]
        super().delete_queryset(request, queryset)
        for spec in specs:
            _audit_deleted(spec, request.user)

    # Custom pages -------------------------------------------------------------------------

    def get_urls(self) -> list[Any]:
        prefix = f"{self.opts.app_label}_{self.opts.model_name}"
        wrap = self.admin_site.admin_view
        return [
            path("all/", wrap(self.all_triggers_view), name=f"{prefix}_all"),
            path("all/toggle/", wrap(self.toggle_view), name=f"{prefix}_toggle"),
            path("dashboard/", wrap(self.dashboard_view), name=f"{prefix}_dashboard"),
            path("<path:object_id>/test/", wrap(self.test_view), name=f"{prefix}_test"),
            path("<path:object_id>/run/", wrap(self.run_view), name=f"{prefix}_run"),
            *super().get_urls(),
        ]

    def _context(self, request: HttpRequest, title: str, **extra: Any) -> dict[str, Any]:
        return {**self.admin_site.each_context(request), "opts": self.opts, "title": title,
                **extra}

    def _definition(self, request: HttpRequest, object_id: str) -> TriggerDefinition:
        if not self.has_view_permission(request):
            raise PermissionDenied
        obj = self.get_object(request, object_id)
        if obj is None:
            raise Http404(_("No such trigger."))
        return obj

    def can_run(self, request: HttpRequest) -> bool:
        return request.user.has_perm(_perm(TriggerDefinition, "run"))

    def test_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Dry run: which conditions pass for an object, what each action would do."""
        obj = self._definition(request, object_id)
        model = _model_of(obj)
        if not self.has_view_permission(request, obj) or (
            model is not None and not request.user.has_perm(_perm(model, "view"))
        ):
            raise PermissionDenied
        form = ObjectForm(request.POST or None, model=model)
        result, shown, problem = None, None, ""
        trigger = _loaded(obj)
        if isinstance(trigger, str):
            problem = trigger
        elif request.method == "POST" and form.is_valid():
            try:
                from .dryrun import dry_run
            except ImportError:
                problem = str(_("Dry runs need triggers.dryrun, which is not installed."))
            else:
                instance, data = form.instance, form.cleaned_data["payload"]
                if model is not None and data is not None:
                    instance, data = _with_values(form, instance or model(), data), None
                if not form.errors:
                    with transaction.atomic():
                        result = dry_run(trigger, instance, data=data)
                        transaction.set_rollback(True)  # whatever it touched, nothing is kept
                    shown = _shown(result)
        return TemplateResponse(request, "admin/triggers/triggerdefinition/test.html",
                                self._context(request, _("Test %s") % obj.name, original=obj,
                                              form=form, result=result, shown=shown,
                                              problem=problem,
                                              can_run=self.can_run(request)))

    def run_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Run the trigger now for one object (or payload), ignoring its conditions."""
        obj = self._definition(request, object_id)
        if not self.can_run(request):
            raise PermissionDenied
        model = _model_of(obj)
        form = ObjectForm(request.POST or None, model=model)
        if request.method == "POST" and form.is_valid() and model is not None and (
            form.instance is None
        ):
            form.add_error("object_pk", _("Give the id of the object to run the trigger for."))
        if request.method == "POST" and not form.errors:
            trigger = _loaded(obj)
            if isinstance(trigger, str):
                self.message_user(request, trigger, messages.ERROR)
            else:
                payload = form.cleaned_data["payload"]
                instance = form.instance
                status = engine.execute(trigger.name, instance,
                                        data=payload if instance is None else None)
                definitions.audit("run", trigger.name, {
                    "object_pk": "" if instance is None else str(instance.pk),
                    "status": str(status),
                }, request.user)
                level = messages.SUCCESS if status in ("success", "vetoed") else messages.ERROR
                self.message_user(request, _("Ran %(name)s: %(status)s.")
                                  % {"name": trigger.name, "status": status}, level)
                return HttpResponseRedirect(reverse(
                    "admin:triggers_triggerdefinition_change", args=[obj.pk],
                    current_app=self.admin_site.name))
        return TemplateResponse(request, "admin/triggers/triggerdefinition/run.html",
                                self._context(request, _("Run %s now") % obj.name,
                                              original=obj, form=form))

    def all_triggers_view(self, request: HttpRequest) -> HttpResponse:
        """Every trigger, code and database, with its switch."""
        can_code = request.user.has_perm(_perm(TriggerSwitch, "change"))
        can_db = self.has_change_permission(request)
        if not (self.has_view_permission(request) or can_code
                or request.user.has_perm(_perm(TriggerSwitch, "view"))):
            raise PermissionDenied
        definitions.loader.sync()
        rows_by_name = dict(TriggerDefinition.objects.values_list("name", "pk"))
        states = switches.states()
        rows = []
        for trigger in sorted(trigger_registry, key=lambda t: (t.source, t.name)):
            database = trigger.source == "database"
            rows.append({
                "name": trigger.name, "source": trigger.source, "event": str(trigger.event),
                "model": trigger.model_label or ", ".join(trigger.event_types),
                "priority": str(trigger.priority),
                "enabled": states.get(trigger.name, trigger.enabled),
                "pk": rows_by_name.get(trigger.name) if database else None,
                "can_toggle": can_db if database else can_code,
                "problem": "",
            })
        for name, problem in definitions.loader.problems.items():
            rows.append({"name": name, "source": "database", "event": "", "model": "",
                         "priority": "", "enabled": False, "pk": rows_by_name.get(name),
                         "can_toggle": False, "problem": problem})
        return TemplateResponse(request, "admin/triggers/triggerdefinition/all.html",
                                self._context(request, _("All triggers"), rows=rows))

    def toggle_view(self, request: HttpRequest) -> HttpResponse:
        return require_POST(self._toggle)(request)

    def _toggle(self, request: HttpRequest) -> HttpResponse:
        name = request.POST.get("name", "")
        enabled = request.POST.get("enabled") == "1"
        can_code = request.user.has_perm(_perm(TriggerSwitch, "change"))
        can_db = self.has_change_permission(request)
        if not (can_code or can_db):
            raise PermissionDenied
        trigger = trigger_registry.get(name)
        if trigger is None:
            raise Http404(_("No such trigger."))
        if not (can_db if trigger.source == "database" else can_code):
            raise PermissionDenied
        trigger_registry.set_enabled(name, enabled, request.user)
        self.message_user(request, _("%(name)s is now %(state)s.") % {
            "name": name, "state": _("enabled") if enabled else _("disabled")}, messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:triggers_triggerdefinition_all",
                                            current_app=self.admin_site.name))

    def dashboard_view(self, request: HttpRequest) -> HttpResponse:
        """Totals, executions per hour and per day (SVG), the slowest and most failing."""
        if not request.user.has_perm(_perm(TriggerExecution, "view")):
            raise PermissionDenied
        return TemplateResponse(request, "admin/triggers/triggerdefinition/dashboard.html",
                                self._context(request, _("Trigger dashboard"),
                                              figures=dashboard.figures()))


def _audit_deleted(spec: dict[str, Any], actor: Any) -> None:
    definitions.audit("delete", spec["name"], definitions.diff(spec, None), actor)


def _copy_name(name: str) -> str:
    for n in range(1, 1000):
        suffix = " (copy)" if n == 1 else f" (copy {n})"
        candidate = name[:200 - len(suffix)] + suffix
        if candidate not in trigger_registry and not TriggerDefinition.objects.filter(
            name=candidate
        ).exists():
            return candidate
    raise ValidationError(_("Too many copies of %s.") % name)


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str, ensure_ascii=False)


def _shown(result: dict[str, Any]) -> dict[str, Any]:
    """The dry run's values as JSON text, for the template."""
    return {
        **result,
        "conditions": [{**c, "actual": _json(c["actual"]), "expected": _json(c["expected"])}
                       for c in result["conditions"]],
        "actions": [{**a, "preview": json.dumps(a["preview"], indent=2, default=str,
                                                ensure_ascii=False)}
                    for a in result["actions"]],
    }


def _with_values(form: ObjectForm, instance: Any, values: Any) -> Any:
    """``instance`` with the field values of the payload set (in memory only), so that a dry
    run sees them as changes; problems go to the form's payload field."""
    if not isinstance(values, dict):
        form.add_error("payload", _('Give an object of field values, e.g. {"status": "x"}.'))
        return instance
    for name, value in values.items():
        try:
            field = instance._meta.get_field(name)
            if not field.concrete or field.many_to_many:
                raise ValueError(name)
            setattr(instance, field.attname, field.to_python(value))
        except (FieldDoesNotExist, ValueError, ValidationError):
            form.add_error("payload", _("%(model)s has no field %(name)r that a test can set.")
                           % {"model": instance._meta.label, "name": name})
    return instance


def _model_of(obj: TriggerDefinition) -> Any:
    if obj.event == TriggerEvent.CUSTOM or not obj.model:
        return None
    try:
        return resolve_model(obj.model)
    except UnknownModel:
        return None


def _loaded(obj: TriggerDefinition) -> Any:
    """The compiled trigger of ``obj``, or why it is not loaded."""
    definitions.loader.sync()
    trigger = trigger_registry.get(obj.name)
    if trigger is None or trigger.source != "database":
        definitions.reload()
        trigger = trigger_registry.get(obj.name)
    if trigger is None or trigger.source != "database":
        return str(definitions.loader.problems.get(obj.name)
                   or _("The trigger is not loaded yet; try again in a moment."))
    return trigger


# The execution log, switches and the audit trail -----------------------------------------


@admin.register(TriggerExecution)
class TriggerExecutionAdmin(admin.ModelAdmin):
    """The execution log: read-only."""

    list_display = ("started_at", "trigger_name", "status", "event", "model", "object_pk",
                    "duration_ms", "user")
    list_filter = ("status", "event", "trigger_name", "started_at")
    search_fields = ("trigger_name", "object_pk", "message", "error", "chain_id")
    date_hierarchy = "started_at"
    readonly_fields = [f.name for f in TriggerExecution._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(TriggerSwitch)
class TriggerSwitchAdmin(admin.ModelAdmin):
    """Stored enable/disable flags; ``__engine__`` switches the whole engine."""

    list_display = ("name", "enabled", "updated_at")
    list_editable = ("enabled",)
    search_fields = ("name",)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        switches.clear_cache()  # this process sees the change at once

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        switches.clear_cache()


@admin.register(TriggerAudit)
class TriggerAuditAdmin(admin.ModelAdmin):
    """Who changed which trigger: read-only, written by the app."""

    list_display = ("at", "action", "trigger_name", "actor")
    list_filter = ("action",)
    search_fields = ("trigger_name",)
    date_hierarchy = "at"
    fields = ("at", "action", "trigger_name", "actor", "changes_json")
    readonly_fields = fields

    @admin.display(description=_("changes"))
    def changes_json(self, obj: TriggerAudit) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.changes, indent=2, sort_keys=True,
                                                       default=str))

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
