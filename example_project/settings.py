"""Settings of the example project: SQLite by default, PostgreSQL with DATABASE_URL."""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "example-project-not-secret")
DEBUG = os.environ.get("DJANGO_DEBUG", "1") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "triggers",
    "rest_framework", "drf_spectacular", "drf_spectacular_sidecar",  # triggers.api
    "corsheaders",  # the API from pages of other origins (docs/api.md, "Browsers and CORS")
    "example_project.notifications",
    "example_project.shops",
    "example_project.sims",
]

MIDDLEWARE = [
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "triggers.middleware.TriggerRequestMiddleware",
]

ROOT_URLCONF = "example_project.urls"
WSGI_APPLICATION = "example_project.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

if os.environ.get("DATABASE_URL"):
    import dj_database_url

    DATABASES = {"default": dj_database_url.parse(os.environ["DATABASE_URL"])}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("EXAMPLE_DB", str(BASE_DIR / "example.sqlite3")),
        }
    }

USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-us"
STATIC_URL = "static/"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# CORS for the management API only: pages served from this machine (a front-end's dev server,
# e.g. http://localhost:5173) may call /rest/v1/ with supabase-js. A real site lists its
# origins in CORS_ALLOWED_ORIGINS instead.
CORS_URLS_REGEX = r"^/rest/v1/"
CORS_ALLOWED_ORIGIN_REGEXES = [r"^http://(localhost|127\.0\.0\.1)(:\d+)?$"]
CORS_ALLOW_HEADERS = (
    "accept", "authorization", "content-type", "user-agent", "x-csrftoken", "x-requested-with",
    "apikey", "x-client-info", "prefer", "range", "range-unit", "accept-profile",
    "content-profile", "x-retry-count",
)
CORS_EXPOSE_HEADERS = ("content-range", "range-unit", "preference-applied", "location",
                       "retry-after")

# django-model-triggers
TRIGGER_LOG_EXECUTIONS = "all"
TRIGGER_CACHE_TIMEOUT = 30
# Database triggers (made in the admin) may target the example apps' models.
TRIGGER_MODELS = ["sims.*", "shops.*"]
# Async executions run in a thread pool of this process (the default backend, no services).
TRIGGER_BACKEND = "thread"
# The demo's webhook goes to this server itself (example_project/notifications/webhooks.py);
# webhooks may reach no private or loopback address unless a network is allowed here.
TRIGGER_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.1/32"]
# The demo's signing secret (a real one lives in the environment, never in the code).
os.environ.setdefault("DEMO_WEBHOOK_SECRET", "whsec_ZGphbmdvLW1vZGVsLXRyaWdnZXJzIGRlbW8gc2VjcmV0")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"triggers": {"handlers": ["console"], "level": "INFO"}},
}
