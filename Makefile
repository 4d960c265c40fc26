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

.PHONY: run test lint bench bench-canvas bench-layout bench-window screenshots dist dist-check \
        install-desktop uninstall-desktop prerequisites system-libs clean

run: $(STAMP)
	@$(MAKE) --no-print-directory system-libs QT_DEBS="$(X11_DEBS)"
	$(VENV)/bin/plait $(ARGS)

test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check app widgets runtime tests benchmarks packaging
	$(VENV)/bin/ruff format --check app widgets runtime tests benchmarks packaging
	$(PY) -m pytest -q -p no:cacheprovider tests/test_layers.py

# Figures, not tests: each script prints medians of several runs.
bench: $(STAMP)
	$(PY) benchmarks/model.py
	$(PY) benchmarks/engine.py
	$(PY) benchmarks/logs.py
	QT_QPA_PLATFORM=offscreen $(PY) benchmarks/canvas.py
	QT_QPA_PLATFORM=offscreen $(PY) benchmarks/layout.py

bench-canvas: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(PY) benchmarks/canvas.py

# Auto-layout at 1,000 / 5,000 / 10,000 nodes: dot against the layered layout
# (ARGS=--slow-dot adds dot at 5,000 nodes: a minute or so).
bench-layout: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(PY) benchmarks/layout.py $(ARGS)

# Event-loop latency of the window while a 200-node chatty flow runs.
bench-window: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(PY) benchmarks/responsiveness.py

# The main window with an example flow, rendered offscreen in both themes,
# then during and after a real run (logs and outputs docks open).
screenshots: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(PY) -m plait.app.screenshots docs
	QT_QPA_PLATFORM=offscreen $(PY) -m plait.app.run_screenshots docs

# The wheel and sdist, and the desktop bundle dist/plait/ (PyInstaller, one
# folder). The bundle is built in a virtual environment of its own holding the
# wheel with its data extra, so it carries what the wheel carries. Debian's
# graphviz stands in for the one inside pygraphviz's wheel, whose libraries
# are padded to 108 MB. Minutes, not seconds: never part of `make test`.
BUNDLE_VENV := build/bundle-venv
BUNDLE_PY   := $(BUNDLE_VENV)/bin/python
BUNDLE_DEBS := graphviz libgraphviz-dev
PYINSTALLER := pyinstaller>=6.10,<7

dist: $(STAMP)
	@$(MAKE) --no-print-directory system-libs QT_DEBS="$(BUNDLE_DEBS)"
	rm -rf dist build/pyinstaller
	$(PY) -m build --outdir dist .
	@$(BUNDLE_PY) -m pip --version >/dev/null 2>&1 || { rm -rf $(BUNDLE_VENV) && $(PYTHON) -m venv $(BUNDLE_VENV); }
	$(BUNDLE_PY) -m pip install --quiet --upgrade pip
	$(BUNDLE_PY) -m pip install --quiet --force-reinstall --no-deps dist/plait-*.whl
	$(BUNDLE_PY) -m pip install --quiet "$$(ls dist/plait-*.whl)[data]" "$(PYINSTALLER)"
	$(BUNDLE_PY) -m pip install --quiet --force-reinstall --no-deps --no-binary pygraphviz \
	  "pygraphviz==$$($(BUNDLE_PY) -c 'from importlib.metadata import version; print(version("pygraphviz"))')"
	$(BUNDLE_PY) -m PyInstaller --noconfirm --log-level WARN --distpath dist \
	  --workpath build/pyinstaller packaging/plait.spec
	@du -sh dist/plait

# A smoke test of what `make dist` built, on fresh copies and fresh folders.
dist-check:
	$(PYTHON) packaging/dist_check.py

# The bundle in the desktop's applications menu (freedesktop.org menus).
APPLICATIONS := $(HOME)/.local/share/applications
ICONS        := $(HOME)/.local/share/icons/hicolor/scalable/apps

install-desktop:
	@test -x dist/plait/plait || { echo "No bundle at dist/plait/: run make dist first"; exit 1; }
	mkdir -p $(APPLICATIONS) $(ICONS)
	sed -e '/^#/d' -e 's|^Exec=.*|Exec="$(CURDIR)/dist/plait/plait" %f|' \
	    -e 's|^TryExec=.*|TryExec=$(CURDIR)/dist/plait/plait|' \
	    packaging/plait.desktop > $(APPLICATIONS)/plait.desktop
	cp packaging/plait.svg $(ICONS)/plait.svg
	@if command -v update-desktop-database >/dev/null 2>&1; then update-desktop-database -q $(APPLICATIONS); fi
	@if command -v gtk-update-icon-cache >/dev/null 2>&1; then \
	  gtk-update-icon-cache -q -t $(HOME)/.local/share/icons/hicolor; fi
	@echo "Plait is in your applications menu; it opens dist/plait/plait from this folder."

uninstall-desktop:
	rm -f $(APPLICATIONS)/plait.desktop $(ICONS)/plait.svg
	@if command -v update-desktop-database >/dev/null 2>&1; then update-desktop-database -q $(APPLICATIONS); fi

$(STAMP): pyproject.toml
	@$(MAKE) --no-print-directory system-libs
	@$(PY) -m pip --version >/dev/null 2>&1 || { $(MAKE) --no-print-directory prerequisites \
	  && rm -rf $(VENV) && echo "$(PYTHON) -m venv $(VENV)" && $(PYTHON) -m venv $(VENV); }
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[data,dask,dev]"
	touch $(STAMP)

# What making .venv needs from the system. On a fresh Debian `venv` would fail
# deep inside (no ensurepip); say in one line what to install instead.
prerequisites:
	@command -v $(PYTHON) >/dev/null 2>&1 || { \
	  echo "Plait needs Python 3.10 or newer: sudo apt-get install python3 python3-venv"; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10))' || { \
	  echo "Plait needs Python 3.10 or newer, and $(PYTHON) is $$($(PYTHON) -V 2>&1):" \
	       "install a newer one and run make PYTHON=python3.X"; exit 1; }
	@$(PYTHON) -c 'import venv, ensurepip' 2>/dev/null || { \
	  echo "Plait needs Python's venv module: sudo apt-get install" \
	       "python$$($(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])')-venv"; exit 1; }

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
	rm -rf $(VENV) build dist *.egg-info .pytest_cache
