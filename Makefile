# The portal's commands. `make run` starts it with demo data (gunicorn); `make dev` reloads on
# code changes; `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
VENDOR := portal/static/vendor

.PHONY: run dev test install assets lint typecheck migrations-check pytest clean outbox demo-code serve-tls

run: install assets
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py demo_data
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/python manage.py portal_run

# As `make run`, but Django's development server, reloading on every code change.
dev: install assets
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py demo_data
	$(BIN)/python manage.py portal_run --dev

test: install assets lint typecheck migrations-check pytest

install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

assets: $(VENDOR)/.installed

$(VENDOR)/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	rm -rf $(VENDOR) && mkdir -p $(VENDOR)/uswds $(VENDOR)/zxcvbn
	cp -r node_modules/@uswds/uswds/dist/css node_modules/@uswds/uswds/dist/js \
	      node_modules/@uswds/uswds/dist/fonts node_modules/@uswds/uswds/dist/img $(VENDOR)/uswds/
	cp node_modules/zxcvbn/dist/zxcvbn.js node_modules/zxcvbn/dist/zxcvbn.js.map $(VENDOR)/zxcvbn/
	touch $@

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck:
	$(BIN)/mypy portal

migrations-check:
	PORTAL_ENV=test $(BIN)/python manage.py makemigrations --check --dry-run

pytest:
	PORTAL_ENV=test $(BIN)/pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) node_modules $(VENDOR) var

outbox: install
	$(BIN)/python manage.py outbox

demo-code: install
	$(BIN)/python manage.py demo_code $(WHO)

serve-tls: install assets
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py demo_data
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/python manage.py serve_tls
