"""Test settings: SQLite in memory by default, PostgreSQL when DATABASE_URL is set."""

import os

SECRET_KEY = "tests-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
USE_TZ = True
TIME_ZONE = "UTC"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "triggers",
    "rest_framework", "drf_spectacular", "drf_spectacular_sidecar",  # triggers.api
    "corsheaders",
    "example_project.notifications",
    "example_project.shops",
    "example_project.sims",
    "tests.testapp",
]

MIDDLEWARE = [
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "triggers.base.signal_integration.TriggerRequestMiddleware",
]

ROOT_URLCONF = "tests.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
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
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
STATIC_URL = "static/"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

import django  # noqa: E402

if django.VERSION >= (6, 1):
    # Django 6.1's mail settings (the tests' runner makes every mailer locmem); the email tests
    # also send through the older EMAIL_BACKEND settings
    MAILERS: dict[str, dict] = {"default": {}, "transactional": {}}

# CORS for the API, as docs/api.md ("Browsers and CORS") has a project set it; no origin is
# allowed here, the CORS tests allow the ones they serve pages from.
CORS_URLS_REGEX = r"^/rest/v1/"
CORS_ALLOWED_ORIGINS: list[str] = []
CORS_ALLOW_HEADERS = (
    "accept", "authorization", "content-type", "user-agent", "x-csrftoken", "x-requested-with",
    "apikey", "x-client-info", "prefer", "range", "range-unit", "accept-profile",
    "content-profile", "x-retry-count",
)
CORS_EXPOSE_HEADERS = ("content-range", "range-unit", "preference-applied", "location",
                       "retry-after")

TRIGGER_LOG_EXECUTIONS = "all"
# every row written at once, so that tests read it right after the save (the buffer has its
# own tests, in tests/test_log_buffer.py)
TRIGGER_LOG_FLUSH_SECONDS = 0
TRIGGER_MODELS = ["testapp.*"]
TRIGGER_BACKEND = "inline"
