"""supabase-js in a browser, on a page from another origin, against the API through CORS.

The page is served from its own port on 127.0.0.1 (another origin than the live server's) with
the vendored supabase-js (``fixtures/supabase-js``, no network). It lists executions with a
count, filters with ``.contains()``, asks for CSV, calls a function, makes an update it rolls
back, and reads an error: each call sends the key in headers (``apikey``, ``Authorization``)
and so needs a CORS preflight, answered without a key; the count is read from the exposed
``Content-Range``. With the page's origin
no longer allowed, the same call fails in the browser.
"""

from __future__ import annotations

import datetime
import functools
import json
import shutil
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from django.utils import timezone

from triggers import apikeys
from triggers.models import TriggerExecution
from triggers.registry import trigger_registry

pytestmark = pytest.mark.django_db(transaction=True)

SUPABASE_JS = Path(__file__).parent / "fixtures" / "supabase-js" / "supabase.js"
TRIGGER = "sim_card_status_notification"  # a code trigger of the example project
PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>supabase-js on another origin</title>
<script src="supabase.js"></script>
<style>body { font: 14px sans-serif; margin: 2em; } pre { background: #f4f4f4; padding: 1em; }
</style></head>
<body><h1>supabase-js on another origin</h1><p id="where"></p><pre id="out">running…</pre>
<script>
const params = new URLSearchParams(location.hash.slice(1));
document.getElementById("where").textContent =
  `This page: ${location.origin}. The API: ${params.get("api")}/rest/v1/`;
const client = supabase.createClient(params.get("api"), params.get("key"), {
  auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
});
const run = async (query) => {
  const { data, count, error, status } = await query;
  return { data, count, status, error: error && { code: error.code, message: error.message } };
};
(async () => {
  const result = {};
  result.list = await run(client.from("trigger_executions")
    .select("id,trigger_name,status", { count: "exact" })
    .eq("status", "failed").order("id").range(0, 1).retry(false));
  if (params.get("only") !== "list") {
    result.contains = await run(client.from("trigger_executions").select("trigger_name")
      .contains("changed_fields", ["title"]).order("id"));
    result.csv = await run(client.from("trigger_executions").select("trigger_name")
      .order("id").csv());
    result.rpc = await run(client.rpc("trigger_engine_status"));
    result.update = await run(client.from("triggers").update({ enabled: false })
      .eq("name", params.get("trigger")).select("name,enabled").rollback());
    result.error = await run(client.from("trigger_executions").select("nope"));
  }
  document.getElementById("out").textContent = JSON.stringify(result, null, 2);
  window.result = result;
})().catch((failure) => { window.result = { failure: String(failure) }; });
</script></body></html>
"""


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def other_origin(tmp_path: Path) -> Iterator[str]:
    """The page and supabase-js, served from their own port on 127.0.0.1."""
    site = tmp_path / "site"
    site.mkdir()
    shutil.copy(SUPABASE_JS, site / "supabase.js")
    (site / "index.html").write_text(PAGE)
    server = ThreadingHTTPServer(("127.0.0.1", 0),
                                 functools.partial(QuietHandler, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture
def executions(db) -> None:
    now = timezone.now()
    for i, (status, changed) in enumerate([("failed", ["status"]), ("failed", ["title"]),
                                           ("success", ["title"]), ("failed", [])]):
        TriggerExecution.objects.create(
            trigger_name=f"run-{i}", event="post_save", status=status, changed_fields=changed,
            started_at=now - datetime.timedelta(minutes=i))


def open_page(page: Any, origin: str, api: str, key: str, **extra: str) -> dict[str, Any]:
    page.goto(f"{origin}/index.html#" + urlencode({"api": api, "key": key,
                                                    "trigger": TRIGGER, **extra}))
    page.wait_for_function("window.result !== undefined")
    return page.evaluate("window.result")


def test_supabase_js_gets_rows_and_a_count_through_cors(live_server, page, other_origin,
                                                        executions, settings, artifacts):
    key = apikeys.create_key("browser page")[1]
    settings.CORS_ALLOWED_ORIGINS = [other_origin]
    assert other_origin != live_server.url

    result = open_page(page, other_origin, live_server.url, key)
    page.screenshot(path=str(artifacts / "supabase-js-cors.png"), full_page=True)

    assert "failure" not in result, result
    listed = result["list"]
    assert listed["error"] is None, listed
    assert listed["count"] == 3  # read from Content-Range, which CORS exposes
    assert [row["trigger_name"] for row in listed["data"]] == ["run-0", "run-1"]
    assert listed["status"] == 206

    assert [row["trigger_name"] for row in result["contains"]["data"]] == ["run-1", "run-2"]
    assert result["csv"]["data"] == "trigger_name\nrun-0\nrun-1\nrun-2\nrun-3"
    assert result["rpc"]["data"]["engine_enabled"] is True
    assert result["update"]["data"] == [{"name": TRIGGER, "enabled": False}]
    assert trigger_registry.is_enabled(TRIGGER)  # rolled back
    assert result["error"]["error"]["code"] == "42703"  # the error body is readable too
    assert result["error"]["status"] == 400


def test_an_origin_that_is_not_allowed_is_refused_by_the_browser(live_server, page,
                                                                 other_origin, executions,
                                                                 settings):
    key = apikeys.create_key("browser page")[1]
    settings.CORS_ALLOWED_ORIGINS = ["https://somewhere.else.example"]

    result = open_page(page, other_origin, live_server.url, key, only="list")

    assert result["list"]["data"] is None
    assert "Failed to fetch" in json.dumps(result["list"]["error"])
