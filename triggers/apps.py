from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules


class TriggersConfig(AppConfig):
    name = "triggers"
    verbose_name = "Triggers"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks  # noqa: F401 - registers the system checks
        from .conf import settings
        from .delivery import enqueue
        from .engine import engine
        from .flow import limiter
        from .registry import trigger_registry

        engine.outbox = enqueue
        engine.limiter = limiter.check
        if settings.TRIGGER_AUTODISCOVER:
            autodiscover_modules("triggers")
        trigger_registry.resolve_pending()
        self._connect_definitions()

    def _connect_definitions(self) -> None:
        """Database triggers: move the change marker on every change of a definition, and
        check it (at most every TRIGGER_CACHE_TIMEOUT seconds) when a request starts."""
        from django.core.signals import request_started
        from django.db.backends.signals import connection_created
        from django.db.models import signals

        from .definitions.loader import changed, loader
        from .definitions.store import DefinitionStore
        from .models import TriggerDefinition, TriggerDefinitionAction
        from .registry import trigger_registry
        from .switches import switches

        trigger_registry.store = DefinitionStore()
        for model in (TriggerDefinition, TriggerDefinitionAction):
            for name in ("post_save", "post_delete"):
                getattr(signals, name).connect(
                    changed, sender=model,
                    dispatch_uid=f"triggers:definitions:{name}:{model.__name__}",
                )
        switches.hooks.append(loader.sync)
        request_started.connect(_check_switches, dispatch_uid="triggers:request_started")
        # Processes that serve no requests (a shell, a command, a Celery worker) check when
        # they connect to the database: the first time, and again with each new connection.
        connection_created.connect(_check_on_connect, dispatch_uid="triggers:connection")


def _check_switches(**kwargs) -> None:
    from .switches import switches

    switches.states()


def _check_on_connect(connection, **kwargs) -> None:
    from django.db import router

    from .models import TriggerSwitch

    if connection.alias == router.db_for_read(TriggerSwitch):
        _check_switches()
