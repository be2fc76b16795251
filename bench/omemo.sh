#!/usr/bin/env bash
# send --omemo to a recipient with 10 OMEMO devices vs a plaintext send, in
# the same run, against one local Prosody: whole-process wall time and peak
# RSS (min / median / max of RUNS runs each) for
#   1. plaintext send;
#   2. send --omemo with the 10 sessions already established (the usual
#      cron/CI case: the data dir is kept between runs);
#   3. send --omemo from scratch: every run starts from the same data dir
#      with a published identity but no sessions, so it fetches 10 bundles
#      and runs 10 X3DH key agreements (copying the dir is not timed).
# bob's 10 devices are 10 xmppctl data dirs that published themselves.
# Usage: bench/omemo.sh [RUNS]   (default 11)
source "$(dirname "$0")/lib.sh"
RUNS="${1:-11}"
DEVICES=10
start_server
build_xmppctl
X=("$XMPPCTL" --server "$XMPP_HOST:$XMPP_C2S_PORT" --tls starttls --ca-file "$XMPP_CA_FILE")
BOB="bob@$XMPP_DOMAIN"

for i in $(seq 1 "$DEVICES"); do
  XMPPCTL_JID="$BOB" XMPPCTL_PASSWORD=bobpass "${X[@]}" --data-dir "$SRV_DIR/bob$i" omemo devices >/dev/null
done
export XMPPCTL_JID="alice@$XMPP_DOMAIN" XMPPCTL_PASSWORD=alicepass
# A template with alice's identity published and bob's devices known, no sessions.
"${X[@]}" --data-dir "$SRV_DIR/template" omemo devices "$BOB" >/dev/null
n=$("${X[@]}" --data-dir "$SRV_DIR/template" --json omemo devices "$BOB" | grep -c '"active":true')
[ "$n" = "$DEVICES" ] || { echo "bob shows $n active devices, want $DEVICES" >&2; exit 1; }
cp -a "$SRV_DIR/template" "$SRV_DIR/warm"
"${X[@]}" --data-dir "$SRV_DIR/warm" send --omemo -m warmup "$BOB"   # establishes the 10 sessions
"${X[@]}" --data-dir "$SRV_DIR/plain" send -m warmup "$BOB"          # remembers the SASL mechanism

# spread N CMD...: runs CMD N times (with $PRE run untimed before each);
# prints "min median max" of wall seconds and of peak RSS KiB.
spread() {
  local n="$1"; shift
  local walls=() rss=() out
  for _ in $(seq 1 "$n"); do
    [ -n "${PRE:-}" ] && eval "$PRE"
    /usr/bin/time -o "$SRV_DIR/time.out" -f '%e %M' "$@" >/dev/null 2>"$SRV_DIR/err.out" \
      || { cat "$SRV_DIR/err.out" >&2; exit 1; }
    out=$(tail -1 "$SRV_DIR/time.out")
    walls+=("${out% *}"); rss+=("${out#* }")
  done
  local w r
  w=$(printf '%s\n' "${walls[@]}" | sort -g | awk '{a[NR]=$1} END {print a[1], a[int((NR+1)/2)], a[NR]}')
  r=$(printf '%s\n' "${rss[@]}" | sort -g | awk '{a[NR]=$1} END {print a[1], a[int((NR+1)/2)], a[NR]}')
  echo "$w $r"
}

read -r pw0 pw pw1 pr0 pr pr1 < <(PRE= spread "$RUNS" "${X[@]}" --data-dir "$SRV_DIR/plain" send -m "benchmark" "$BOB")
read -r ew0 ew ew1 er0 er er1 < <(PRE= spread "$RUNS" "${X[@]}" --data-dir "$SRV_DIR/warm" send --omemo -m "benchmark" "$BOB")
read -r sw0 sw sw1 sr0 sr sr1 < <(PRE="rm -rf '$SRV_DIR/cold' && cp -a '$SRV_DIR/template' '$SRV_DIR/cold'" \
  spread "$RUNS" "${X[@]}" --data-dir "$SRV_DIR/cold" send --omemo -m "benchmark" "$BOB")

mib() { awk -v k="$1" 'BEGIN{printf "%.1f", k/1024}'; }
echo "send to a recipient with $DEVICES OMEMO devices, STARTTLS, $RUNS runs each (min / median / max):"
printf '  %-28s wall %5.3f / %5.3f / %5.3f s   peak RSS %s / %s / %s MiB\n' "plaintext send" "$pw0" "$pw" "$pw1" "$(mib "$pr0")" "$(mib "$pr")" "$(mib "$pr1")"
printf '  %-28s wall %5.3f / %5.3f / %5.3f s   peak RSS %s / %s / %s MiB\n' "--omemo, sessions kept" "$ew0" "$ew" "$ew1" "$(mib "$er0")" "$(mib "$er")" "$(mib "$er1")"
printf '  %-28s wall %5.3f / %5.3f / %5.3f s   peak RSS %s / %s / %s MiB\n' "--omemo, from scratch" "$sw0" "$sw" "$sw1" "$(mib "$sr0")" "$(mib "$sr")" "$(mib "$sr1")"
echo "  median ratios vs plaintext: sessions kept wall $(ratio "$ew" "$pw") RSS $(ratio "$er" "$pr");" \
  "from scratch wall $(ratio "$sw" "$pw") RSS $(ratio "$sr" "$pr")"
