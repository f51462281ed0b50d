from django.apps import AppConfig


class SimsConfig(AppConfig):
    name = "example_project.sims"
    label = "sims"
    default_auto_field = "django.db.models.BigAutoField"
