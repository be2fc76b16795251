#!/usr/bin/env bash
# xmppctl archive sync vs a minimal slixmpp MAM pager (Debian python3-slixmpp,
# bench/mam_pager.py) on the same local Prosody, same archive, same page size:
# time to fetch an archive of N messages (default 10,000), median of RUNS runs,
# each xmppctl run into a fresh local store (so it also writes every message to
# SQLite, which the pager does not). Also: xmppctl without pipelining (waits for
# each page's <fin/>), client CPU (user+sys) and its share of the wall time, and
# Prosody's CPU for the same run (what "bounded by the server" means).
# Usage: bench/archive.sh [RUNS] [N] [PAGE]   (defaults 5 10000 250)
# Extra server settings via the environment, e.g. XMPP_NAGLE=false bench/archive.sh
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

# run NAME CMD...: one timed run; appends "wall cpu server_cpu" to $SRV_DIR/NAME.
run() {
  local name="$1"; shift
  local s0 s1 out
  s0=$(server_cpu)
  /usr/bin/time -o "$SRV_DIR/time.out" -f '%e %U %S' "$@" > "$SRV_DIR/$name.stdout" 2>"$SRV_DIR/$name.stderr" \
    || { echo "$name failed:"; cat "$SRV_DIR/$name.stderr"; exit 1; }
  s1=$(server_cpu)
  out=$(tail -1 "$SRV_DIR/time.out")
  read -r w u s <<<"$out"
  echo "$w $(awk -v u="$u" -v s="$s" 'BEGIN{print u+s}') $(awk -v a="$s0" -v b="$s1" 'BEGIN{print b-a}')" >> "$SRV_DIR/$name"
}

xsync() { rm -rf "$SRV_DIR/store"; run "$1" "${A[@]}" "${X[@]}" --data-dir "$SRV_DIR/store" --json archive sync --page-size "$PAGE" "${@:2}"; }
pager() { run slixmpp /usr/bin/python3 "$ROOT/bench/mam_pager.py" "alice@$XMPP_DOMAIN" alicepass "$XMPP_HOST" "$XMPP_C2S_PORT" "$XMPP_CA_FILE" "$PAGE"; }

xsync warmup; pager; rm -f "$SRV_DIR/warmup" "$SRV_DIR/slixmpp"   # warm caches, SASL memory
for _ in $(seq 1 "$RUNS"); do
  xsync pipelined
  xsync nopipe --no-pipeline
  pager
done
got=$(sed -n 's/.*"new":\([0-9]*\).*/\1/p' "$SRV_DIR/pipelined.stdout")
pgot=$(cat "$SRV_DIR/slixmpp.stdout")
[ "$got" = "$have" ] && [ "$pgot" = "$have" ] || { echo "count mismatch: xmppctl $got, slixmpp $pgot, archive $have" >&2; exit 1; }

col() { awk -v c="$1" '{print $c}' "$SRV_DIR/$2" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
printf '%-28s %8s %10s %8s %12s\n' "median of $RUNS" "wall s" "client CPU" "CPU/wall" "server CPU s"
for name in pipelined nopipe slixmpp; do
  w=$(col 1 "$name"); c=$(col 2 "$name"); sc=$(col 3 "$name")
  label=$name
  [ "$name" = pipelined ] && label="xmppctl archive sync"
  [ "$name" = nopipe ] && label="xmppctl --no-pipeline"
  [ "$name" = slixmpp ] && label="slixmpp pager (no storage)"
  printf '%-28s %8.3f %10.3f %7.0f%% %12.3f\n' "$label" "$w" "$c" "$(awk -v c="$c" -v w="$w" 'BEGIN{print 100*c/w}')" "$sc"
done
echo "ratio wall xmppctl/slixmpp: $(ratio "$(col 1 pipelined)" "$(col 1 slixmpp)")   pipelined/not: $(ratio "$(col 1 pipelined)" "$(col 1 nopipe)")"
echo "load average during the run: $(cut -d' ' -f1-3 /proc/loadavg) (2 cores; other work on the machine inflates every wall time)"
echo "all $have messages fetched by every run; each xmppctl run stored them all (new=$got)"
