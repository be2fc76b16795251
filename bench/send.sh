#!/usr/bin/env bash
# xmppctl send vs go-sendxmpp (Debian) against the same local Prosody, in one run:
#  1. one message: RUNS interleaved rounds of xmppctl, go-sendxmpp (and the
#     base binary), whole-process wall, CPU and peak RSS with spread and ratios;
#  2. --lines: 1,000 lines piped in, wall time and how many the server archived;
#     then LINES_RUNS interleaved rounds of xmppctl send --lines against a
#     minimal slixmpp sender (bench/lines_sender.py: one session, then a ping
#     answered), each round's wall, CPU (user+sys) and peak RSS, printed as
#     median [min–max] with the per-round ratios and the load average.
# Usage: bench/send.sh [RUNS] [LINES_RUNS]   (defaults 11 5)
# BASE_XMPPCTL=/path/to/older/xmppctl adds that binary to both kinds of
# rounds (as "base"), for before/after figures from one run; SASL2=0 runs
# against a server without SASL2.
source "$(dirname "$0")/lib.sh"
RUNS="${1:-11}"; LINES_RUNS="${2:-5}"
command -v go-sendxmpp >/dev/null || { echo "needs go-sendxmpp (apt-get install go-sendxmpp)" >&2; exit 1; }
# SASL2=0 starts the server without mod_sasl2 (Debian's default Prosody)
# instead of the test default, which needs the login relay (pkg/conn).
start_server ${SASL2:+XMPP_SASL2=$SASL2}
build_xmppctl
export SSL_CERT_FILE="$XMPP_CA_FILE"
GSX="$SRV_DIR/gsx.conf"
printf 'username: alice@%s\npassword: alicepass\njserver: %s\nport: %s\n' "$XMPP_DOMAIN" "$XMPP_HOST" "$XMPP_C2S_PORT" > "$GSX"
chmod 600 "$GSX"
echo "benchmark message" > "$SRV_DIR/msg.txt"
export XMPPCTL_JID="alice@$XMPP_DOMAIN" XMPPCTL_PASSWORD=alicepass
DATA="$SRV_DIR/xdata"
X=("$XMPPCTL" --data-dir "$DATA" --server "$XMPP_HOST:$XMPP_C2S_PORT" --tls starttls --ca-file "$XMPP_CA_FILE")
"${X[@]}" send -m warmup "bob@$XMPP_DOMAIN"   # creates the identity and remembers the SASL mechanism

# record EXT NAME CMD...: one timed run of CMD (standard input from $IN,
# default /dev/null); appends "wall cpu rss_mib" to $SRV_DIR/NAME.EXT.
record() {
  local ext="$1" name="$2"; shift 2
  /usr/bin/time -o "$SRV_DIR/time.out" -f '%e %U %S %M' "$@" < "${IN:-/dev/null}" > "$SRV_DIR/$name.stdout" 2>"$SRV_DIR/$name.stderr" \
    || { echo "$name failed:"; cat "$SRV_DIR/$name.stderr"; exit 1; }
  read -r w u s m < <(tail -1 "$SRV_DIR/time.out")
  echo "$w $(awk -v u="$u" -v s="$s" 'BEGIN{print u+s}') $(awk -v m="$m" 'BEGIN{print m/1024}')" >> "$SRV_DIR/$name.$ext"
}
# rstat EXT COLUMN NAME: median [min–max] of that column of NAME's runs
rstat() { awk -v c="$2" '{print $c}' "$SRV_DIR/$3.$1" | sort -g | awk '{a[NR]=$1} END {printf "%.3f [%.3f–%.3f]", a[int((NR+1)/2)], a[1], a[NR]}'; }
# rratio EXT COLUMN NAME REF: the per-round ratios NAME/REF, median [min–max]
rratio() {
  paste -d' ' <(awk -v c="$2" '{print $c}' "$SRV_DIR/$3.$1") <(awk -v c="$2" '{print $c}' "$SRV_DIR/$4.$1") \
    | awk '$2 > 0 {printf "%.3f\n", $1/$2}' | sort -g | awk '{a[NR]=$1} END {printf "%.2f [%.2f–%.2f]", a[int((NR+1)/2)], a[1], a[NR]}'
}
# One message: interleaved rounds (xmppctl, the base binary if given,
# go-sendxmpp), so that each round's runs share the machine's state.
oloads=()
for _ in $(seq 1 "$RUNS"); do
  record once xmppctl "${X[@]}" send -m "benchmark message" "bob@$XMPP_DOMAIN"
  [ -n "${BASE_XMPPCTL:-}" ] && record once base "$BASE_XMPPCTL" "${X[@]:1}" send -m "benchmark message" "bob@$XMPP_DOMAIN"
  record once go-sendxmpp go-sendxmpp -f "$GSX" -m "$SRV_DIR/msg.txt" "bob@$XMPP_DOMAIN"
  oloads+=("$(cut -d' ' -f1 /proc/loadavg)")
done
echo "one message, STARTTLS, $RUNS interleaved rounds, median [min–max] (server with SASL2: ${SASL2:-1}; 1 means through the login relay):"
for n in xmppctl base go-sendxmpp; do
  [ -f "$SRV_DIR/$n.once" ] || continue
  printf '  %-12s wall %-22s CPU %-22s peak RSS MiB %s\n' "$n" "$(rstat once 1 "$n")" "$(rstat once 2 "$n")" "$(rstat once 3 "$n")"
