"""Fixtures of the reliability tests: ``cluster`` gives a test the real parts of a delivery
setup (see cluster.py) on the database of the run, with the Celery backend in this process."""

from __future__ import annotations

import base64
import contextlib
import secrets
from collections.abc import Iterator

import pytest
from django.test import override_settings

from .cluster import Cluster
from .database import SharedDatabase
from .hooks import SECRET_ENV


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "reliability: delivery under failure, with real Redis, Celery worker processes, the "
        "database of the run and an HTTP receiver (tests/reliability/)",
    )


@pytest.fixture(scope="package")
def webhook_secret() -> Iterator[str]:
    """A Standard Webhooks secret, in this process's environment as in the workers'."""
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(SECRET_ENV, secret)
        yield secret


@pytest.fixture(scope="package")
def shared_database(django_db_setup, django_db_blocker, tmp_path_factory) -> SharedDatabase:
    with django_db_blocker.unblock():
        return SharedDatabase(tmp_path_factory.mktemp("reliability-db"))


@pytest.fixture(scope="package")
def running_cluster(redis_server, shared_database, webhook_secret,
                    tmp_path_factory) -> Iterator[Cluster]:
    cluster = Cluster(redis_server, shared_database.name, webhook_secret,
                      tmp_path_factory.mktemp("reliability-logs"))
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def cluster(running_cluster, shared_database, transactional_db) -> Iterator[Cluster]:
    """The cluster, ready; this process saves on the shared database and sends with the
    reliability Celery app."""
    from celery import current_app

    from .celery_app import app

    previous = current_app._get_current_object()
    settings = override_settings(
        TRIGGER_BACKEND="celery", TRIGGER_DEFAULT_TIMEOUT=2, TRIGGER_SWEEP_AFTER=2,
        TRIGGER_MAX_CHAIN_DEPTH=3, TRIGGER_WEBHOOK_ALLOWED_NETWORKS=["127.0.0.1/32"],
    )
    with contextlib.ExitStack() as stack:
        stack.enter_context(shared_database.active())
        stack.enter_context(settings)
        app.conf.broker_url = running_cluster.redis.url
        app.set_current()
        stack.callback(previous.set_current)
        running_cluster.prepare()
        yield running_cluster
        assert not running_cluster.receiver.errors, running_cluster.receiver.errors
        running_cluster.check()
