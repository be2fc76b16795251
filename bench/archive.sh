#!/usr/bin/env bash
# xmppctl archive sync vs a minimal slixmpp MAM pager (Debian python3-slixmpp,
# bench/mam_pager.py) on the same local Prosody, same archive, same page size:
# time to fetch an archive of N messages (default 10,000), median of RUNS runs,
# each xmppctl run into a fresh local store (so it also writes every message to
# SQLite, which the pager does not). Also: xmppctl --no-pipeline (forward only,
# each query sent after the previous page is stored; the default walks from
# both ends with the other end's query always queued at the server), client
# CPU (user+sys), peak RSS, and Prosody's CPU for
# the same run and per page (what "bounded by the server" means), and how
# long Prosody slept during the run (nothing to do: waiting for the client)
# apart from the time it waited for a CPU (/proc/PID/schedstat). Runs are
# interleaved; ratios are taken per round (same load) and printed as
# median [min–max], since a loaded machine makes single figures meaningless.
# Usage: bench/archive.sh [RUNS] [N] [PAGE]   (defaults 5 10000 250)
# Extra server settings via the environment, e.g. XMPP_NAGLE=false bench/archive.sh
# BASELINE=/path/to/older/xmppctl adds that binary's sync to every round
# (before/after figures from the same run).
source "$(dirname "$0")/lib.sh"
RUNS="${1:-5}"; N="${2:-10000}"; PAGE="${3:-250}"
/usr/bin/python3 -c 'import slixmpp' 2>/dev/null || { echo "needs python3-slixmpp (apt-get install python3-slixmpp)" >&2; exit 1; }
start_server XMPP_MAX_ARCHIVE="$PAGE" ${XMPP_NAGLE:+XMPP_NAGLE=$XMPP_NAGLE}
build_xmppctl
X=("$XMPPCTL" --server "$XMPP_HOST:$XMPP_C2S_PORT" --tls starttls --ca-file "$XMPP_CA_FILE")
A=(env XMPPCTL_JID="alice@$XMPP_DOMAIN" XMPPCTL_PASSWORD=alicepass)
B=(env XMPPCTL_JID="bob@$XMPP_DOMAIN" XMPPCTL_PASSWORD=bobpass)

# Fill alice's archive: bob sends N messages while alice is online (listen),
# so that nothing piles up in offline storage to be flushed into later logins.
"${A[@]}" "${X[@]}" --data-dir "$SRV_DIR/listen" listen >/dev/null 2>&1 &
LPID=$!
trap 'kill $LPID 2>/dev/null || true; stop_server' EXIT
sleep 1
seq -f 'archived message %05g' 1 "$N" | "${B[@]}" "${X[@]}" --data-dir "$SRV_DIR/bob" send --lines "alice@$XMPP_DOMAIN"
kill -INT $LPID; wait $LPID 2>/dev/null || true
have=$(archived_count alice "bob@")
echo "archive of alice: $have messages (page size $PAGE, server max_archive_query_results=$PAGE)"

server_cpu() { awk '{print ($14+$15)/100}' "/proc/$XMPP_PID/stat"; }
# server_sched: "ns on a CPU, ns waiting for one, ns now" (Prosody is one thread).
server_sched() { echo "$(cut -d' ' -f1-2 "/proc/$XMPP_PID/schedstat") $(date +%s%N)"; }

# run NAME CMD...: one timed run; appends "wall cpu rss_mib server_cpu
# server_idle server_runq" to $SRV_DIR/NAME (idle: the server slept, waiting
# for input; runq: it was ready but waited for a CPU, i.e. machine load).
run() {
  local name="$1"; shift
  local s0 s1 out q0 q1
  s0=$(server_cpu); q0=$(server_sched)
  /usr/bin/time -o "$SRV_DIR/time.out" -f '%e %U %S %M' "$@" > "$SRV_DIR/$name.stdout" 2>"$SRV_DIR/$name.stderr" \
    || { echo "$name failed:"; cat "$SRV_DIR/$name.stderr"; exit 1; }
  s1=$(server_cpu); q1=$(server_sched)
  out=$(tail -1 "$SRV_DIR/time.out")
  read -r w u s m <<<"$out"
  read -r r0 wq0 t0 <<<"$q0"; read -r r1 wq1 t1 <<<"$q1"
  echo "$w $(awk -v u="$u" -v s="$s" 'BEGIN{print u+s}') $(awk -v m="$m" 'BEGIN{print m/1024}') $(awk -v a="$s0" -v b="$s1" 'BEGIN{print b-a}')" \
    "$(awk -v r="$((r1 - r0))" -v q="$((wq1 - wq0))" -v t="$((t1 - t0))" 'BEGIN{printf "%.3f %.3f", (t-r-q)/1e9, q/1e9}')" >> "$SRV_DIR/$name"
}

xsync() { rm -rf "$SRV_DIR/store"; run "$1" "${A[@]}" "${X[@]}" --data-dir "$SRV_DIR/store" --json archive sync --page-size "$PAGE" "${@:2}"; }
XB=("${BASELINE:-}" "${X[@]:1}")
bsync() { rm -rf "$SRV_DIR/store"; run baseline "${A[@]}" "${XB[@]}" --data-dir "$SRV_DIR/store" --json archive sync --page-size "$PAGE"; }
pager() { run slixmpp /usr/bin/python3 "$ROOT/bench/mam_pager.py" "alice@$XMPP_DOMAIN" alicepass "$XMPP_HOST" "$XMPP_C2S_PORT" "$XMPP_CA_FILE" "$PAGE"; }