done
echo "  ratio xmppctl/go-sendxmpp per round: wall $(rratio once 1 xmppctl go-sendxmpp), peak RSS $(rratio once 3 xmppctl go-sendxmpp)  (target: wall ≤ 0.3, RSS ≤ 1.0)"
[ -f "$SRV_DIR/base.once" ] && echo "  ratio xmppctl/base per round: CPU $(rratio once 2 xmppctl base), peak RSS $(rratio once 3 xmppctl base)"
echo "  load average (1 min) after each round: ${oloads[*]} (2 cores)"

# bob is online (go-sendxmpp --listen) so that delivery is live, as in the
# reference figure; the server's archive gives an independent count.
BOBC="$SRV_DIR/bob.conf"
printf 'username: bob@%s\npassword: bobpass\njserver: %s\nport: %s\n' "$XMPP_DOMAIN" "$XMPP_HOST" "$XMPP_C2S_PORT" > "$BOBC"
chmod 600 "$BOBC"
# go-sendxmpp --listen exits when its stdin ends: keep it open.
setsid bash -c "sleep 600 | go-sendxmpp -f '$BOBC' -l > '$SRV_DIR/bob.out' 2>/dev/null" &
BOBPID=$!
trap 'kill -- -$BOBPID 2>/dev/null; stop_server' EXIT
sleep 1
seq -f 'line %04g' 1 1000 > "$SRV_DIR/lines.txt"
before=$(archived_count bob "alice@")
t0=$(date +%s.%N)
"${X[@]}" send --lines "bob@$XMPP_DOMAIN" < "$SRV_DIR/lines.txt"
t1=$(date +%s.%N)
mid=$(archived_count bob "alice@")
go-sendxmpp -f "$GSX" -i "bob@$XMPP_DOMAIN" < "$SRV_DIR/lines.txt" 2>/dev/null || true  # it exits 1 at EOF
t2=$(date +%s.%N)
sleep 2  # let anything go-sendxmpp left in flight land before counting
after=$(archived_count bob "alice@")
xt=$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}'); gt=$(awk -v a="$t1" -v b="$t2" 'BEGIN{print b-a}')
echo "1,000 lines on stdin (--lines / -i):"
printf '  %-12s %6.3f s  %4d of 1000 archived at exit  (%.0f msg/s)\n' xmppctl "$xt" "$((mid - before))" "$(awk -v t="$xt" 'BEGIN{print 1000/t}')"
printf '  %-12s %6.3f s  %4d of 1000 archived\n' go-sendxmpp "$gt" "$((after - mid))"
echo "  bob's client (go-sendxmpp --listen) printed $(grep -c 'line ' "$SRV_DIR/bob.out") of 2000 lines"

# --lines against slixmpp, interleaved rounds (same load within a round).
/usr/bin/python3 -c 'import slixmpp' 2>/dev/null || { echo "(no python3-slixmpp: --lines reference skipped)"; exit 0; }
SLIX=(/usr/bin/python3 "$ROOT/bench/lines_sender.py" "alice@$XMPP_DOMAIN" alicepass "$XMPP_HOST" "$XMPP_C2S_PORT" "$XMPP_CA_FILE" "bob@$XMPP_DOMAIN")
# settled_count: bob's archive count once it stopped changing (what
# go-sendxmpp -i left in flight above lands late).
settled_count() {
  local a b
  a=$(archived_count bob "alice@")
  while sleep 2; b=$(archived_count bob "alice@"); [ "$a" != "$b" ]; do a=$b; done
  echo "$b"
}
loads=()
for _ in $(seq 1 "$LINES_RUNS"); do
  b0=$(settled_count)
  IN="$SRV_DIR/lines.txt" record lines xmppctl "${X[@]}" send --lines "bob@$XMPP_DOMAIN"
  b1=$(archived_count bob "alice@")
  [ $((b1 - b0)) -eq 1000 ] || { echo "xmppctl --lines: $((b1 - b0)) of 1000 archived at exit" >&2; exit 1; }
  if [ -n "${BASE_XMPPCTL:-}" ]; then
    IN="$SRV_DIR/lines.txt" record lines base "$BASE_XMPPCTL" "${X[@]:1}" send --lines "bob@$XMPP_DOMAIN"
  fi
  IN="$SRV_DIR/lines.txt" record lines slixmpp "${SLIX[@]}"
  [ "$(cat "$SRV_DIR/slixmpp.stdout")" = 1000 ] || { echo "slixmpp sent $(cat "$SRV_DIR/slixmpp.stdout")" >&2; exit 1; }
  loads+=("$(cut -d' ' -f1 /proc/loadavg)")
done
echo "1,000 lines, $LINES_RUNS interleaved rounds, median [min–max] (bob online; every xmppctl run: 1000 archived at exit):"
printf '  %-10s wall %-22s CPU %-22s peak RSS MiB %s\n' xmppctl "$(rstat lines 1 xmppctl)" "$(rstat lines 2 xmppctl)" "$(rstat lines 3 xmppctl)"
[ -n "${BASE_XMPPCTL:-}" ] && printf '  %-10s wall %-22s CPU %-22s peak RSS MiB %s\n' base "$(rstat lines 1 base)" "$(rstat lines 2 base)" "$(rstat lines 3 base)"
printf '  %-10s wall %-22s CPU %-22s peak RSS MiB %s\n' slixmpp "$(rstat lines 1 slixmpp)" "$(rstat lines 2 slixmpp)" "$(rstat lines 3 slixmpp)"
echo "  ratios xmppctl/slixmpp per round: wall $(rratio lines 1 xmppctl slixmpp), CPU $(rratio lines 2 xmppctl slixmpp), peak RSS $(rratio lines 3 xmppctl slixmpp)  (target: CPU ≤ 0.04 s, RSS ≤ 14 MiB, wall ≤ 1.0)"
echo "  load average (1 min) after each round: ${loads[*]} (2 cores)"
