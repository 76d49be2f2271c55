# The two commands: `make run` serves on SQLite, `make test` runs every check and test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test install check unit sample-config console-screenshots clean

$(STAMP): pyproject.toml
	scripts/install
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	@test -f bastion.toml || $(BIN)/bastion init --dir . --server-name localhost
	$(BIN)/bastion migrate --config bastion.toml
	$(BIN)/bastion serve --config bastion.toml

test: $(STAMP)
	scripts/check
	scripts/with-postgres scripts/with-redis scripts/with-chromium scripts/with-js-sdk scripts/test

check: $(STAMP)
	scripts/check

# Fast loop while developing: SQLite only, no lint.
unit: $(STAMP)
	$(BIN)/pytest -x tests/unit tests/api

sample-config: $(STAMP)
	$(BIN)/python -c "from bastion.config import sample_config_toml; print(sample_config_toml(), end='')" > docs/sample-config.toml

# PNGs of the admin console in en/ar/pl under docs/console/ (shown in the README).
console-screenshots: $(STAMP)
	scripts/console-screenshots

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
