"""``python manage.py triggers <subcommand>``: list, export, import and test triggers, sweep
the delivery queue, manage API keys.

Each subcommand has an ``add_<name>_arguments(parser)`` method declaring its options and a
``handle_<name>(**options)`` method doing the work; ``add_arguments`` lists the subcommands.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import close_old_connections, connections

from ... import config, definitions
from ...choices import TriggerEvent
from ...dryrun import dry_run
from ...registry import trigger_registry

logger = logging.getLogger("triggers.delivery")


class Command(BaseCommand):
    help = "List, export, import and test triggers; sweep the delivery queue; API keys."

    #: (name, help) of each subcommand, in the order ``--help`` shows them.
    subcommands = (
        ("list", "List every trigger, code and database, with its event, model and state."),
        ("export", "Write the configuration document (JSON) to a file or to stdout."),
        ("import", "Create or update database triggers from a configuration document."),
        ("test", "Show, without running anything, what a trigger would do for an object."),
        ("sweep", "Hand async executions no backend took (or whose worker died) to the "
                  "backend; --loop keeps sweeping."),
        ("apikey", "Create, list and revoke keys for the management API (/rest/v1/)."),
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", metavar="subcommand", required=True)
        for name, help_text in self.subcommands:
            subparser = sub.add_parser(name, help=help_text, description=help_text)
            getattr(self, f"add_{name}_arguments")(subparser)

    def handle(self, *args: Any, subcommand: str, **options: Any) -> None:
        getattr(self, f"handle_{subcommand}")(**options)

    # list ------------------------------------------------------------------------------

    def add_list_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="Print JSON instead of a table.")

    def handle_list(self, **options: Any) -> None:
        definitions.reload()
        triggers = sorted(trigger_registry, key=lambda t: t.name)
        rows = []
        for trigger in triggers:
            rows.append({
                "name": trigger.name,
                "source": trigger.source,
                "event": str(trigger.event),
                "model": trigger.model_label,
                "event_types": list(trigger.event_types),
                "enabled": trigger_registry.is_enabled(trigger.name),
                "priority": str(trigger.priority),
            })
        if options["json"]:
            self.stdout.write(json.dumps(rows, indent=2))
            return
        if not rows:
            self.stdout.write("No triggers.")
            return
        table = [("NAME", "SOURCE", "EVENT", "MODEL", "ENABLED", "PRIORITY")]
        for trigger, row in zip(triggers, rows, strict=True):
            target = trigger.model_label if trigger.event is not TriggerEvent.CUSTOM else (
                ", ".join(trigger.event_types))
            table.append((trigger.name, trigger.source, str(trigger.event), target,
                          "yes" if row["enabled"] else "no", str(trigger.priority)))
        widths = [max(len(line[i]) for line in table) for i in range(len(table[0]))]
        for line in table:
            cells = (c.ljust(w) for c, w in zip(line, widths, strict=True))
            self.stdout.write("  ".join(cells).rstrip())
        for name, problem in sorted(definitions.loader.problems.items()):
            self.stderr.write(f"Database trigger {name!r} is not loaded: {problem}")

    # export ----------------------------------------------------------------------------

    def add_export_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--output", "-o", metavar="FILE",
                            help="Write to FILE instead of stdout.")
        parser.add_argument("--no-code", action="store_true",
                            help="Leave out the (read-only) code triggers.")

    def handle_export(self, **options: Any) -> None:
        document = config.export_document(include_code=not options["no_code"])
        text = config.dumps(document)
        if options["output"]:
            with open(options["output"], "w", encoding="utf-8") as out:
                out.write(text)
            self.stderr.write(f"Wrote {len(document['triggers'])} trigger(s) to "
                              f"{options['output']}.")
        else:
            self.stdout.write(text, ending="")

    # import ----------------------------------------------------------------------------

    def add_import_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", metavar="FILE", help="The JSON document ('-' for stdin).")
        parser.add_argument("--dry-run", action="store_true",
                            help="Show what would change; write nothing.")
        parser.add_argument("--prune", action="store_true",
                            help="Delete the database triggers the document does not name.")
        parser.add_argument("--actor", default="manage.py",
                            help="Who the audit entries name (default: manage.py).")

    def handle_import(self, **options: Any) -> None:
        path = options["file"]
        try:
            if path == "-":
                text = sys.stdin.read()
            else:
                with open(path, encoding="utf-8") as source:
                    text = source.read()
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}.") from None
        try:
            document = json.loads(text)
        except ValueError as exc:
            raise CommandError(f"{path} is not JSON: {exc}.") from None
        report = config.import_document(document, dry_run=options["dry_run"],
                                        prune=options["prune"], actor=options["actor"])
        if report.errors:
            for error in report.errors:
                self.stderr.write(str(error))
            raise CommandError(f"{path}: {len(report.errors)} error(s); nothing was imported.")
        verb = "Would be" if report.dry_run else ""
        for label, names in (("created", report.created), ("updated", report.updated),
                             ("unchanged", report.unchanged), ("deleted", report.deleted),
                             ("skipped (code triggers)", report.skipped)):
            title = f"{verb} {label}".strip().capitalize()
            self.stdout.write(f"{title}: {len(names)}")
            for name in names:
                self.stdout.write(f"  {name}")
        if report.dry_run:
            self.stdout.write("Dry run: nothing was written.")

    # test ------------------------------------------------------------------------------

    def add_test_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", metavar="NAME", help="The trigger's name.")
        parser.add_argument("--pk", help="The primary key of the object to test with.")
        parser.add_argument("--data", metavar="JSON",
                            help="An event payload (a JSON object), for custom events or "
                                 "payload tests.")
        parser.add_argument("--event", help="Another event (for custom-event triggers: the "
                                            "event type) to test with.")
        parser.add_argument("--json", action="store_true", help="Print the result as JSON.")

    def handle_test(self, **options: Any) -> None:
        definitions.reload()
        name = options["name"]
        trigger = trigger_registry.get(name)
        if trigger is None:
            raise CommandError(f"No trigger is called {name!r}; see 'manage.py triggers list'.")
        data = None
        if options["data"] is not None:
            try:
                data = json.loads(options["data"])
            except ValueError as exc:
                raise CommandError(f"--data is not JSON: {exc}.") from None
            if not isinstance(data, dict):
                raise CommandError('--data must be a JSON object, e.g. \'{"id": 1}\'.')
        instance = None
        if options["pk"] is not None:
            if trigger.model_class is None:
                raise CommandError(f"{name!r} has no model to load --pk from; give --data.")
            model = trigger.model_class
            try:
                instance = model._default_manager.get(pk=options["pk"])
            except (ObjectDoesNotExist, ValueError) as exc:
                raise CommandError(f"No {model._meta.label} has the primary key "
                                   f"{options['pk']!r}.") from exc
        elif data is None and trigger.event is not TriggerEvent.CUSTOM:
            raise CommandError("Give --pk PK (an object to test with) or --data JSON.")
        try:
            result = dry_run(trigger, instance, data=data, event=options["event"])
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        if options["json"]:
            self.stdout.write(json.dumps(result, indent=2))
        else:
            self._print_result(result)

    # sweep -----------------------------------------------------------------------------

    def add_sweep_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--loop", action="store_true",
                            help="Keep sweeping every --interval seconds until interrupted.")
        parser.add_argument("--interval", type=float, default=10.0,
                            help="Seconds between sweeps with --loop (default 10).")
        parser.add_argument("--limit", type=int, default=500,
                            help="Most executions handed over per sweep (default 500).")
        parser.add_argument("--count", type=int, default=0,
                            help="With --loop: stop after this many sweeps (0: never).")

    def handle_sweep(self, **options: Any) -> None:
        from ...delivery import sweep

        done = 0
        while True:
            if not options["loop"]:
                swept = sweep(limit=options["limit"])
                self.stdout.write(f"{swept.handed} execution(s) handed to the backend")
                if swept.failed:
                    raise CommandError(f"{swept.failed} execution(s) could not be handed to the "
                                       "backend (is its broker reachable?); they stay pending.")
                return
            close_old_connections()
            try:  # a lost connection or a lock timeout must not end the loop
                swept = sweep(limit=options["limit"])
            except Exception as exc:
                logger.exception("The sweep failed; trying again in %s s", options["interval"])
                self.stderr.write(f"The sweep failed ({type(exc).__name__}: {exc}); "
                                  f"trying again in {options['interval']} s")
                connections.close_all()
            else:
                self.stdout.write(f"{swept.handed} execution(s) handed to the backend")
                if swept.failed:
                    self.stderr.write(f"{swept.failed} execution(s) could not be handed to the "
                                      "backend; trying again at the next sweep")
            done += 1
            if options["count"] and done >= options["count"]:
                return
            time.sleep(options["interval"])

    # apikey ----------------------------------------------------------------------------

    def add_apikey_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="apikey_action", metavar="action", required=True)
        create = actions.add_parser("create", help="Make a key and print it (only this once).")
        create.add_argument("--name", required=True, help="Who or what will use the key.")
        create.add_argument("--read-only", action="store_true",
                            help="The key may only read (GET and HEAD requests).")
        listing = actions.add_parser("list", help="List the keys (never the keys themselves).")
        listing.add_argument("--all", action="store_true", help="Include revoked keys.")
        revoke = actions.add_parser("revoke", help="Revoke a key: it stops working at once.")
        revoke.add_argument("key", metavar="PREFIX", help="The key's prefix (see 'list'), or "
                                                          "the whole key.")

    def handle_apikey(self, **options: Any) -> None:
        from ... import apikeys as keys
        from ...models import TriggerAPIKey

        action = options["apikey_action"]
        if action == "create":
            try:
                row, key = keys.create_key(options["name"], read_only=options["read_only"])
            except ValueError as exc:
                raise CommandError(str(exc)) from None
            kind = "read-only" if row.read_only else "read-write"
            self.stderr.write(f"Created the {kind} API key {row.name!r} (prefix {row.prefix}). "
                              "It is shown only now; store it safely:")
            self.stdout.write(key)
        elif action == "list":
            rows = TriggerAPIKey.objects.all()
            if not options["all"]:
                rows = rows.filter(revoked_at__isnull=True)
            if not rows:
                self.stdout.write("No API keys.")
                return
            for row in rows:
                used = f"{row.last_used_at:%Y-%m-%d %H:%M}" if row.last_used_at else "never"
                state = f"revoked {row.revoked_at:%Y-%m-%d %H:%M}" if row.revoked_at else "active"
                self.stdout.write(f"{row.prefix}  {'read-only ' if row.read_only else 'read-write'}"
                                  f"  {state}  last used {used}  {row.name}")
        else:
            given = options["key"].strip()
            prefix = (keys.split_key(given) or (given, ""))[0]
            row = TriggerAPIKey.objects.filter(prefix=prefix).first()
            if row is None:
                raise CommandError(f"No API key has the prefix {prefix!r}; see "
                                   "'manage.py triggers apikey list'.")
            if keys.revoke(row):
                self.stdout.write(f"Revoked the API key {row.name!r} ({row.prefix}).")
            else:
                self.stdout.write(f"The API key {row.name!r} ({row.prefix}) was already "
                                  "revoked.")

    def _print_result(self, result: dict[str, Any]) -> None:
        write = self.stdout.write
        target = result["model"] or result["event_type"]
        pk = f" pk={result['object_pk']}" if result["object_pk"] is not None else ""
        verdict = "WOULD FIRE" if result["matched"] else "would not fire"
        write(f"Trigger {result['trigger']!r}: {result['event']} {target}{pk}: {verdict}")
        if not result["enabled"]:
            write("  (the trigger is disabled, so it would not run at all)")
        if result["changes"]:
            write("Changes:")
            for field, change in result["changes"].items():
                write(f"  {field}: {_show(change['old'])} -> {_show(change['new'])}")
        write(f"Field filter: {'pass' if result['fields'] else 'FAIL'}")
        if not result["event_type_matched"]:
            write(f"Event type {result['event_type']!r} does not match the trigger's types.")
        if result["conditions"]:
            write("Conditions:")
            for c in result["conditions"]:
                mark = "pass" if c["passed"] else "FAIL"
                actual = c["actual"]
                if isinstance(actual, dict) and set(actual) == {"old", "new", "changed"}:
                    shown = f"old={_show(actual['old'])} new={_show(actual['new'])}"
                elif c.get("missing"):
                    shown = "actual=(missing)"
                else:
                    shown = f"actual={_show(actual)}"
                write(f"  [{mark}] {c['path']}: {c['description']}  ({shown})")
                if c.get("error"):
                    write(f"         {c['error']}")
        else:
            write("Conditions: none")
        if result.get("error"):
            write(f"Error: {result['error']}")
        write("Actions (not run):")
        for i, action in enumerate(result["actions"], 1):
            write(f"  {i}. {action['description']}")
            if action["preview"] is not None:
                write(f"     -> {_show(action['preview'])}")


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=repr)
