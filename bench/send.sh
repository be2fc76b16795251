#!/usr/bin/env bash
# xmppctl send vs go-sendxmpp (Debian) against the same local Prosody, in one run:
#  1. one message: whole-process wall time and peak RSS, median of RUNS runs;
#  2. --lines: 1,000 lines piped in, wall time and how many the server archived.
# Usage: bench/send.sh [RUNS]   (default 11)
source "$(dirname "$0")/lib.sh"
RUNS="${1:-11}"
command -v go-sendxmpp >/dev/null || { echo "needs go-sendxmpp (apt-get install go-sendxmpp)" >&2; exit 1; }
start_server
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

read -r xw xr < <(measure "$RUNS" "${X[@]}" send -m "benchmark message" "bob@$XMPP_DOMAIN")
read -r gw gr < <(measure "$RUNS" go-sendxmpp -f "$GSX" -m "$SRV_DIR/msg.txt" "bob@$XMPP_DOMAIN")
echo "one message, STARTTLS, median of $RUNS:"
printf '  %-12s %6.3f s  %6.1f MiB\n' xmppctl "$xw" "$(awk -v k="$xr" 'BEGIN{print k/1024}')"
printf '  %-12s %6.3f s  %6.1f MiB\n' go-sendxmpp "$gw" "$(awk -v k="$gr" 'BEGIN{print k/1024}')"
echo "  ratio xmppctl/go-sendxmpp: wall $(ratio "$xw" "$gw"), peak RSS $(ratio "$xr" "$gr")"

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
