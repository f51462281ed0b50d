"""Process A: ``python -m tests.propagation.driver create|disable`` changes the database
trigger ``NAME`` and exits; ``save`` saves an article in a process that serves no request and
prints the statuses of ``NAME``'s executions."""

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


def main(command: str) -> None:
    django.setup()
    from triggers import trigger_registry
    from triggers.definitions import save_spec
    from triggers.switches import switches

    if command == "create":
        save_spec(SPEC, actor="propagation driver")
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
        sys.exit(f"unknown command {command!r}; use create or disable")


if __name__ == "__main__":
    main(sys.argv[1])
