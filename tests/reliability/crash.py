"""``python -m tests.reliability.crash MODE MARKER``: save an article with an async trigger and
die (``os._exit``, no cleanup) right after the change is committed.

- ``on_commit``: the save is in a transaction, and the callback that ends the process is
  registered before the save, so it runs first when the transaction commits: the execution
  row is committed, the hand-off registered by the save never runs. A callback registered
  after the save would write ``MARKER``; the test checks that it did not.
- ``autocommit``: the save is outside any transaction (Django's default), and a ``post_save``
  receiver connected before the trigger engine's ends the process: the change is committed,
  the engine's receiver (which writes the execution row) never runs.
"""

import os
import sys

import django

EXIT_CODE = 17
TITLE = "crash after commit"


def die(sender, instance, **kwargs) -> None:
    if instance.title == TITLE:
        os._exit(EXIT_CODE)


def main(mode: str, marker: str) -> None:
    if mode == "autocommit":
        from django.db.models.signals import post_save

        # a lazy sender connects when the model class is prepared, before the engine wires it
        post_save.connect(die, sender="testapp.Article", weak=False)
    django.setup()
    from django.db import transaction

    from tests.testapp.models import Article

    if mode == "autocommit":
        Article.objects.create(title=TITLE)
    else:
        with transaction.atomic():
            transaction.on_commit(lambda: os._exit(EXIT_CODE))
            Article.objects.create(title=TITLE)
            transaction.on_commit(lambda: open(marker, "w").close())
    sys.exit("the process outlived its commit")


if __name__ == "__main__":
    main(*sys.argv[1:])