xsync warmup; pager; rm -f "$SRV_DIR/warmup" "$SRV_DIR/slixmpp"   # warm caches, SASL memory
for _ in $(seq 1 "$RUNS"); do   # interleaved: each round runs all of them under the same load
  xsync pipelined
  xsync nopipe --no-pipeline
  pager
  [ -z "${BASELINE:-}" ] || bsync
done
got=$(sed -n 's/.*"new":\([0-9]*\).*/\1/p' "$SRV_DIR/pipelined.stdout")
pgot=$(cat "$SRV_DIR/slixmpp.stdout")
[ "$got" = "$have" ] && [ "$pgot" = "$have" ] || { echo "count mismatch: xmppctl $got, slixmpp $pgot, archive $have" >&2; exit 1; }

# stat COL FILE: "median min max" of column COL.
stat() { awk -v c="$1" '{print $c}' "$SRV_DIR/$2" | sort -g | awk '{a[NR]=$1} END {printf "%s %s %s", a[int((NR+1)/2)], a[1], a[NR]}'; }
# pstat COL A B: "median min max" of the per-round ratios A/B of column COL (round i of A with round i of B).
pstat() {
  paste -d' ' <(awk -v c="$1" '{print $c}' "$SRV_DIR/$2") <(awk -v c="$1" '{print $c}' "$SRV_DIR/$3") \
    | awk '$2 > 0 {printf "%.3f\n", $1/$2}' | sort -g | awk '{a[NR]=$1} END {printf "%.2f %.2f %.2f", a[int((NR+1)/2)], a[1], a[NR]}'
}
fmt() { read -r med lo hi <<<"$1"; printf '%.2f [%.2f–%.2f]' "$med" "$lo" "$hi"; }
pages=$(( (have + PAGE - 1) / PAGE ))
printf '%-28s %-20s %-20s %-20s %-20s %-18s %-20s %s\n' "$RUNS runs: median [min–max]" "wall s" "client CPU s" "peak RSS MiB" "server CPU s" "server CPU ms/page" "server idle s" "server runq s"
names="pipelined nopipe slixmpp"
[ -z "${BASELINE:-}" ] || names="$names baseline"
for name in $names; do
  label=$name
  [ "$name" = pipelined ] && label="xmppctl archive sync"
  [ "$name" = nopipe ] && label="xmppctl --no-pipeline"
  [ "$name" = slixmpp ] && label="slixmpp pager (no storage)"
  [ "$name" = baseline ] && label="BASELINE archive sync"
  sc=$(stat 4 "$name")
  printf '%-28s %-20s %-20s %-20s %-20s %-18.0f %-20s %s\n' "$label" "$(fmt "$(stat 1 "$name")")" "$(fmt "$(stat 2 "$name")")" \
    "$(fmt "$(stat 3 "$name")")" "$(fmt "$sc")" "$(awk -v s="${sc%% *}" -v p="$pages" 'BEGIN{print 1000*s/p}')" \
    "$(fmt "$(stat 5 "$name")")" "$(fmt "$(stat 6 "$name")")"
done
echo "ratios xmppctl/slixmpp, per round, median [min–max] (target: wall ≤ 0.6, client CPU ≤ 0.4 s absolute, RSS ≤ 20 MiB absolute):"
printf '  wall %s   client CPU %s   peak RSS %s   server CPU %s\n' "$(fmt "$(pstat 1 pipelined slixmpp)")" \
  "$(fmt "$(pstat 2 pipelined slixmpp)")" "$(fmt "$(pstat 3 pipelined slixmpp)")" "$(fmt "$(pstat 4 pipelined slixmpp)")"
echo "  pipelined/not, wall: $(fmt "$(pstat 1 pipelined nopipe)")"
[ -z "${BASELINE:-}" ] || printf '  this build/BASELINE: wall %s   client CPU %s   peak RSS %s   server CPU %s\n' "$(fmt "$(pstat 1 pipelined baseline)")" \
  "$(fmt "$(pstat 2 pipelined baseline)")" "$(fmt "$(pstat 3 pipelined baseline)")" "$(fmt "$(pstat 4 pipelined baseline)")"
paste -d' ' <(awk '{print $1}' "$SRV_DIR/pipelined") <(awk '{print $4}' "$SRV_DIR/pipelined") > "$SRV_DIR/wall_srv"
echo "server bound: Prosody is single-threaded; xmppctl's wall / the server CPU of its run: $(awk '{printf "%.3f\n", $1/$2}' "$SRV_DIR/wall_srv" | sort -g | awk '{a[NR]=$1} END {printf "%.2f [%.2f–%.2f]", a[int((NR+1)/2)], a[1], a[NR]}') (1.00 = nothing left to gain on the client)"
echo "  of the wall, Prosody slept (waiting for xmppctl: login, the client reading a page before it sends the next query) $(fmt "$(stat 5 pipelined)") s and waited for a CPU (load) $(fmt "$(stat 6 pipelined)") s"
echo "load average during the run: $(cut -d' ' -f1-3 /proc/loadavg) (2 cores; other work on the machine inflates every wall time)"
echo "all $have messages fetched by every run ($pages pages); each xmppctl run stored them all (new=$got)"
