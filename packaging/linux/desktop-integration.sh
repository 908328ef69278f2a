#!/bin/sh
# Puts the RAVATAR Live launcher entry and icons into the user's XDG data dir, or takes them out.
#
#   desktop-integration.sh install   --exec path/to/ravatar-live [--icons DIR] [--entry FILE]
#   desktop-integration.sh uninstall
#
# Files land in ${XDG_DATA_HOME:-~/.local/share}/applications and .../icons/hicolor, so the app shows
# up in the desktop's launcher and can be pinned. POSIX sh on purpose: the frozen bundle ships this
# script too and must not need Python to install itself.
set -eu

APP_ID=ai.rvtr.RavatarLive
SIZES="16 22 24 32 48 64 128 256 512"
here=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)

die() { echo "desktop-integration: $*" >&2; exit 1; }

action=${1:-}
[ -n "$action" ] || die "usage: $0 install --exec PATH [--icons DIR] [--entry FILE] | uninstall"
shift
exec_path=""
icon_dir="$here/../../resources/icons/app"
entry="$here/$APP_ID.desktop"
while [ $# -gt 0 ]; do
  case "$1" in
    --exec) [ $# -ge 2 ] || die "--exec needs a path"; exec_path=$2; shift 2 ;;
    --icons) [ $# -ge 2 ] || die "--icons needs a directory"; icon_dir=$2; shift 2 ;;
    --entry) [ $# -ge 2 ] || die "--entry needs a file"; entry=$2; shift 2 ;;
    *) die "unknown option: $1" ;;
  esac
done

data_home=${XDG_DATA_HOME:-}
if [ -z "$data_home" ]; then
  [ -n "${HOME:-}" ] || die "neither XDG_DATA_HOME nor HOME is set"
  data_home=$HOME/.local/share
fi
case "$data_home" in /*) ;; *) die "XDG_DATA_HOME must be an absolute path, got '$data_home'" ;; esac
apps_dir=$data_home/applications
hicolor=$data_home/icons/hicolor

# Quote a path for the Exec key (Desktop Entry spec, "The Exec key"): plain paths go bare; anything
# else is double-quoted with " ` $ \ backslash-escaped, then every backslash doubled again because
# the key is also a spec "string" value.
exec_quote() {
  case "$1" in
    *[!A-Za-z0-9/._+-]*)
      inner=$(printf '%s' "$1" | sed -e 's/[\\"`$]/\\&/g')
      printf '"%s"' "$inner" | sed -e 's/\\/\\\\/g' ;;
    *) printf '%s' "$1" ;;
  esac
}

# Tell launchers to look again; these tools are optional, so their absence is not an error.
refresh_caches() {
  if command -v update-desktop-database >/dev/null 2>&1 && [ -d "$apps_dir" ]; then
    update-desktop-database -q "$apps_dir" || true
  fi
  if [ -d "$hicolor" ]; then
    touch "$hicolor"  # GTK and KDE re-scan an icon dir whose mtime changed
    if [ -f "$hicolor/icon-theme.cache" ] && command -v gtk-update-icon-cache >/dev/null 2>&1; then
      gtk-update-icon-cache -q -t --ignore-theme-index "$hicolor" || true
    fi
  fi
}

do_install() {
  [ -n "$exec_path" ] || die "install needs --exec path/to/ravatar-live"
  case "$exec_path" in
    /*) ;;
    *) # relative to the current directory, e.g. dist/ravatar-live/ravatar-live
       dir=$(CDPATH='' cd -- "$(dirname -- "$exec_path")" 2>/dev/null && pwd) \
         || die "'$exec_path' is not an executable file (build or install the app first)"
       exec_path=$dir/$(basename -- "$exec_path") ;;
  esac
  case "$exec_path" in *"
"*) die "--exec must not contain a newline" ;; esac
  [ -x "$exec_path" ] || die "'$exec_path' is not an executable file (build or install the app first)"
  [ -f "$entry" ] || die "desktop entry template '$entry' not found"
  [ -f "$icon_dir/ravatar-live.svg" ] || die "icon source '$icon_dir/ravatar-live.svg' not found"

  quoted=$(exec_quote "$exec_path")
  # sed replacement text: escape & | and backslash so the quoted path goes in verbatim.
  repl=$(printf '%s' "$quoted" | sed -e 's/[\\&|]/\\&/g')
  mkdir -p "$apps_dir"
  tmp=$apps_dir/.$APP_ID.desktop.tmp
  sed -e "s|^Exec=.*|Exec=$repl|" -e "s|^TryExec=.*|TryExec=$repl|" "$entry" > "$tmp"
  mv -f "$tmp" "$apps_dir/$APP_ID.desktop"
  chmod 644 "$apps_dir/$APP_ID.desktop"

  for size in $SIZES; do
    png=$icon_dir/ravatar-live-$size.png
    [ -f "$png" ] || die "icon '$png' not found (run packaging/render_icons.py)"
    mkdir -p "$hicolor/${size}x${size}/apps"
    cp -f "$png" "$hicolor/${size}x${size}/apps/$APP_ID.png"
  done
  mkdir -p "$hicolor/scalable/apps"
  cp -f "$icon_dir/ravatar-live.svg" "$hicolor/scalable/apps/$APP_ID.svg"
  refresh_caches
  echo "Installed $apps_dir/$APP_ID.desktop (Exec=$quoted) and icons under $hicolor"
}

do_uninstall() {
  rm -f "$apps_dir/$APP_ID.desktop"
  for size in $SIZES; do
    rm -f "$hicolor/${size}x${size}/apps/$APP_ID.png"
  done
  rm -f "$hicolor/scalable/apps/$APP_ID.svg"
  refresh_caches
  echo "Removed the $APP_ID launcher entry and icons from $data_home"
}

case "$action" in
  install) do_install ;;
  uninstall) do_uninstall ;;
  *) die "unknown action '$action' (expected install or uninstall)" ;;
esac
