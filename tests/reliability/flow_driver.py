"""One process of the flow-control tests: ``python -m tests.reliability.flow_driver <scenario>
<index> <start at> <work dir>`` waits until ``start at`` (seconds since the epoch, the same for
every process), sends its events, and prints how many it sent. Scenarios:

``rate``
    saves article ``ARTICLES[index]`` 25 times (the test's database triggers on Article fire
    once per save);
``cooldown``
    emits ``flow.tick`` every 0.5 s for 5 s, starting ``index`` eighths of a second late;
``keys``
    saves each of the test's articles, and each shop inventory, 5 times (the trigger of
    ``instance.shop_id`` is declared here, in code);
``outage``
    emits ``flow.outage`` 5 times, writes ``phase1-<index>``, waits for ``go`` in the work
    dir (the test stops Redis in between), and emits 5 more.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import django

PER_SHOP = "flow.per-shop"


def main(scenario: str, index: int, start_at: float, workdir: Path) -> None:
    django.setup()
    import triggers
    from example_project.shops.models import ShopInventory
    from tests.testapp.models import Article

    triggers.post_save_trigger(ShopInventory, name=PER_SHOP, mode="inline", rate_limit="3/m",
                               limit_by="instance.shop_id")(lambda context: None)
    articles = list(Article.objects.order_by("pk"))
    time.sleep(max(0.0, start_at - time.time()))
    sent = 0
    if scenario == "rate":
        article = articles[index]
        for _ in range(25):
            article.views += 1
            article.save()
            sent += 1
    elif scenario == "cooldown":
        time.sleep(index / 8)
        first = time.monotonic()
        for tick in range(10):
            time.sleep(max(0.0, first + tick * 0.5 - time.monotonic()))
            triggers.emit("flow.tick", {"process": index, "tick": tick})
            sent += 1
    elif scenario == "keys":
        inventories = list(ShopInventory.objects.order_by("pk"))
        for _ in range(5):
            for instance in [*articles, *inventories]:
                instance.save()
                sent += 1
    elif scenario == "outage":
        for _ in range(5):
            sent += triggers.emit("flow.outage", {"phase": 1})
        (workdir / f"phase1-{index}").touch()
        deadline = time.monotonic() + 60
        while not (workdir / "go").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        for _ in range(5):
            sent += triggers.emit("flow.outage", {"phase": 2})
    else:
        sys.exit(f"unknown scenario {scenario!r}")
    print(f"sent {sent}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), Path(sys.argv[4]))
