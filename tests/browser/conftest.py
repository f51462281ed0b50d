"""Headless Chromium (the Debian package, driven by Playwright) against the admin.

Each test gets a fresh browser profile and a page whose waits time out after ``WAIT_MS``.
Screenshots go to ``$TRIGGERS_ARTIFACTS`` (default ``<repo>/artifacts/``, git-ignored); a test
that fails leaves a screenshot of the page it failed on there too.

Playwright's sync API runs an event loop in the test's thread, which makes Django refuse ORM
calls there (``SynchronousOnlyOperation``); the ``page`` fixture allows them for its test only.
While that loop runs, the test's thread has database connections of its own (asgiref's
``Local`` keeps them apart from the thread's usual ones): the fixture closes them before the
loop stops, or PostgreSQL could not drop the test database at the end of the session.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connections
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect, sync_playwright

from tests.services import require

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
WAIT_MS = 10_000
REPO = Path(__file__).resolve().parents[2]


def chromium() -> str:
    """The Chromium to drive: the Debian package's, never a downloaded one."""
    if os.access(CHROMIUM, os.X_OK):
        return CHROMIUM
    return require("chromium", "chromium")


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Where screenshots go: ``$TRIGGERS_ARTIFACTS`` or ``<repo>/artifacts/``."""
    path = Path(os.environ.get("TRIGGERS_ARTIFACTS") or REPO / "artifacts")
    path.mkdir(parents=True, exist_ok=True)
    return path


_FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Remember a failed test, for the ``page`` fixture to take its screenshot."""
    report = yield
    item.stash[_FAILED] = item.stash.get(_FAILED, False) or report.failed
    return report


@pytest.fixture
def page(request, tmp_path, artifacts, monkeypatch) -> Iterator:
    """A page in a fresh headless Chromium profile; every wait times out after ``WAIT_MS``."""
    executable = chromium()
    expect.set_options(timeout=WAIT_MS)
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"), executable_path=executable, headless=True,
            args=CHROMIUM_ARGS, viewport={"width": 1280, "height": 900},
            timeout=30_000,
        )
        context.set_default_timeout(WAIT_MS)
        context.set_default_navigation_timeout(WAIT_MS)
        try:
            page = context.pages[0] if context.pages else context.new_page()
            yield page
            if request.node.stash.get(_FAILED, False):
                name = re.sub(r"[^\w.-]+", "-", request.node.name)
                for number, opened in enumerate(context.pages):
                    with contextlib.suppress(PlaywrightError):
                        opened.screenshot(path=str(artifacts / f"failed-{name}-{number}.png"),
                                          full_page=True)
        finally:
            connections.close_all()  # those the test opened while the loop ran
            context.close()
