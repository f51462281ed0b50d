"""Process A: ``python -m tests.propagation.driver create|disable`` changes the database
trigger ``NAME`` and exits; ``save`` saves an article in a process that serves no request and
prints the statuses of ``NAME``'s executions; ``create-custom`` and ``emit`` do the same for the
custom-event trigger ``CUSTOM``, ``emit`` sending the event before any other database act."""

import sys

import django

NAME = "propagation.status-changed"
SPEC = {
    "name": NAME,
    "event": "post_save",
    "model": "testapp.Article",
    "conditions": {"field": "status", "operator": "changed"},
    "actions": [{"type": "log", "message": "article {{ instance.pk }} changed status"}],
}
CUSTOM = "propagation.shop-opened"
CUSTOM_SPEC = {"name": CUSTOM, "event": "custom", "event_types": ["shop.*"], "mode": "inline",
               "actions": [{"type": "log", "message": "shop {{ data.id }} opened"}]}


def main(command: str) -> None:
    django.setup()
    from triggers import trigger_registry
    from triggers.definitions import save_spec
    from triggers.switches import switches

    if command == "create":
        save_spec(SPEC, actor="propagation driver")
    elif command == "create-custom":
        save_spec(CUSTOM_SPEC, actor="propagation driver")
    elif command == "emit":
        import triggers
        from triggers.models import TriggerExecution

        reached = triggers.emit("shop.opened", {"id": 7})  # the process's first database act
        print(reached, list(TriggerExecution.objects.filter(trigger_name=CUSTOM)
                            .values_list("status", "message")))
    elif command == "save":
        from tests.testapp.models import Article
        from triggers.models import TriggerExecution

        article = Article.objects.create(title="from a command")  # nothing loaded before this
        article.status = "published"
        article.save()
        print(list(TriggerExecution.objects.filter(trigger_name=NAME, object_pk=article.pk)
                   .values_list("status", flat=True)))
    elif command == "disable":
        switches.states()  # loads the database triggers, as a first request or save does
        trigger_registry.set_enabled(NAME, False, actor="propagation driver")
    else:
        sys.exit(f"unknown command {command!r}; use create, create-custom, save, emit or "
                 "disable")


if __name__ == "__main__":
    main(sys.argv[1])
