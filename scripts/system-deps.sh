#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages that the app ("run") or the test suite ("test") needs.
# As root it installs them; otherwise it prints the one apt line to run and carries on.
set -euo pipefail
what=${1:-run}
# shellcheck source=scripts/package-locks.sh
. "$(dirname "$0")/package-locks.sh"

# Qt (xcb/offscreen platforms, QtWebEngine) and PulseAudio client libraries for QtMultimedia.
run_packages=(libpulse0 libegl1 libgl1 libfontconfig1 libdbus-1-3 libxkbcommon0 libxkbcommon-x11-0
  libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 libxcb-shape0
  libxcb-xinerama0 libxcb-randr0 libnss3 libxcomposite1 libxdamage1 libxrandr2 libxtst6 libxshmfence1
  libgbm1 fonts-dejavu-core espeak-ng portaudio19-dev)
# (portaudio19-dev: headers to build PyAudio, the default capture backend.)
# Test extras: a PulseAudio server for the virtual microphone, sox, Xvfb (+ x11-utils) for screenshots and window checks, xdotool for keys pressed in another window, dbus-daemon for the desktop-portal test, desktop-file-utils for the
# launcher check; flite and Festival with three English voices for the take-quality corpus
# (voices recorded from people, beside espeak-ng's formant voices; tests/support/voices.py).
test_packages=(pulseaudio pulseaudio-utils libasound2-plugins alsa-utils sox xdotool dbus-daemon
  xvfb x11-utils desktop-file-utils imagemagick
  flite festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts)

packages=("${run_packages[@]}")
[ "$what" = test ] && packages+=("${test_packages[@]}")

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  echo "Installing system packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Another apt (an update in the background, unattended-upgrades) may hold the locks: wait
  # for it, and let apt itself wait too should one start between our look and its own.
  wait_for_package_locks
  apt_wait=(-o "DPkg::Lock::Timeout=$PACKAGE_LOCK_WAIT_S")
  apt-get "${apt_wait[@]}" update -qq
  wait_for_package_locks
  apt-get "${apt_wait[@]}" install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "Some system packages are missing. Install them with:"
  echo "  sudo apt-get install -y ${missing[*]}"
  [ "$what" = test ] && exit 1
fi
