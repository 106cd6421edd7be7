"""kechuang settings. Everything that differs between machines comes from the environment.

DATABASE_URL        default sqlite:///<KECHUANG_DATA_DIR>/kechuang.sqlite3
KECHUANG_DATA_DIR   default ./var (SQLite file, uploaded files)
KECHUANG_ENV        "production" (default) or "development" (allows the fixed development key)
SECRET_KEY          required outside development; or SECRET_KEY_FILE, a file holding it
DEBUG               "1" to turn on Django's debug pages (never in production)
HTTPS               "1" behind a TLS-terminating proxy: secure cookies, HSTS, redirect to https
ALLOWED_HOSTS       comma-separated, default "127.0.0.1,localhost"
CSRF_TRUSTED_ORIGINS comma-separated origins behind a reverse proxy
LOG_LEVEL           default INFO
LOG_FORMAT          "json" (default) or "text"
EMAIL_BACKEND       default: files under <KECHUANG_DATA_DIR>/mail in development, SMTP in production
EMAIL_HOST, EMAIL_PORT, EMAIL_HOST_USER, EMAIL_HOST_PASSWORD, EMAIL_USE_TLS, EMAIL_USE_SSL, EMAIL_TIMEOUT
                    the SMTP server (defaults localhost, 25, no login, no TLS, 10 s)
DEFAULT_FROM_EMAIL  the sender of notifications, default kechuang@localhost
SITE_URL            e.g. https://kechuang.example.gov.cn: makes the links in emails absolute
SHOW_DEMO_LOGINS    "1" on a demonstration server: the sign-in page names the demo logins (`make run`)
DISCLOSURE_MIN_CONTRIBUTORS, DISCLOSURE_DOMINANCE_PERCENT
                    disclosure control of public figures, default 3 enterprises and 85%
INDICATOR_CACHE_SIZE, INDICATOR_CACHE_SECONDS
                    computed indicator tables kept per process until what they read is written
                    (default 1024 entries, at most 600 s; 0 turns it off)
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("KECHUANG_DATA_DIR", BASE_DIR / "var"))


def _flag(name: str, default: bool = False) -> bool:
    return os.environ.get(name, "1" if default else "0").lower() in {"1", "true", "yes", "on"}


def _list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = _flag("DEBUG")
SHOW_DEMO_LOGINS = _flag("SHOW_DEMO_LOGINS")

# Anything but an explicit "development" is production: a server that forgot to say
# which it is gets the strict behaviour, never the development key.
KECHUANG_ENV = os.environ.get("KECHUANG_ENV", "production")
if KECHUANG_ENV not in {"development", "production"}:
    raise ImproperlyConfigured(f"KECHUANG_ENV is {KECHUANG_ENV!r}; set it to 'production' or 'development'")
DEVELOPMENT_SECRET_KEY = "kechuang-development-key-not-for-production"


def _secret_key() -> str:
    key = os.environ.get("SECRET_KEY", "")
    key_file = os.environ.get("SECRET_KEY_FILE", "")
    if key and key_file:
        raise ImproperlyConfigured("set SECRET_KEY or SECRET_KEY_FILE, not both")
    if key_file:
        try:
            key = Path(key_file).read_text(encoding="utf-8").strip()
        except OSError as error:
            raise ImproperlyConfigured(f"SECRET_KEY_FILE={key_file} cannot be read: {error.strerror}") from None
        if not key:
            raise ImproperlyConfigured(f"SECRET_KEY_FILE={key_file} is empty")
    if KECHUANG_ENV == "development":
        # A developer's machine and the test suite: a fixed key keeps sessions valid across restarts.
        return key or DEVELOPMENT_SECRET_KEY
    if key == DEVELOPMENT_SECRET_KEY:
        raise ImproperlyConfigured("SECRET_KEY is the published development key; generate a key of your own")
    if not key:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Django signs sessions and other tamper-proof values with it, "
            "so it has no default outside development. Generate one with\n"
            "    python3 -c 'import secrets; print(secrets.token_urlsafe(50))' > /etc/kechuang/secret_key\n"
            "and start kechuang with SECRET_KEY_FILE=/etc/kechuang/secret_key (or SECRET_KEY=<the key>). "
            "On a developer's machine, KECHUANG_ENV=development uses a fixed development key instead; "
            "`make run` generates var/secret_key by itself."
        )
    return key


SECRET_KEY = _secret_key()

ALLOWED_HOSTS = _list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = _list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.humanize",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "axes",
    "csp",
    "django_htmx",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "django_tasks",
    "django_tasks_db",
    "kechuang.registry",
    "kechuang.world",
    "kechuang.demo",
    "kechuang.accounts",
    "kechuang.statistics",
    "kechuang.programs",
    "kechuang.notifications",
    "kechuang.designations",
    "kechuang.indicators",
    "kechuang.bulletins",
    "kechuang.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    # request.htmx: a page asked for by htmx answers with the part of it that changes.
    "django_htmx.middleware.HtmxMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Records the user and the interface (api, admin, web) of every change (docs/audit.md).
    "kechuang.audit.middleware.AuditMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Turns a login refused by django-axes into a 429 page; axes asks to be last.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "kechuang.urls"
WSGI_APPLICATION = "kechuang.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "kechuang" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "kechuang.web.context.workspace",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{DATA_DIR / 'kechuang.sqlite3'}",
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    # WAL lets the web workers read while an import writes; IMMEDIATE avoids the
    # "database is locked" upgrade deadlock between two writers.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "kechuang" / "static"]
# Browser libraries installed by npm from package-lock.json (`make` runs `npm ci`), served
# like kechuang's own files (/static/vendor/echarts/echarts.min.js): only the files the
# pages load are found (kechuang/web/finders.py), not npm's whole distributions.
NODE_MODULES = BASE_DIR / "node_modules"
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "kechuang.web.finders.VendorFinder",
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
MEDIA_ROOT = DATA_DIR / "media"

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

# Background tasks (imports started from the web): stored in the database and run by
# `kechuang db_worker`, which `make run` starts next to the web server.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
UPLOAD_MAX_BYTES = 50 * 1024 * 1024  # an import file; Excel's own sheets stay well below it
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440  # Django's default for form fields; files stream to disk
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "kechuang.schema.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "kechuang.api.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_PERMISSION_CLASSES": ["kechuang.api.ScopedAccess"],
    # Token first: a request without credentials is answered 401 with
    # "WWW-Authenticate: Token" (Basic first would pop up the browser's login box).
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
        "kechuang.accounts.authentication.BasicAuthentication",
    ],
    "EXCEPTION_HANDLER": "kechuang.api.exception_handler",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "kechuang API",
    "DESCRIPTION": "科创 — registry, programs, statistics and indicators of a regional innovation system.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Redoc's perfect-scrollbar injects a stylesheet without the CSP nonce; without it
    # the side menu would not scroll. Native scrollbars need no stylesheet.
    "REDOC_UI_SETTINGS": {"nativeScrollbars": True},
    "COMPONENT_SPLIT_REQUEST": True,
    # Named once: a choice set several components share (the PUT body of an organisation
    # or region is its own component, kechuang/schema.py) keeps one enum.
    "ENUM_NAME_OVERRIDES": {
        "OrganisationKindEnum": "kechuang.registry.models.OrganisationKind",
        "RegionLevelEnum": "kechuang.registry.models.RegionLevel",
    },
}

# --- Passwords, login lockout, sessions (docs/operations.md, "Security") ---------------

# Argon2id first; the others stay so that a hash made before it still verifies (and is
# rehashed with Argon2 at that user's next login).
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
# django-axes refuses a login before any password is checked once the same username
# has failed AXES_FAILURE_LIMIT times from the same address: the admin login, HTTP
# Basic on the API and the token endpoint alike. Unlock: `kechuang axes_reset_username USER`.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=30)
# Username and address together: a stranger guessing at a name locks out only himself,
# not the bureau clerk who owns it.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "kechuang.accounts.lockout.client_address"
AXES_COOLOFF_MESSAGE = (
    "登录失败次数过多，账户已暂时锁定。 Account locked: too many failed logins. "
    "Try again in 30 minutes, or ask a bureau administrator to unlock it."
)
#: Reverse proxies in front of kechuang, each appending to X-Forwarded-For; the
#: address the nearest one saw is the client's (nginx: $proxy_add_x_forwarded_for).
PROXY_COUNT = int(os.environ.get("PROXY_COUNT", "1" if _flag("HTTPS") else "0"))

SESSION_COOKIE_AGE = 8 * 60 * 60  # a working day; then log in again
SESSION_COOKIE_HTTPONLY = True

# --- Response headers ----------------------------------------------------------------

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"  # URLs name enterprises; other sites never see them
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# No inline script or style runs unless it carries this response's nonce
# (`nonce="{{ request.csp_nonce }}"`); nothing is loaded from another origin.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:"],  # Swagger UI's icons are data: URLs in its CSS
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

if _flag("HTTPS"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # the load balancer asks over plain HTTP
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = 365 * 24 * 60 * 60
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    # HSTS preload is the decision of whoever owns the registrable domain (a bureau
    # runs kechuang on a subdomain of its government's), made at hstspreload.org.
    SILENCED_SYSTEM_CHECKS = ["security.W021"]

# --- Disclosure control of public figures (docs/indicators.md) ------------------------
# An aggregate of a confidential metric is suppressed for the public when fewer than this
# many enterprises contribute, or when the two largest make up more than this percentage.
DISCLOSURE_MIN_CONTRIBUTORS = int(os.environ.get("DISCLOSURE_MIN_CONTRIBUTORS", "3"))
DISCLOSURE_DOMINANCE_PERCENT = int(os.environ.get("DISCLOSURE_DOMINANCE_PERCENT", "85"))

# --- Email: notifications (docs/notifications.md) -------------------------------------

# Development writes each email as a file under var/mail, so nothing leaves the machine;
# production speaks SMTP. The test suite gets Django's in-memory backend (mail.outbox).
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend"
                               if KECHUANG_ENV == "development" else "django.core.mail.backends.smtp.EmailBackend")
EMAIL_FILE_PATH = DATA_DIR / "mail"
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = _flag("EMAIL_USE_TLS")
EMAIL_USE_SSL = _flag("EMAIL_USE_SSL")
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured("set EMAIL_USE_TLS (STARTTLS, usually port 587) or EMAIL_USE_SSL (port 465), not both")
# An email is sent right after the action that caused it commits: a mail server that does
# not answer must not hold a web request for long (the failure is recorded on the notification).
EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", "10"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "kechuang@localhost")
SITE_URL = os.environ.get("SITE_URL", "").rstrip("/")
INDICATOR_CACHE_SIZE = int(os.environ.get("INDICATOR_CACHE_SIZE", "1024"))
INDICATOR_CACHE_SECONDS = int(os.environ.get("INDICATOR_CACHE_SECONDS", "600"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(levelname)s %(name)s %(message)s",
            "rename_fields": {"levelname": "level", "name": "logger"},
            "timestamp": "time",  # ISO 8601 in UTC
        },
        "text": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
    },
    # Logs go to stderr: a command's stdout is its output (a world file, JSON, CSV).
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stderr",
            "formatter": os.environ.get("LOG_FORMAT", "json"),
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # WeasyPrint logs every step of every PDF at INFO; its warnings (a font or an image
        # it could not use) still show.
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}
