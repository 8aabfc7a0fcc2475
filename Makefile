# nhsbook: `make book` builds the whole book from the embedded default; `make test` runs the
# tests (unit tests, then the executed notebooks through nbval).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
BOOK   ?= default
STAMP  := $(VENV)/.installed

.PHONY: book test install validate clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

validate: $(STAMP)
	$(BIN)/nhsbook validate --book $(BOOK)

book: $(STAMP)
	$(BIN)/nhsbook build --book $(BOOK)

# The executed notebooks run on every core (pytest-xdist; --dist loadscope keeps the cells of
# a notebook in one kernel).
test: book
	$(BIN)/ruff check .
	$(BIN)/python -m pytest tests
	$(BIN)/python -m pytest -n auto --dist loadscope --nbval-lax book/areas

clean:
	rm -rf build book/_build book/areas book/_extra book/_toc.yml book/validation.md book/data_sources.md book/definitions.md book/index.md book/_static/nhsbook-vega.js*
