#!/bin/sh
# Keeps one lab server running: joins the server's own cgroups, runs systemd-nspawn,
# starts it again when the server reboots (exit 133), and on SIGTERM powers it off.
# Usage: launcher.sh PIDFILE CGROUP_DIR... -- SYSTEMD-NSPAWN-ARGUMENTS...
pidfile=$1
shift
while [ "$1" != "--" ]; do
  echo $$ > "$1/cgroup.procs" || exit 1
  shift
done
shift
# Whole or absent: the lab reads it as soon as it exists (a rename, not a write in place).
echo $$ > "$pidfile.new" && mv "$pidfile.new" "$pidfile"
child=
trap 'if [ -n "$child" ]; then kill -TERM "$child" 2>/dev/null; wait "$child"; fi; exit 0' TERM INT
while :; do
  systemd-nspawn "$@" &
  child=$!
  wait "$child"
  rc=$?
  [ "$rc" -eq 133 ] || exit "$rc"
done
