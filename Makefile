# nhsbook: `make book` builds the whole book from the embedded default; `make test` runs the
# tests (unit tests, then the executed notebooks through nbval).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
BOOK   ?= default
STAMP  := $(VENV)/.installed

.PHONY: book test install validate clean lock

# Installs exactly the pinned, hashed set of requirements.lock, then nhsbook itself.
$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

# After changing the dependencies in pyproject.toml (needs uv: pip install uv).
lock:
	uv pip compile pyproject.toml --extra test --python-version 3.11.7 \
	  --python-platform x86_64-manylinux_2_28 --generate-hashes -o requirements.lock

install: $(STAMP)

validate: $(STAMP)
	$(BIN)/nhsbook validate --book $(BOOK)

book: $(STAMP)
	$(BIN)/nhsbook build --book $(BOOK)

# The executed notebooks run on every core (pytest-xdist; --dist loadscope keeps the cells of
# a notebook in one kernel).
test: book
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/python -m pytest tests
	$(BIN)/python -m pytest -p nhsbook.build.kernels -n auto --dist loadscope --nbval-lax book/areas

clean:
	rm -rf build book/_build book/areas book/_extra book/_toc.yml book/validation.md book/data_sources.md book/definitions.md book/index.md book/_static/nhsbook-vega.js*
