#!/bin/sh
# sysextkit boot probe: placed into the guest by `sysextkit test`, started once the boot has finished.
# It writes what it finds to the report disk (one line per section: "NAME EXIT-CODE BASE64-OUTPUT"),
# rewriting the whole report after each section so a guest that hangs later still reports what it had,
# then powers the guest off. Inputs are plain files in /var/lib/sysextkit-probe written by sysextkit:
#   settings  DEADLINE= (guest uptime by which to stop waiting for the boot), BOOT_WAIT= (the same,
#             counted from the probe's start), SETTLE=, JOBS_WAIT=, STALL=, RUN_TIMEOUT= (whole
#             seconds)
#   units     "EXTENSION KIND VALUE" lines; KIND is dropin (a unit drop-in naming Upholds=/Wants=/
#             Requires=), unit (a unit name) or want (a unit linked in a .wants/ or .upholds/ directory)
#   files     one guest path per line (--expect-file)
#   run/N.sh  commands (--run), run with sh in order
set -u
export LC_ALL=C SYSTEMD_PAGER= SYSTEMD_COLORS=0 PATH=/usr/sbin:/usr/bin:/sbin:/bin
P=/var/lib/sysextkit-probe
DEADLINE=450
SETTLE=5
JOBS_WAIT=30
STALL=60
BOOT_WAIT=420
RUN_TIMEOUT=120
. "$P/settings"
# Stop waiting for the boot BOOT_WAIT seconds after the probe started (it starts with basic.target).
up0=$(cut -d. -f1 /proc/uptime)
[ $((up0 + BOOT_WAIT)) -ge "$DEADLINE" ] || DEADLINE=$((up0 + BOOT_WAIT))
R=/run/sysextkit-report
T=/run/sysextkit-section
: >"$R"

DEV=
for s in /sys/block/*/serial; do
  if [ "$(cat "$s" 2>/dev/null)" = sysextkit-report ]; then
    d=${s%/serial}
    DEV=/dev/${d##*/}
  fi
done

flush() {
  [ -z "$DEV" ] || dd if="$R" of="$DEV" bs=65536 conv=notrunc,fsync status=none 2>/dev/null
}

# section NAME LIMIT COMMAND...: run COMMAND for at most LIMIT seconds; record its exit code and output.
section() {
  name=$1
  limit=$2
  shift 2
  timeout -k 5 "$limit" "$@" >"$T" 2>&1 </dev/null
  rc=$?
  printf '%s %s ' "$name" "$rc" >>"$R"
  head -c 262144 "$T" | base64 -w0 >>"$R"
  echo >>"$R"
  flush
}

section probe-start 5 cat /proc/uptime
# The boot is far enough when the manager has finished starting, or the default target is active, or the
# boot has stalled: the same units' jobs queued for STALL seconds (job ids left out: a unit restarting
# in a loop is no progress), as when an agent waits for its cloud forever and keeps the manager "starting";
# at the latest at DEADLINE. A stall is recorded in /run/sysextkit-stall.
section boot-wait $((DEADLINE + 30)) sh -c 'last=; since=$(cut -d. -f1 /proc/uptime)
  while [ "$(cut -d. -f1 /proc/uptime)" -lt "$1" ]; do
    s=$(systemctl is-system-running); case "$s" in initializing|starting) ;; *) break ;; esac
    systemctl -q is-active default.target && break
    jobs=$(systemctl list-jobs --no-legend --no-pager | awk "{print \$2, \$3, \$4}" | sort); now=$(cut -d. -f1 /proc/uptime)
    if [ "$jobs" != "$last" ]; then last=$jobs; since=$now
    elif [ $((now - since)) -ge "$2" ]; then
      printf "%s\n" "$jobs" >/run/sysextkit-stall; break; fi
    sleep 2; done
  systemctl is-system-running; cat /proc/uptime' sh "$DEADLINE" "$STALL"
section boot-stall 5 sh -c 'cat /run/sysextkit-stall 2>/dev/null; true'
# Units started late (Upholds= restarts, timers) get SETTLE seconds; queued jobs JOBS_WAIT more.
section settle $((SETTLE + JOBS_WAIT + 60)) sh -c 'sleep "$1"; end=$(( $(cut -d. -f1 /proc/uptime) + $2 ))
  while [ -n "$(systemctl list-jobs --no-legend)" ] && [ "$(cut -d. -f1 /proc/uptime)" -lt "$end" ]; do sleep 1; done
  systemctl list-jobs --no-legend; systemctl is-system-running; cat /proc/uptime' sh "$SETTLE" "$JOBS_WAIT"
