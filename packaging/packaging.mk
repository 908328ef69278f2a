# Desktop launcher and frozen build targets. Included from the top-level Makefile
# (`include packaging/packaging.mk`), or run on its own: `make -f packaging/packaging.mk <target>`.
#
#   make install-desktop     launcher entry + icons into $XDG_DATA_HOME (default ~/.local/share),
#                            starting the venv's ravatar-live; for the frozen app instead:
#                            `make install-desktop DESKTOP_EXEC=dist/ravatar-live/ravatar-live`
#   make uninstall-desktop   remove them again
#   make package             PyInstaller one-folder build -> dist/ravatar-live/
#   make smoke-frozen        build if stale, then start the frozen app headless and check it
#   make icons               re-render the PNG/ICO/ICNS icons from the SVG source

VENV ?= .venv
BIN ?= $(VENV)/bin

FROZEN_DIST ?= dist
FROZEN_WORK ?= build/pyinstaller
FROZEN_EXE := $(FROZEN_DIST)/ravatar-live/ravatar-live
# --virtual-mic: a private PulseAudio microphone proves capture and the VAD model work frozen.
SMOKE_ARGS ?= --virtual-mic

# When included from the top-level Makefile, build against its installed venv; on our own we
# assume the venv exists (the recipes fail with a clear message if it does not).
PKG_VENV_READY := $(if $(filter Makefile,$(MAKEFILE_LIST)),$(VENV)/.run-installed)
# Anything that changes the bundle; pyproject.toml stands in for the installed dependencies.
PKG_INPUTS := $(shell find app/ravatar_live resources packaging -type f \
                -not -path '*/__pycache__/*' -not -name '*.pyc' 2>/dev/null) pyproject.toml

.PHONY: install-desktop uninstall-desktop package smoke-frozen icons

# DESKTOP_EXEC is read from the environment (make exports command-line variables), so a path
# with spaces arrives intact.
install-desktop:
	sh packaging/linux/desktop-integration.sh install --exec "$${DESKTOP_EXEC:-$(BIN)/ravatar-live}"

uninstall-desktop:
	sh packaging/linux/desktop-integration.sh uninstall

package: $(FROZEN_EXE)

$(FROZEN_EXE): $(PKG_INPUTS) | $(PKG_VENV_READY)
	@test -x $(BIN)/python || { echo "No venv at $(VENV): run 'make run' or 'make test' first"; exit 1; }
	@$(BIN)/python -c "import PyInstaller" 2>/dev/null || $(BIN)/pip install -q -r packaging/requirements-build.txt
	$(BIN)/python -m PyInstaller --noconfirm --clean --log-level WARN \
	  --distpath $(FROZEN_DIST) --workpath $(FROZEN_WORK) packaging/ravatar-live.spec
	@touch $@
	@du -sh $(FROZEN_DIST)/ravatar-live

smoke-frozen: $(FROZEN_EXE)
	$(BIN)/python packaging/smoke_frozen.py --app $(FROZEN_EXE) $(SMOKE_ARGS)

icons:
	$(BIN)/python packaging/render_icons.py
