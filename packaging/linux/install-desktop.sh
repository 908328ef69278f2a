#!/bin/sh
# Shipped inside the frozen bundle: adds this RAVATAR Live folder to the desktop's app launcher.
#   ./install-desktop.sh             install the entry and icons into ~/.local/share (XDG_DATA_HOME)
#   ./install-desktop.sh uninstall   remove them again
set -eu
here=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)
if [ "${1:-install}" = uninstall ]; then
  exec sh "$here/share/desktop-integration.sh" uninstall
fi
exec sh "$here/share/desktop-integration.sh" install --exec "$here/ravatar-live" \
  --icons "$here/share/icons" --entry "$here/share/ai.rvtr.RavatarLive.desktop"
