# avin: two commands from a fresh clone: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
ARGS   ?=
# Every pinned version with its hashes (make lock refreshes it): the venv, CI, Docker and the
# binary install from it. Extras locked: dev, fast (numba), postgres, binary (PyInstaller),
# keyring (the token in the OS keyring), fuzz (atheris, make fuzz; Linux x86-64 wheels only),
# ray (sweeps on a Ray cluster: avin backtest --ray; about 80 MB wheel, 240 MB installed).
LOCK   := requirements/lock.txt
EXTRAS := dev,fast,postgres,binary,keyring,fuzz,ray
comma  := ,
VERSION = $(shell sed -n 's/^__version__ = "\(.*\)"/\1/p' engine/__init__.py)

.PHONY: run test lint fmt bench bench-smoke build release release-files clean e2e lock lock-upgrade binary smoke hooks audit fuzz native

$(STAMP): pyproject.toml $(LOCK)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCK)
	@# the project itself; a dependency added to pyproject.toml after the last `make lock` is
	@# installed unpinned here, and lock_check names it
	$(BIN)/python -m pip install --quiet -e '.[$(EXTRAS)]'
	-@$(BIN)/python packaging/lock_check.py
	@# the project's bytecode, as pip writes it for an installed package (a start-up that cannot
	@# write it, PYTHONDONTWRITEBYTECODE or a read-only tree, would compile every module each time)
	@$(BIN)/python -m compileall -q -j 0 engine avin_tui >/dev/null
	@touch $(STAMP)

# The compiled backtest core (engine/native.py): mypyc builds the modules listed there into
# .native/ (about a minute); `avin backtest` loads it while every source matches. Rebuilt when
# one of them changes; a failed build is reported and avin runs interpreted (in CI it fails).
NATIVE     := .native/manifest.json
NATIVE_SRC := $(shell sed -n 's/^    "\(engine\.[a-z_.]*\)",$$/\1/p' engine/native.py | tr . / | sed 's/$$/.py/')
$(NATIVE): $(STAMP) $(NATIVE_SRC) engine/native.py packaging/native_build.py
	$(BIN)/python packaging/native_build.py --quiet $(if $(filter-out 0 false no,$(CI)),--strict)
	@$(BIN)/python -m compileall -q -j 0 engine avin_tui >/dev/null

native: $(NATIVE)

run: $(STAMP)
	$(BIN)/avin $(ARGS)

test: $(STAMP) $(NATIVE)
	$(BIN)/python -m pytest -q --cov=engine --cov-report=term:skip-covered $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy engine avin_tui
	$(BIN)/lint-imports --no-cache  # the package layers and cycles ([tool.importlinter])

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP) $(NATIVE)
	@for f in bench/*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

# Every benchmark at a tiny size (--smoke: only that it still runs; CI). binary_startup.py needs
# the built binary: .ci/run runs it after make binary.
bench-smoke: $(STAMP) $(NATIVE)
	@for f in bench/*.py; do [ "$$f" = bench/binary_startup.py ] && continue; \
	  echo "== $$f --smoke"; $(BIN)/python $$f --smoke || exit 1; done

build: $(STAMP)
	$(BIN)/python -m build --outdir dist .

# The lock from pyproject.toml; versions already pinned stay (lock-upgrade takes the newest).
lock:
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m uv --version >/dev/null 2>&1 || $(BIN)/python -m pip install --quiet uv
	$(BIN)/python -m uv pip compile pyproject.toml $(foreach e,$(subst $(comma), ,$(EXTRAS)),--extra $(e)) \
	  --universal --python-version 3.11 --generate-hashes --no-header --quiet $(UV_ARGS) -o $(LOCK)
	$(BIN)/python packaging/lock_check.py

lock-upgrade:
	$(MAKE) lock UV_ARGS=--upgrade

# Known vulnerabilities of the locked versions (pip-audit). Fails on a finding not accepted in
# requirements/audit-ignore.txt; SKIPPED with exit 0 where the vulnerability data cannot be reached.
audit: $(STAMP)
	$(BIN)/python packaging/audit.py $(LOCK) --timeout 300

# Coverage-guided fuzzing of each parser (tests/fuzz/run.py, atheris), FUZZ_SECONDS each, one at a
# time at low priority; a finding stops its target with build/fuzz/crash-<target>-* (see the doc
# of tests/fuzz/run.py). FUZZ_TARGETS picks some.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= history_csv history_zip config_toml tinvest_message workspace backtest_data
fuzz: $(STAMP)
	@mkdir -p build; for t in $(FUZZ_TARGETS); do \
	  nice -n 10 $(BIN)/python tests/fuzz/run.py $$t $(FUZZ_SECONDS) >build/fuzz-$$t.log 2>&1 \
	    || { tail -40 build/fuzz-$$t.log; exit 1; }; \
	  grep -h '^FUZZ ' build/fuzz-$$t.log; done

# dist/avin-<version>-linux-x86_64.tar.gz, built inside a Debian 11 root (glibc 2.31); needs root.
binary:
	bash packaging/build-linux-binary.sh

# The extracted binary in a clean environment: --version, a headless run, status, TUI, kill/resume;
# here, then inside a minimal Debian 11 root without Python (glibc 2.31; needs root).
smoke:
	bash packaging/smoke.sh dist/avin-$(VERSION)-linux-x86_64.tar.gz
	bash packaging/smoke-bullseye.sh dist/avin-$(VERSION)-linux-x86_64.tar.gz

hooks: $(STAMP)
	$(BIN)/python -m pip install --quiet pre-commit
	$(BIN)/pre-commit install

release: lint test build binary smoke
	$(MAKE) release-files

# this version's CHANGELOG section and the checksums of the wheel and sdist next to the binary's
release-files:
	$(PYTHON) packaging/changelog_section.py $(VERSION) > dist/RELEASE_NOTES-$(VERSION).md
	cd dist && for f in avin-$(VERSION).tar.gz avin-$(VERSION)-py3-none-any.whl; do \
	  { grep -v "  $$f$$" SHA256SUMS || true; } > SHA256SUMS.new && sha256sum "$$f" >> SHA256SUMS.new \
	  && mv SHA256SUMS.new SHA256SUMS || exit 1; done
	@echo "release $(VERSION) in dist/:"; ls -l dist; cat dist/SHA256SUMS

clean:
	rm -rf $(VENV) .native dist build *.egg-info .pytest_cache .mypy_cache .ruff_cache