section os-release 5 cat /etc/os-release
section systemd-version 5 systemctl --version
section detect-virt 5 systemd-detect-virt
section dmi 5 sh -c 'cd /sys/class/dmi/id 2>/dev/null || exit 0
  for f in sys_vendor product_name product_version bios_vendor board_vendor chassis_asset_tag; do
    printf "%s=%s\n" "$f" "$(cat "$f" 2>/dev/null)"; done'
section cmdline 5 cat /proc/cmdline
section sysext-unit 10 systemctl show systemd-sysext.service -p LoadState -p UnitFileState \
  -p ActiveState -p SubState -p Result -p ExecMainStatus
section sysext-status 20 systemd-sysext status --no-pager
section sysext-status-json 20 systemd-sysext status --json=short
section sysext-list 20 systemd-sysext list --no-pager
section sysext-journal 20 journalctl -b --no-pager -o short-monotonic -u systemd-sysext.service
section extension-dirs 10 sh -c 'for d in /etc/extensions /run/extensions /var/lib/extensions \
  /usr/local/lib/extensions /usr/lib/extensions; do [ -d "$d" ] && ls -la "$d"; done; true'

SEEN=" "
probe_unit() {
  case "$SEEN" in *" $2 "*) return ;; esac
  SEEN="$SEEN$2 "
  section "unit:$1:$2" 10 systemctl show "$2" -p Id -p Names -p LoadState -p LoadError \
    -p ActiveState -p SubState -p Result -p ExecMainCode -p ExecMainStatus -p ConditionResult \
    -p AssertResult -p NRestarts -p FragmentPath -p DropInPaths -p UnitFileState -p StatusText \
    -p ConditionTimestampMonotonic -p AssertTimestampMonotonic -p InactiveExitTimestampMonotonic
  section "conditions:$2" 10 sh -c 'p=$(busctl call org.freedesktop.systemd1 /org/freedesktop/systemd1 \
      org.freedesktop.systemd1.Manager LoadUnit s "$1" | sed -n "s/^o \"\(.*\)\"$/\1/p")
    busctl --json=short get-property org.freedesktop.systemd1 "$p" org.freedesktop.systemd1.Unit \
      Conditions Asserts' sh "$2"
  section "unit-journal:$2" 10 sh -c 'journalctl -b --no-pager -o short-monotonic -n 40 \
    -u "$(systemctl show -p Id --value "$1")"' sh "$2"
}

if [ -f "$P/units" ]; then
  while read -r ext kind value; do
    case "$kind" in
      dropin)
        section "dropin:$ext:$value" 5 cat "$value"
        t=${value%/*}
        t=${t##*/}
        section "target:$ext:${t%.d}" 10 systemctl show "${t%.d}" -p Id -p ActiveState -p NeedDaemonReload \
          -p DropInPaths -p Upholds -p Wants
        for u in $(sed -nE 's/^[[:space:]]*(Upholds|Wants|Requires)[[:space:]]*=//p' "$value" 2>/dev/null); do
          probe_unit "$ext" "$u"
        done
        ;;
      unit | want) probe_unit "$ext" "$value" ;;
    esac
  done <"$P/units"
fi

if [ -f "$P/files" ]; then
  n=0
  while IFS= read -r f; do
    n=$((n + 1))
    section "file:$n" 5 stat -c '%F|%a|%U|%G|%s' -- "$f"
  done <"$P/files"
fi

if [ -d "$P/run" ]; then
  for f in $(ls "$P/run" | sort -n); do
    section "run:${f%.sh}" "$RUN_TIMEOUT" sh "$P/run/$f"
  done
fi

section failed-units 10 systemctl list-units --failed --all --plain --no-legend --no-pager
section journal-errors 20 sh -c 'journalctl -b -p err --no-pager -o short-monotonic | tail -n 300'
section analyze 20 systemd-analyze time
section blame 20 sh -c 'systemd-analyze blame --no-pager | head -n 15'
section probe-end 5 cat /proc/uptime
sync
systemctl --no-block poweroff
