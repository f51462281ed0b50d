from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules


class TriggersConfig(AppConfig):
    name = "triggers"
    verbose_name = "Triggers"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks  # noqa: F401 - registers the system checks
        from .conf import settings
        from .registry import trigger_registry

        if settings.TRIGGER_AUTODISCOVER:
            autodiscover_modules("triggers")
        trigger_registry.resolve_pending()
