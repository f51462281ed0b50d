"""The newcomer's walkthrough of ``make demo``, in a browser, against the example project.

What ``make demo PORT=...`` does, in a subprocess on a temporary SQLite file and a free port:
``migrate``, ``demo_data --port``, ``runserver``. Then, as the admin user ``demo_data`` prints:
create a database trigger on a SimCard field, test it on an existing SimCard (the Test page,
a dry run), change that SimCard, and see the execution in the log and on the dashboard.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from tests.services import free_port

REPO = Path(__file__).resolve().parents[2]

TRIGGER = "sim-card-blocked"
SERIAL = "8925400000000000002"  # an ACTIVE card demo_data makes and leaves alone
CONDITIONS = '{"field": "status", "operator": "changed_to", "value": "BLOCKED"}'
MESSAGE = '{"message": "SIM {{ instance.serial_number }} blocked, was {{ old.status }}"}'


class DemoServer:
    """The example project as ``make demo`` runs it, on its own SQLite file and port."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # Never the suite's database: the example project uses DATABASE_URL when it is set.
        self.env = {key: value for key, value in os.environ.items()
                    if key not in ("DATABASE_URL", "DJANGO_ALLOW_ASYNC_UNSAFE")}
        self.env.update(DJANGO_SETTINGS_MODULE="example_project.settings",
                        EXAMPLE_DB=str(directory / "example.sqlite3"), PYTHONUNBUFFERED="1")
        self.process: subprocess.Popen | None = None
        self.log = directory / "runserver.log"

    def manage(self, *args: str) -> str:
        done = subprocess.run([sys.executable, "manage.py", *args], cwd=REPO, env=self.env,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, f"manage.py {' '.join(args)}:\n{done.stdout}{done.stderr}"
        return done.stdout

    def start(self, timeout: float = 30.0) -> None:
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "manage.py", "runserver", "--noreload",
                 f"127.0.0.1:{self.port}"],
                cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"runserver exited:\n{self.log.read_text()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.1)
        raise AssertionError(f"runserver did not answer in {timeout} s:\n{self.log.read_text()}")

    def stop(self) -> None:
        """Stop the server process by its id."""
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None


@pytest.fixture
def demo(tmp_path):
    server = DemoServer(tmp_path)
    server.manage("migrate", "--noinput")
    # as `make demo PORT=...` runs it: the demo's webhook goes to this server
    printed = server.manage("demo_data", "--port", str(server.port))
    server.start()
    try:
        yield server, printed
    finally:
        server.stop()


def test_a_newcomer_makes_tests_and_sees_a_trigger_fire(page, demo, artifacts):
    server, printed = demo
    # Log in with what `make demo` prints.
    found = re.search(r"Admin: (\S+)\s+user: (\S+)\s+password: (\S+)", printed)
    assert found, printed
    url, username, password = found.groups()
    assert url == f"{server.url}/admin/"  # the port it was given
    page.goto(url)
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    expect(page.locator("#content h1")).to_have_text("Site administration")

    # Create a trigger on a SimCard field.
    page.click("a[href$='/admin/triggers/triggerdefinition/']")
    page.click(".object-tools a.addlink")
    page.fill("#id_name", TRIGGER)
    page.select_option("#id_event", "post_save")
    page.select_option("#id_model", "sims.SimCard")
    page.fill("#id_fields", '["status"]')
    page.fill("#id_conditions", CONDITIONS)
    page.select_option("#id_actions-0-type", "log")
    page.fill("#id_actions-0-config", MESSAGE)
    page.click("input[name=_continue]")
    expect(page.locator(".messagelist .success")).to_contain_text("was added successfully")

    # Test it on an existing SimCard: look the card up, set the new status in memory.
    page.click("#content .object-tools a:text-is('Test')")
    expect(page.locator("#content h1")).to_have_text(f"Test {TRIGGER}")
    with page.expect_popup() as opened:
        page.click("#lookup_id_object_pk")
    popup = opened.value
    popup.fill("#searchbar", SERIAL)
    popup.press("#searchbar", "Enter")
    with popup.expect_event("close"):  # a click on the card fills its id in and closes
        # the popup may close before the click returns (seen under load): that is success
        with contextlib.suppress(PlaywrightError):
            popup.click(f"#result_list a:text-is('{SERIAL}')")
    card_id = page.input_value("#id_object_pk")
    assert re.fullmatch(r"[0-9a-f-]{36}", card_id), card_id
    page.fill("#id_payload", '{"status": "BLOCKED"}')
    page.click("#content-main input[type=submit][value=Test]")
    expect(page.locator(".trigger-verdict")).to_have_text("The trigger would fire.")
    expect(page.locator(".trigger-verdict")).to_have_css("color", "rgb(37, 122, 53)")  # legible
    expect(page.locator("#conditions tbody tr.passed")).to_have_count(1)
    expect(page.locator("#actions")).to_contain_text(f"SIM {SERIAL} blocked, was ACTIVE")
    page.screenshot(path=str(artifacts / "demo-test-page.png"), full_page=True)

    # Change that SimCard in its admin page: the trigger fires.
    page.goto(f"{server.url}/admin/sims/simcard/{card_id}/change/")
    expect(page.locator("#id_status")).to_have_value("ACTIVE")  # the test saved nothing
    page.select_option("#id_status", "BLOCKED")
    page.click("input[name=_save]")
    expect(page.locator(".messagelist .success")).to_contain_text("was changed successfully")

    # The execution in the log, from the trigger's page.
    page.goto(f"{server.url}/admin/triggers/triggerdefinition/")
    page.click(f"#result_list a:text-is('{TRIGGER}')")
    trigger_page = page.url
    page.click("#content .object-tools a:text-is('Executions')")
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(TRIGGER)
    expect(rows.first).to_contain_text(card_id)
    expect(rows.first).to_contain_text(username)  # who changed the card
    expect(rows.first.locator("td.field-status")).to_have_text(re.compile("success", re.I))

    # And on its dashboard: one execution, in this hour's bar of the chart.
    page.goto(trigger_page)
    page.click("#content .object-tools a:text-is('Dashboard')")
    expect(page.locator("#content h1")).to_have_text(f"Dashboard of {TRIGGER}")
    expect(page.locator("#totals td").first).to_have_text("1")
    hourly = page.locator("svg.trigger-chart").first
    expect(hourly.locator("rect")).to_have_count(1)
    expect(hourly.locator("g title", has_text=re.compile(r": 1 executions, 0 failed$"))
           ).to_have_count(1)
    page.screenshot(path=str(artifacts / "demo-dashboard.png"), full_page=True)
