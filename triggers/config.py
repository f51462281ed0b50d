"""Export and import of the configuration document (``{"version": 1, "triggers": [...]}``).

The export lists every database trigger in the format ``check_spec`` accepts, with secrets
masked, and the code triggers for reference (``"source": "code", "read_only": true``). The
import checks the whole document first and writes nothing unless every entry is valid; then it
creates or replaces the rows of the named triggers through ``definitions.store`` in one
transaction, with an ``import`` audit entry for each one it changed. Rows the document does not
name are left alone, unless the import prunes them.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction

from .definitions import store
from .definitions.spec import HAS_NUL, MASK, SECRET_KEYS, check_spec, masked, spec_of
from .registry import trigger_registry

VERSION = 1
DOCUMENT_KEYS = ("version", "triggers")
#: Keys a document entry may have besides the definition's own.
ENTRY_MARKERS = ("source", "read_only")
CODE_KEYS = ("name", "description", "event", "model", "priority", "enabled")


@dataclass(frozen=True)
class EntryError:
    """A problem of the document (``index`` None) or of its entry ``index``."""

    index: int | None
    name: str
    message: str

    def __str__(self) -> str:
        if self.index is None:
            return self.message
        name = f" ({self.name!r})" if self.name else ""
        return f"triggers[{self.index}]{name}: {self.message}"


@dataclass
class ImportReport:
    """What an import changed (or, in a dry run, would change), by trigger name."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    errors: list[EntryError] = field(default_factory=list)
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run, "created": self.created, "updated": self.updated,
            "unchanged": self.unchanged, "skipped": self.skipped, "deleted": self.deleted,
            "errors": [{**asdict(e), "text": str(e)} for e in self.errors],
        }


# Export ----------------------------------------------------------------------------------


def export_document(*, include_code: bool = True) -> dict[str, Any]:
    """Every database trigger (secrets masked), then the code triggers marked read-only."""
    from .models import TriggerDefinition

    rows = TriggerDefinition.objects.prefetch_related("actions").order_by("name")
    entries = [masked(spec_of(row)) for row in rows]
    if include_code:
        code = sorted((t for t in trigger_registry if t.source != "database"),
                      key=lambda t: t.name)
        for trigger in code:
            described = {**trigger.describe(),
                         "enabled": trigger_registry.is_enabled(trigger.name)}
            entry = {key: described[key] for key in CODE_KEYS}
            if trigger.event_types:
                entry["event_types"] = list(trigger.event_types)
            if trigger.limits is not None:
                entry.update(trigger.flow_control)
            entries.append({**entry, "source": "code", "read_only": True})
    return {"version": VERSION, "triggers": entries}


def dumps(document: dict[str, Any]) -> str:
    """The document as JSON text, indented by 2, as the export command writes it."""
    return json.dumps(document, indent=2, ensure_ascii=False, cls=DjangoJSONEncoder) + "\n"


# Import ----------------------------------------------------------------------------------


def import_document(doc: Any, *, dry_run: bool = False, prune: bool = False,
                    actor: Any = None) -> ImportReport:
    """Check the whole document, then create or update its database triggers in one transaction.

    With any error nothing is written and the report lists every error, each naming the entry
    (index and name). Entries marked ``"source": "code"`` are skipped. With ``prune``, database
    triggers the document does not name are deleted, so that the database matches the
    document. With ``dry_run`` the report says what would change and nothing is written.
    """
    from .models import TriggerDefinition

    report = ImportReport(dry_run=dry_run)
    entries = _entries(doc, report)
    with transaction.atomic():
        rows = TriggerDefinition.objects.filter(name__in=[name for _i, name, _e in entries])
        if not dry_run and not report.errors:
            rows = rows.select_for_update()
        existing = {row.name: row for row in rows.prefetch_related("actions")}
        plan = []
        for index, name, entry in entries:
            before = spec_of(existing[name]) if name in existing else None
            entry, problems = _unmask(entry, before)
            clean, found = check_spec(entry) if not problems else (None, [])
            problems.extend(p.message for p in found)
            report.errors.extend(EntryError(index, name, m) for m in problems)
            if clean is None:
                continue
            if before is None:
                report.created.append(name)
            elif _normal(before) == _normal(clean):
                report.unchanged.append(name)
                continue
            else:
                report.updated.append(name)
            plan.append((clean, existing.get(name)))
        if report.errors:
            report.errors.sort(key=lambda e: -1 if e.index is None else e.index)
            report.created, report.updated, report.unchanged = [], [], []
            return report
        stale = TriggerDefinition.objects.none()
        if prune:
            stale = TriggerDefinition.objects.exclude(name__in=[n for _i, n, _e in entries])
            report.deleted = sorted(stale.values_list("name", flat=True))
        if dry_run:
            return report
        for clean, row in plan:
            store.save_checked(clean, actor=actor, action="import", definition=row)
        store.delete(*stale.prefetch_related("actions"), actor=actor)
    return report


