#!/usr/bin/env bash
# Waiting for another package manager (apt, dpkg, unattended-upgrades) to let go of its locks,
# instead of failing at once with "Could not get lock". Sourced by system-deps.sh; on its own,
# `scripts/package-locks.sh` waits and exits 0 once the locks are free (1 if it gave up).
#
# A lock is held when /proc/locks lists the lock file's device and inode; that covers dpkg's and
# apt's fcntl locks and flock(1) alike, needs no extra tool, and never takes the lock itself
# (probing by locking could make a starting apt fail).
#   PACKAGE_LOCKS       the files to watch (default: dpkg's and apt's)
#   PACKAGE_LOCK_WAIT_S how long to wait before giving up (default 600)
#   PACKAGE_LOCK_POLL_S how often to look again (default 2)

PACKAGE_LOCKS=${PACKAGE_LOCKS:-/var/lib/dpkg/lock-frontend /var/lib/dpkg/lock /var/lib/apt/lists/lock /var/cache/apt/archives/lock}
PACKAGE_LOCK_WAIT_S=${PACKAGE_LOCK_WAIT_S:-600}
PACKAGE_LOCK_POLL_S=${PACKAGE_LOCK_POLL_S:-2}

# Prints the pid that holds a lock on file $1; prints nothing when it is free.
lock_holder() {
  local dev ino major minor id
  [ -e "$1" ] || return 0
  read -r dev ino < <(stat -L -c '%d %i' "$1") || return 0
  # st_dev as the kernel splits it (see makedev(3)); /proc/locks prints MAJOR:MINOR:INODE.
  major=$(( ((dev >> 8) & 0xfff) | ((dev >> 32) & ~0xfff) ))
  minor=$(( (dev & 0xff) | ((dev >> 12) & ~0xff) ))
  id=$(printf '%02x:%02x:%d' "$major" "$minor" "$ino")
  # "1: POSIX  ADVISORY  WRITE 1234 08:01:1312 0 EOF" (a waiter's line has "->" after "1:").
  awk -v id="$id" '{ for (i = 2; i <= NF; i++) if ($i == id) { print $(i - 1); exit } }' \
    /proc/locks
}

# Waits until none of PACKAGE_LOCKS is held, saying so once; 1 after PACKAGE_LOCK_WAIT_S.
wait_for_package_locks() {
  local started=$SECONDS said="" file pid name
  while :; do
    pid=""
    for file in $PACKAGE_LOCKS; do
      pid=$(lock_holder "$file")
      [ -n "$pid" ] && break
    done
    [ -z "$pid" ] && return 0
    if [ -z "$said" ]; then
      name=$(cat "/proc/$pid/comm" 2>/dev/null || echo "another program")
      echo "Waiting for another package manager to finish: $name (process $pid) holds $file." \
        "This continues by itself once it is done (giving up after ${PACKAGE_LOCK_WAIT_S} s)."
      said=1
    fi
    if (( SECONDS - started >= PACKAGE_LOCK_WAIT_S )); then
      echo "Gave up after $((SECONDS - started)) s: $file is still locked by process $pid." \
        "Let it finish (or stop it), then run this again." >&2
      return 1
    fi
    sleep "$PACKAGE_LOCK_POLL_S"
  done
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  wait_for_package_locks
fi
