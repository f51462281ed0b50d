"""The forms of the database-trigger admin: the definition form, its actions formset, and the
object form of the Test and Run now pages.

The definition and each action are checked with ``triggers.definitions`` (as an import checks
them), and every problem is put next to the field it concerns.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.forms.formsets import DELETION_FIELD_NAME
from django.forms.models import BaseInlineFormSet
from django.utils.translation import gettext_lazy as _

from .. import definitions
from ..actions.registry import ACTION_TYPES
from ..choices import TriggerEvent
from ..conf import allowed_model, allowed_models
from ..exceptions import UnknownModel
from ..models import TriggerDefinition
from ..registry import resolve_model

#: Checked in place of the inline actions when the main form is checked: the inline formset
#: reports the actions' own problems next to each action.
PLACEHOLDER_ACTIONS = [{"type": "log", "message": "placeholder"}]
EMPTY_JSON = {"event_types": list, "fields": list, "context_filters": dict}
JSON_WIDGET = {"widget": forms.Textarea(attrs={"rows": 3, "cols": 60,
                                                "class": "vLargeTextField"})}
#: Narrower in the table of actions, so that the table fits beside the sidebar.
INLINE_JSON_WIDGET = {"widget": forms.Textarea(attrs={"rows": 3, "cols": 50})}


def model_choices() -> list[tuple[str, str]]:
    """The models ``TRIGGER_MODELS`` allows, as choices of the definition's ``model``."""
    return [("", "---------")] + [(m._meta.label, m._meta.label)
                                  for m in allowed_models()]


def action_type_choices() -> list[tuple[str, str]]:
    """The built-in action types, as choices of an action's ``type``."""
    return [("", "---------")] + [(name, name) for name in ACTION_TYPES]


class TriggerDefinitionForm(forms.ModelForm):
    """Checks the definition with ``check_spec``; each problem goes next to its field."""

    class Meta:
        model = TriggerDefinition
        fields = "__all__"

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
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
        check, model = self._target(self.instance)
        kept = self.kept_forms()
        for form in kept:
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

    def kept_forms(self) -> list[Any]:
        """The forms of the actions kept: filled in and not marked for deletion."""
        return [form for form in self.forms
                if getattr(form, "cleaned_data", None)
                and not form.cleaned_data.get(DELETION_FIELD_NAME)
                and not (form.empty_permitted and not form.has_changed())]

    def actions(self) -> list[dict[str, Any]]:
        """The actions kept, as a definition lists them: in the order of their rows
        (``position``, then the existing ones first)."""
        def order(form: Any) -> tuple[int, float]:
            return form.cleaned_data["position"], form.instance.pk or float("inf")

        return [{"type": form.cleaned_data["type"], **(form.cleaned_data.get("config") or {})}
                for form in sorted(self.kept_forms(), key=order)]

    @staticmethod
    def _target(definition: TriggerDefinition) -> tuple[bool, Any]:
        """(whether to check the actions, the model to check them against)."""
        if definition.event == TriggerEvent.CUSTOM:
            return True, None
        try:
            model = resolve_model(definition.model)
        except UnknownModel:
            return False, None  # the main form reports the model
        return allowed_model(model), model


class OptionalJSONField(forms.JSONField):
    """A JSON field that shows nothing, rather than ``null``, until something is given."""

    def prepare_value(self, value: Any) -> Any:
        return "" if value is None else super().prepare_value(value)


class ObjectForm(forms.Form):
    """The object (or, for custom events, the payload) a trigger is tested or run with."""

    object_pk = forms.CharField(label=_("object id"), required=False, max_length=255,
                                widget=forms.TextInput(attrs={"size": 40}))
    payload = OptionalJSONField(
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
        if model is not None:
            self.fields["object_pk"].help_text = _(
                "The id (primary key) of a %(model)s: the magnifier beside looks it up in "
                "the admin, and it is in the address of the object's page."
            ) % {"model": model._meta.label}

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
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
