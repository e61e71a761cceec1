#!/usr/bin/env bash
# Smoke test of a built binary archive, as a user without Python would run it:
#   packaging/smoke.sh dist/avin-<version>-linux-x86_64.tar.gz
# The archive is extracted into an empty folder and every avin runs with a clean environment
# (env -i: HOME, PATH=/usr/bin:/bin, LANG, TERM and AVIN_HOME only; no venv, no PYTHONPATH).
# Checks: --version (version, commit, build date); `run --headless --duration 10` with fills;
# `status --json`; the TUI under tmux showing its five panes; `kill` and `resume` against a
# running headless robot. Exits non-zero on any failure.
set -uo pipefail
archive=$(readlink -f "${1:?usage: smoke.sh ARCHIVE.tar.gz}")
[ -f "$archive" ] || { echo "smoke: no archive $archive" >&2; exit 2; }
work=$(mktemp -d /tmp/avin-smoke.XXXXXX)
socket=avin-smoke-$$
passed=0 failed=0
bg_pid=
cleanup() {
  [ -n "$bg_pid" ] && kill "$bg_pid" 2>/dev/null
  tmux -L "$socket" kill-server 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
ok() { passed=$((passed + 1)); echo "ok   $*"; }
bad() { failed=$((failed + 1)); echo "FAIL $*"; }

mkdir "$work/extract" "$work/home"
tar -xzf "$archive" -C "$work/extract"
top=$(ls "$work/extract")
avin=$work/extract/$top/avin
[ "$(ls "$work/extract" | wc -l)" -eq 1 ] && [ -x "$avin" ] && ok "one folder $top with avin at its top" \
  || { bad "archive layout: $(ls "$work/extract")"; echo "0 passed, 1 failed"; exit 1; }

export_env=(HOME="$work/home" PATH=/usr/bin:/bin LANG=C.UTF-8 TERM=xterm-256color)
clean() { local home=$1; shift; env -i "${export_env[@]}" AVIN_HOME="$home" "$@"; }
# waits (bounded) until the command succeeds; returns its last status
wait_for() { local seconds=$1; shift; local end=$((SECONDS + seconds)); until "$@"; do
  [ "$SECONDS" -ge "$end" ] && return 1; sleep 0.5; done; }
json_field() { python_free_json "$1" "$2"; }
# a JSON string/number field of one flat object, without Python (the target has none)
python_free_json() { grep -o "\"$2\": *\"\{0,1\}[^,\"}]*" <<<"$1" | head -1 | sed 's/.*: *"\{0,1\}//'; }

# --- --version ----------------------------------------------------------------------------------
out=$(clean "$work/home/v" "$avin" --version 2>&1)
if [[ $out =~ ^avin\ [0-9]+\.[0-9]+.*commit\ [0-9a-f]{7}.*built\ [0-9]{4}-[0-9]{2}-[0-9]{2} ]]; then
  ok "--version: $out"
else
  bad "--version: $out"
fi

# --- a headless run with fills, then status --json -------------------------------------------------
h=$work/home/run
out=$(clean "$h" timeout 120 "$avin" run --headless --duration 10 2>&1); rc=$?
fills=$(grep -o '[0-9]* fills' <<<"$out" | tail -1 | cut -d' ' -f1)
if [ "$rc" -eq 0 ] && [ "${fills:-0}" -gt 0 ]; then ok "run --headless --duration 10: $fills fills"
else bad "run --headless (rc $rc): $(tail -5 <<<"$out")"; fi
status=$(clean "$h" "$avin" status --json 2>&1); rc=$?
if [ "$rc" -eq 0 ] && [ "$(json_field "$status" mode)" = sim ] && [ "$(json_field "$status" ever_run)" = true ] \
   && [ "$(json_field "$status" trading_state)" = ACTIVE ]; then
  ok "status --json: mode sim, ACTIVE, ever_run"
else
  bad "status --json (rc $rc): ${status:0:300}"
fi

# --- data import and a backtest (Parquet without pyarrow, rule strategies without numba) ---------
h=$work/home/data
mkdir -p "$h"
awk 'BEGIN { print "datetime;open;high;low;close;volume";
  for (d = 0; d < 12; d++) for (i = 0; i < 500; i++) {
    t = 1708412400 + d * 86400 + i * 60; p = 300 + 5 * sin((d * 500 + i) / 40);
    printf "%s;%.2f;%.2f;%.2f;%.2f;%d\n", strftime("%Y-%m-%d %H:%M:%S", t, 1), p, p + 0.5, p - 0.5, p + 0.1, 100 + i } }' \
  >"$h/SBER.csv" 2>/dev/null || true
