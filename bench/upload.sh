#!/usr/bin/env bash
# HTTP File Upload (XEP-0363): xmppctl upload vs go-sendxmpp --http-upload vs
# curl -T to a slot, against the same local Prosody, in one run.
# For each size (MiB): peak RSS, wall time and CPU of the whole process,
# median of RUNS runs, the three clients interleaved run by run.
#  - xmppctl: login, disco, slot, streaming PUT, link shared with bob;
#  - go-sendxmpp -h: the same job (Debian package);
#  - curl -T: only the PUT, to a slot requested beforehand (not timed), with
#    "Expect:" cleared so that it does not wait 1 s for a 100 Continue that
#    Prosody never sends.
# Usage: bench/upload.sh [RUNS]   (default 3; SIZES="50 200" MiB)
source "$(dirname "$0")/lib.sh"
RUNS="${1:-3}"
SIZES="${SIZES:-50 200}"
command -v go-sendxmpp >/dev/null || { echo "needs go-sendxmpp (apt-get install go-sendxmpp)" >&2; exit 1; }
command -v curl >/dev/null || { echo "needs curl" >&2; exit 1; }
start_server XMPP_UPLOAD_LIMIT_MB=256
build_xmppctl
SLOT="$SRV_DIR/uploadslot"
(cd "$ROOT" && go build -trimpath -o "$SLOT" ./bench/uploadslot)
export SSL_CERT_FILE="$XMPP_CA_FILE"
D="$XMPP_DOMAIN"
# One account per client: each has its own daily upload quota.
GSX="$SRV_DIR/gsx.conf"
printf 'username: carol@%s\npassword: carolpass\njserver: %s\nport: %s\n' "$D" "$XMPP_HOST" "$XMPP_C2S_PORT" > "$GSX"
chmod 600 "$GSX"
X=("$XMPPCTL" --data-dir "$SRV_DIR/xdata" --server "$XMPP_HOST:$XMPP_C2S_PORT" --tls starttls --ca-file "$XMPP_CA_FILE")
XMPPCTL_JID="alice@$D" XMPPCTL_PASSWORD=alicepass "${X[@]}" send -m warmup "bob@$D" # identity + SASL memory

# timed NAME CMD...: runs CMD under /usr/bin/time, appends "wall rss_kib cpu" to $SRV_DIR/res/NAME.
timed() {
  local name="$1"; shift
  if ! /usr/bin/time -o "$SRV_DIR/time.out" -f '%e %M %U %S' "$@" >"$SRV_DIR/cmd.out" 2>"$SRV_DIR/cmd.err"; then
    echo "$name failed:" >&2; cat "$SRV_DIR/cmd.err" "$SRV_DIR/time.out" >&2; exit 1
  fi
  tail -1 "$SRV_DIR/time.out" | awk '{printf "%s %s %.2f\n", $1, $2, $3 + $4}' >> "$SRV_DIR/res/$name"
}

curl_put() { # curl_put FILE: PUT to a fresh slot (slot request not timed)
  local f="$1" size; size=$(stat -c %s "$f")
  mapfile -t slot < <(XMPPCTL_JID="dave@$D" XMPPCTL_PASSWORD=davepass "$SLOT" -server "$XMPP_HOST:$XMPP_C2S_PORT" \
    -ca "$XMPP_CA_FILE" -name "$(basename "$f")" -size "$size")
  local args=(-sS --fail -o /dev/null -T "$f" -H "Expect:" -H "Content-Type: application/octet-stream")
  for h in "${slot[@]:1}"; do args+=(-H "$h"); done
  timed curl curl "${args[@]}" "${slot[0]}"
}

col() { awk -v c="$2" '{print $c}' "$SRV_DIR/res/$1"; }
mib() { awk -v k="$1" 'BEGIN{printf "%.1f", k/1024}'; }

echo "HTTP upload, Prosody $(prosodyctl about 2>/dev/null | awk '/^Prosody/{print $2; exit}') on loopback, median of $RUNS run(s)"
for size in $SIZES; do
  f="$SRV_DIR/f${size}.bin"
  head -c "$((size * 1024 * 1024))" /dev/urandom > "$f"
  rm -rf "$SRV_DIR/res"; mkdir -p "$SRV_DIR/res"
  for _ in $(seq 1 "$RUNS"); do
    XMPPCTL_JID="alice@$D" XMPPCTL_PASSWORD=alicepass timed xmppctl "${X[@]}" upload --to "bob@$D" "$f"
    timed gsx go-sendxmpp -f "$GSX" -h "$f" "bob@$D"
    curl_put "$f"
  done
  echo "${size} MiB file (load average $(cut -d' ' -f1-3 /proc/loadavg)):"
  printf '  %-24s %8s %10s %8s\n' client wall "peak RSS" CPU
  for c in xmppctl gsx curl; do
    label=$c; [ "$c" = gsx ] && label="go-sendxmpp -h"; [ "$c" = curl ] && label="curl -T (PUT only)"
    w=$(median $(col $c 1)); r=$(median $(col $c 2)); u=$(median $(col $c 3))
    printf '  %-24s %7.2fs %6s MiB %7.2fs   runs: wall %s s, RSS %s MiB, CPU %s s\n' "$label" "$w" "$(mib "$r")" "$u" \
      "$(spread $(col $c 1))" "$(spread $(for k in $(col $c 2); do mib "$k"; echo; done))" "$(spread $(col $c 3))"
    eval "W_$c=$w R_$c=$r"
  done
  # shellcheck disable=SC2154
  echo "  xmppctl/go-sendxmpp: wall $(ratio "$W_xmppctl" "$W_gsx"), peak RSS $(ratio "$R_xmppctl" "$R_gsx")"
  # shellcheck disable=SC2154
  echo "  xmppctl/curl:        wall $(ratio "$W_xmppctl" "$W_curl"), peak RSS $(ratio "$R_xmppctl" "$R_curl")"
  rm -f "$f"
done
