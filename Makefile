# Plait: `make run` launches the window, `make test` runs the whole suite.
# Both create .venv and install what they need on first use.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
QT_DEBS := fonts-dejavu-core libegl1 libgl1 libxkbcommon0 libfontconfig1 libdbus-1-3
# What Qt's X11 plugin needs on top, to open a window on a desktop.
X11_DEBS := libxcb-cursor0 libxkbcommon-x11-0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 \
            libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxcb-randr0

.PHONY: run test lint bench bench-canvas bench-window screenshots system-libs clean

run: $(STAMP)
	@$(MAKE) --no-print-directory system-libs QT_DEBS="$(X11_DEBS)"
	$(VENV)/bin/plait $(ARGS)

test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check app widgets runtime tests benchmarks
	$(VENV)/bin/lint-imports

# Figures, not tests: each script prints medians of several runs.
bench: $(STAMP)
	$(PY) benchmarks/model.py
	$(PY) benchmarks/engine.py
	QT_QPA_PLATFORM=offscreen $(PY) benchmarks/canvas.py

bench-canvas: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(PY) benchmarks/canvas.py

# Event-loop latency of the window while a 200-node chatty flow runs.
bench-window: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(PY) benchmarks/responsiveness.py

# The main window with an example flow, rendered offscreen in both themes,
# then during and after a real run (logs and outputs docks open).
screenshots: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(PY) -m plait.app.screenshots docs
	QT_QPA_PLATFORM=offscreen $(PY) -m plait.app.run_screenshots docs

$(STAMP): pyproject.toml
	@$(MAKE) --no-print-directory system-libs
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[data,dask,dev]"
	touch $(STAMP)

# Qt needs a few shared libraries that slim Debian images lack. Install the
# missing ones when we can (root with apt-get); otherwise say what is missing.
system-libs:
	@if command -v dpkg-query >/dev/null 2>&1; then \
	  missing=""; \
	  for p in $(QT_DEBS); do \
	    dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	  done; \
	  if [ -n "$$missing" ]; then \
	    if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	      echo "Installing Qt's system libraries:$$missing"; \
	      (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing) >/dev/null \
	        || echo "warning: could not install$$missing; Qt may fail to start"; \
	    else \
	      echo "warning: Qt needs these Debian packages:$$missing (run: sudo apt-get install$$missing)"; \
	    fi; \
	  fi; \
	fi

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
