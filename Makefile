# kechuang — the two commands a newcomer runs: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 8000
WORKERS ?= 3
# Tests run in parallel, one process per core (pytest-xdist); `make test PYTEST_ARGS=` runs them serially.
PYTEST_ARGS ?= -n auto

# The secret key of `make run` and its steps: SECRET_KEY or SECRET_KEY_FILE when the
# environment sets one; otherwise a random key generated once into var/secret_key
# (var/ is git-ignored; `make clean` deletes it with the database). `make test` needs
# none: the suite runs in development mode (tests/settings.py).
ifeq ($(origin SECRET_KEY)$(origin SECRET_KEY_FILE),undefinedundefined)
KEY_FILE := var/secret_key
KEY_ENV  := SECRET_KEY_FILE=$(CURDIR)/$(KEY_FILE)
endif
KECHUANG := $(KEY_ENV) $(BIN)/kechuang

# The browser libraries (ECharts, htmx) come from npm, pinned by package-lock.json, and are
# served from node_modules by the app itself (STATICFILES_DIRS, whitenoise): no CDN, no build.
NPM        ?= npm
NODE_STAMP := node_modules/.installed
# The web tests drive Debian's Chromium with Playwright (never `playwright install`, which
# downloads a browser); Chinese text needs the Noto CJK fonts.
CHROMIUM   := /usr/bin/chromium

.PHONY: run test bootstrap assets browser fonts load-drill serve demo migrate static lint clean

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	@touch $(STAMP)

$(NODE_STAMP): package.json package-lock.json
	@command -v $(NPM) >/dev/null 2>&1 || $(call apt_install,nodejs npm,the browser libraries (ECharts and htmx from npm))
	$(NPM) ci --no-audit --no-fund --loglevel=error
	@touch $(NODE_STAMP)

assets: $(NODE_STAMP)

bootstrap: $(STAMP) $(NODE_STAMP)

# Installs what is missing, once; quiet when Chromium is already there.
browser: fonts
	@test -x $(CHROMIUM) || $(call apt_install,chromium,the browser tests (tests/web))

# A bulletin's PDF (WeasyPrint) needs Pango and a Chinese font, or Chinese prints as empty
# boxes; the pages need the font too. Quiet when both are there.
fonts:
	@missing=""; \
	ldconfig -p 2>/dev/null | grep -q libpango-1.0 || missing="libpango-1.0-0 libpangoft2-1.0-0"; \
	fc-list :lang=zh family 2>/dev/null | grep -q . || missing="$$missing fonts-noto-cjk"; \
	if [ -n "$$missing" ]; then $(call apt_install,$$missing,bulletins in PDF and the pages in Chinese); fi

# apt_install(packages, what needs them): Debian's apt-get, as root (CI) or through sudo.
define apt_install
{ if ! command -v apt-get >/dev/null 2>&1; then \
	echo "error: $(2) need $(1), and apt-get is not available to install them; install them with your system's package manager" >&2; exit 1; \
  fi; \
  sudo=""; [ "$$(id -u)" = 0 ] || sudo="sudo"; \
  echo "installing $(1) with apt-get, for $(2)"; \
  $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends $(1) >/dev/null \
  || { echo "error: apt-get could not install $(1), which $(2) need" >&2; exit 1; }; }
endef

var/secret_key:
	@mkdir -p var
	@umask 077 && $(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(50))' > $@.new && mv $@.new $@
	@echo "generated a secret key into $@ (kept for later runs; never commit it)"

migrate: bootstrap $(KEY_FILE)
	@mkdir -p var
	$(KECHUANG) migrate --no-input

static: bootstrap $(KEY_FILE)
	$(KECHUANG) collectstatic --no-input --verbosity 0

demo: migrate fonts
	$(KECHUANG) demo --if-empty

run: fonts demo static
	@echo ""
	@echo "  kechuang is serving on http://$(HOST):$(PORT)/ (with a task worker for imports)"
	@echo "  API: http://$(HOST):$(PORT)/api/v1/   docs: http://$(HOST):$(PORT)/api/docs/"
	@echo "  demo logins, all with the password kechuang-demo:"
	@echo "    demo        superuser (admin at /admin/)"
	@echo "    bureau      bureau admin, Tongzhou 320612      analyst     analyst, Tongzhou 320612"
	@echo "    zone        manager of the high-tech zone      park        manager of Hengli (Nantong) Industrial Park"
	@echo "    zhongkeyi   enterprise user of Zhongkeyi        reviewer    expert reviewer"
	@echo ""
	@# The task worker (imports uploaded in the web app) runs beside the web server, is
	@# started again when it stops (it exits when the database goes away), and stops with
	@# the server.
	@(while :; do $(KECHUANG) db_worker --no-reload --no-startup-delay; sleep 5; done) & worker=$$!; \
	trap 'children=$$(pgrep -P $$worker); kill $$worker $$children 2>/dev/null' EXIT INT TERM; \
	$(KEY_ENV) SHOW_DEMO_LOGINS=1 $(BIN)/gunicorn kechuang.wsgi:application --bind $(HOST):$(PORT) --workers $(WORKERS) \
	    --access-logfile - --error-logfile -

test: bootstrap browser
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# 50 users for 5 minutes against gunicorn on PostgreSQL (docs/reliability.md); locust is
# installed only for this.
load-drill: bootstrap
	$(BIN)/python -m pip install --quiet -c constraints.txt -c constraints-load.txt -e ".[load]"
	$(BIN)/python benchmarks/load_drill.py $(DRILL_ARGS)

lint: bootstrap
	$(BIN)/ruff check kechuang tests benchmarks

clean:
	rm -rf $(VENV) var staticfiles node_modules
