# Shared helpers for the bench scripts (sourced, not run).
# Each bench starts its own throwaway server with scripts/test-server.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$PATH:/usr/local/go/bin"

# start_server [ENV=VALUE...]: starts a server, sets SRV_DIR and sources its env.
start_server() {
  SRV_DIR="$(mktemp -d -t xmppctl-bench.XXXXXX)"
  env "$@" "$ROOT/scripts/test-server" start "$SRV_DIR" >/dev/null
  # shellcheck disable=SC1091
  . "$SRV_DIR/testbed.env"
  trap 'stop_server' EXIT
}

stop_server() { "$ROOT/scripts/test-server" stop "$SRV_DIR" --purge >/dev/null 2>&1 || true; }

build_xmppctl() {
  XMPPCTL="$SRV_DIR/xmppctl"
  (cd "$ROOT" && CGO_ENABLED=0 go build -trimpath -o "$XMPPCTL" .)
}

# measure N CMD...: runs CMD N times; prints "median_wall_s median_rss_kib".
measure() {
  local n="$1"; shift
  local walls=() rss=() out
  for _ in $(seq 1 "$n"); do
    /usr/bin/time -o "$SRV_DIR/time.out" -f '%e %M' "$@" >/dev/null 2>&1
    out=$(tail -1 "$SRV_DIR/time.out")
    walls+=("${out% *}"); rss+=("${out#* }")
  done
  printf '%s %s\n' "$(median "${walls[@]}")" "$(median "${rss[@]}")"
}

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# spread VALUES...: "min–max" of the values (the runs behind a median).
spread() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {printf "%s–%s", a[1], a[NR]}'; }

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "n/a"; else printf "%.2f", a / b }'; }

# archived_count USER WITH: messages in USER's server-side archive from WITH
# (an independent count of what the server accepted).
archived_count() {
  sqlite3 -cmd ".timeout 20000" "$XMPP_STATE_DIR/data/prosody.sqlite" \
    "SELECT COUNT(*) FROM prosodyarchive WHERE user='$1' AND store='archive' AND \"with\" LIKE '$2%';"
}
