"""The custom pages of the database-trigger admin: Test (a dry run), Run now, All triggers
(with each trigger's switch) and the dashboard.

``TriggerPages`` is mixed into ``TriggerDefinitionAdmin``, which adds ``page_urls()`` to its
own. Every page goes through ``admin_site.admin_view`` and checks its own permission; the pages
that change something accept only POST (with Django's CSRF check).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import FieldDoesNotExist, PermissionDenied, ValidationError
from django.db import models, transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from .. import dashboard, definitions
from ..choices import TriggerEvent
from ..definitions import store
from ..engine import engine
from ..exceptions import UnknownModel
from ..models import TriggerDefinition, TriggerExecution, TriggerSwitch
from ..registry import resolve_model, trigger_registry
from ..switches import switches
from .forms import ObjectForm

TEMPLATES = "admin/triggers/triggerdefinition"

if TYPE_CHECKING:
    _ModelAdmin = admin.ModelAdmin  # what the mixin is mixed into, for the type checker
else:
    _ModelAdmin = object


def perm(model: type[models.Model], action: str) -> str:
    """The name of the permission to ``action`` (view, change, run, ...) ``model``."""
    return f"{model._meta.app_label}.{action}_{model._meta.model_name}"


class TriggerPages(_ModelAdmin):
    """The views of the custom pages, for a ``ModelAdmin`` of ``TriggerDefinition``."""

    def page_urls(self) -> list[Any]:
        prefix = f"{self.opts.app_label}_{self.opts.model_name}"
        wrap = self.admin_site.admin_view
        return [
            path("all/", wrap(self.all_triggers_view), name=f"{prefix}_all"),
            path("all/toggle/", wrap(self.toggle_view), name=f"{prefix}_toggle"),
            path("dashboard/", wrap(self.dashboard_view), name=f"{prefix}_dashboard"),
            path("<path:object_id>/test/", wrap(self.test_view), name=f"{prefix}_test"),
            path("<path:object_id>/run/", wrap(self.run_view), name=f"{prefix}_run"),
        ]

    def _context(self, request: HttpRequest, title: str | Promise, **extra: Any
                 ) -> dict[str, Any]:
        return {**self.admin_site.each_context(request), "opts": self.opts, "title": title,
                **extra}

    def _definition(self, request: HttpRequest, object_id: str) -> TriggerDefinition:
        if not self.has_view_permission(request):
            raise PermissionDenied
        obj = self.get_object(request, object_id)
        if obj is None:
            raise Http404(_("No such trigger."))
        return obj

    def _object_form_context(self, request: HttpRequest, model: Any) -> dict[str, Any]:
        """The lookup of the object id (as for ``raw_id_fields``): the model's list in a
        popup, where a click on an object fills in its id."""
        if model is None or not self.admin_site.is_registered(model) or not (
            request.user.has_perm(perm(model, "view"))
            or request.user.has_perm(perm(model, "change"))
        ):
            return {}
        lookup = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist",
                         current_app=self.admin_site.name)
        extra = "" if settings.DEBUG else ".min"
        media = forms.Media(js=[f"admin/js/vendor/jquery/jquery{extra}.js",
                                "admin/js/jquery.init.js",
                                "admin/js/admin/RelatedObjectLookups.js"])
        return {"lookup_url": lookup, "media": media}

    def can_run(self, request: HttpRequest) -> bool:
        return request.user.has_perm(perm(TriggerDefinition, "run"))

    def test_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Dry run: which conditions pass for an object, what each action would do."""
        obj = self._definition(request, object_id)
        model = _model_of(obj)
        if not self.has_view_permission(request, obj) or (
            model is not None and not request.user.has_perm(perm(model, "view"))
        ):
            raise PermissionDenied
        form = ObjectForm(request.POST or None, model=model)
        result, shown, problem = None, None, ""
        trigger = _loaded(obj)
        if isinstance(trigger, str):
            problem = trigger
        elif request.method == "POST" and form.is_valid():
            try:
                from ..dryrun import dry_run
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
        return TemplateResponse(request, f"{TEMPLATES}/test.html",
                                self._context(request, _("Test %s") % obj.name, original=obj,
                                              form=form, result=result, shown=shown,
                                              problem=problem,
                                              can_run=self.can_run(request),
                                              **self._object_form_context(request, model)))

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
                store.audit("run", trigger.name, {
                    "object_pk": "" if instance is None else str(instance.pk),
                    "status": str(status),
                }, request.user)
                level = messages.SUCCESS if status in ("success", "vetoed") else messages.ERROR
                self.message_user(request, _("Ran %(name)s: %(status)s.")
                                  % {"name": trigger.name, "status": status}, level)
                return HttpResponseRedirect(reverse(
                    "admin:triggers_triggerdefinition_change", args=[obj.pk],
                    current_app=self.admin_site.name))
        return TemplateResponse(request, f"{TEMPLATES}/run.html",
                                self._context(request, _("Run %s now") % obj.name,
                                              original=obj, form=form,
                                              **self._object_form_context(request, model)))

    def all_triggers_view(self, request: HttpRequest) -> HttpResponse:
        """Every trigger, code and database, with its switch."""
        can_code = request.user.has_perm(perm(TriggerSwitch, "change"))
        can_db = self.has_change_permission(request)
        if not (self.has_view_permission(request) or can_code
                or request.user.has_perm(perm(TriggerSwitch, "view"))):
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
        return TemplateResponse(request, f"{TEMPLATES}/all.html",
                                self._context(request, _("All triggers"), rows=rows))

    def toggle_view(self, request: HttpRequest) -> HttpResponse:
        return require_POST(self._toggle)(request)

    def _toggle(self, request: HttpRequest) -> HttpResponse:
        name = request.POST.get("name", "")
        enabled = request.POST.get("enabled") == "1"
        can_code = request.user.has_perm(perm(TriggerSwitch, "change"))
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
        """Totals, executions per hour and per day (SVG), the slowest and most failing; of
        one trigger with ``?trigger=<name>``."""
        if not request.user.has_perm(perm(TriggerExecution, "view")):
            raise PermissionDenied
        name = request.GET.get("trigger", "").strip() or None
        title = _("Trigger dashboard") if name is None else _("Dashboard of %s") % name
        return TemplateResponse(request, f"{TEMPLATES}/dashboard.html",
                                self._context(request, title, trigger_name=name,
                                              figures=dashboard.figures(trigger_name=name)))


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