if [ -s "$h/SBER.csv" ]; then
  out=$(clean "$h" "$avin" data import "$h/SBER.csv" --ticker SBER 2>&1); rc=$?
  [ "$rc" -eq 0 ] && grep -q '6,000 new' <<<"$out" && ok "data import: 6,000 bars" || bad "data import (rc $rc): $(tail -3 <<<"$out")"
  out=$(clean "$h" "$avin" data export SBER --tf 5M -o "$h/sber5.parquet" 2>&1); rc=$?
  [ "$rc" -eq 0 ] && [ -s "$h/sber5.parquet" ] && ok "data export to Parquet: $out" || bad "data export (rc $rc): $out"
  out=$(clean "$h" "$avin" backtest sma_cross_rule --tickers SBER --from 2024-02-28 --to 2024-03-02 2>&1); rc=$?
  [ "$rc" -eq 0 ] && grep -q 'saved:' <<<"$out" && ok "backtest sma_cross_rule" || bad "backtest (rc $rc): $(tail -3 <<<"$out")"
else
  echo "skip data checks: this awk has no strftime (mawk); they run where gawk or busybox awk is"
fi

# --- the TUI under tmux: five panes --------------------------------------------------------------
h=$work/home/tui
if command -v tmux >/dev/null; then
  tmux -L "$socket" -f /dev/null new-session -d -x 120 -y 40 \
    "env -i ${export_env[*]} AVIN_HOME=$h $avin run --speed 600; sleep 30"
  screen() { tmux -L "$socket" capture-pane -p; }
  five_panes() { local s; s=$(screen); for t in Strategies Orders Positions Log Chart; do
    grep -q "$t" <<<"$s" || return 1; done; grep -q MSK <<<"$s"; }
  if wait_for 60 five_panes && ! screen | grep -q Traceback; then ok "TUI in tmux 120x40: five panes"
  else bad "TUI: $(screen | head -40)"; fi
  tmux -L "$socket" send-keys q
  wait_for 20 sh -c "! tmux -L $socket capture-pane -p | grep -q Strategies" && ok "TUI quits on q" \
    || bad "TUI did not quit on q"
  tmux -L "$socket" kill-server 2>/dev/null
else
  bad "tmux is missing: the TUI check cannot run"
fi

# --- kill and resume against a running headless robot ----------------------------------------------
h=$work/home/kill
clean "$h" "$avin" run --headless --duration 120 >"$work/bg.log" 2>&1 &
bg_pid=$!
running() { [ "$(json_field "$(clean "$h" "$avin" status --json 2>/dev/null)" running)" = true ]; }
if wait_for 60 running; then
  clean "$h" "$avin" kill --reason smoke >"$work/kill.log" 2>&1; rc=$?
  state=$(json_field "$(clean "$h" "$avin" status --json)" trading_state)
  [ "$rc" -eq 0 ] && [ "$state" = HALTED ] && ok "kill: HALTED" || bad "kill (rc $rc, $state): $(cat "$work/kill.log")"
  clean "$h" "$avin" resume --yes >"$work/resume.log" 2>&1; rc=$?
  state=$(json_field "$(clean "$h" "$avin" status --json)" trading_state)
  [ "$rc" -eq 0 ] && [ "$state" = ACTIVE ] && ok "resume: ACTIVE" || bad "resume (rc $rc, $state): $(cat "$work/resume.log")"
else
  bad "the headless robot never reported running: $(tail -5 "$work/bg.log")"
fi
kill "$bg_pid" 2>/dev/null; wait "$bg_pid" 2>/dev/null; bg_pid=
grep -q Traceback "$work/bg.log" && bad "traceback in the headless log" || ok "no traceback in the headless log"

if [ "$failed" -eq 0 ]; then echo "smoke: all $passed checks of the binary passed"
else echo "smoke: $failed of $((passed + failed)) checks of the binary FAILED"; exit 1; fi