def _entries(doc: Any, report: ImportReport) -> list[tuple[int, str, dict[str, Any]]]:
    """The database entries ``(index, name, definition)``; records document problems, skipped
    code entries and duplicate names in ``report``."""
    def error(message: str, index: int | None = None, name: str = "") -> None:
        report.errors.append(EntryError(index, name, message))

    if not isinstance(doc, dict):
        error(f'The document is an object {{"version": {VERSION}, "triggers": [...]}}, not '
              f"{type(doc).__name__}.")
        return []
    for key in sorted(set(doc) - set(DOCUMENT_KEYS)):
        error(f"{key}: unknown key; a document has {', '.join(DOCUMENT_KEYS)}.")
    if doc.get("version") != VERSION:
        error(f"version: {doc.get('version')!r} is not a supported version; this version of "
              f"the app reads version {VERSION}.")
    triggers = doc.get("triggers")
    if not isinstance(triggers, list):
        error('triggers: give a list of trigger definitions (it may be empty).')
        return []
    entries: list[tuple[int, str, dict[str, Any]]] = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(triggers):
        if not isinstance(entry, dict):
            error(f"a trigger definition is an object, not {type(entry).__name__}.", index)
            continue
        raw_name = entry.get("name")
        name = raw_name.strip() if isinstance(raw_name, str) else ""
        if "\x00" in name:  # not even looked up: no database can store it
            error(f"name: {HAS_NUL}", index)
            continue
        if name in seen:
            error(f"the name {name!r} is also used by triggers[{seen[name]}]; names are "
                  "unique, so remove or rename one.", index, name)
            continue
        if name:
            seen[name] = index
        source = entry.get("source", "database")
        if source == "code":
            report.skipped.append(name or f"triggers[{index}]")
            continue
        if source != "database":
            error(f"source: {source!r} is not a source; use 'database' (or 'code' for "
                  "entries to skip).", index, name)
            continue
        definition = {k: v for k, v in entry.items() if k not in ENTRY_MARKERS}
        if entry.get("read_only"):
            error("read_only: a database entry cannot be read-only; remove the key.", index,
                  name)
            continue
        entries.append((index, name, definition))
    return entries


def _unmask(entry: dict[str, Any], before: dict[str, Any] | None
            ) -> tuple[dict[str, Any], list[str]]:
    """Put back the stored secrets where the entry has the export's mask.

    A masked value is kept from the stored action at the same position and of the same type;
    without one it is an error (the export never contains the secret itself).
    """
    actions = entry.get("actions")
    if not isinstance(actions, list):
        return entry, []
    stored = (before or {}).get("actions") or []
    problems: list[str] = []
    restored = []
    for i, action in enumerate(actions):
        old = stored[i] if i < len(stored) else None
        if isinstance(action, dict) and isinstance(old, dict) and (
            old.get("type") != action.get("type")
        ):
            old = None
        restored.append(_restore(action, old, f"actions[{i}]", problems))
    return {**entry, "actions": restored}, problems


def _restore(value: Any, stored: Any, where: str, problems: list[str]) -> Any:
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            old = stored.get(key) if isinstance(stored, dict) else None
            if item == MASK and key.lower() in SECRET_KEYS:
                if old is None or old == MASK:
                    problems.append(
                        f"{where}.{key}: the value is masked ({MASK!r}) and no stored value "
                        "exists to keep; give the secret, or better a reference such as "
                        "'env:NAME'."
                    )
                out[key] = old
            else:
                out[key] = _restore(item, old, f"{where}.{key}", problems)
        return out
    if isinstance(value, list):
        olds = stored if isinstance(stored, list) else []
        return [_restore(v, olds[i] if i < len(olds) else None, f"{where}[{i}]", problems)
                for i, v in enumerate(value)]
    return value


def _normal(spec: dict[str, Any]) -> Any:
    """A definition as JSON would read it back, to compare stored and imported ones."""
    return json.loads(json.dumps(spec, cls=DjangoJSONEncoder, sort_keys=True))
