#!/usr/bin/env bash
# Reliability under injected network faults (issue 14), against a local
# Prosody through internal/faultproxy:
#  1. send --lines of 10,000 lines with the connection cut 5 times: lines
#     lost and duplicated per 10,000 (counted at the recipient) and the
#     statuses reported with --json;
#  2. listen through a frozen connection: time until the keepalive declares
#     it dead and until it is reconnected.
# Usage: bench/reconnect.sh [LINES] [CUTS] [KEEPALIVE] [FREEZES]   (default 10000 5 5s 3; LINES 0 skips the send)
source "$(dirname "$0")/lib.sh"
start_server
build_xmppctl
set -a; . "$SRV_DIR/testbed.env"; set +a
# The xmppctl runs get a HOME of their own (no user config); go keeps its own.
export XMPPCTL DATA="$SRV_DIR/xdata" XMPPCTL_HOME="$SRV_DIR/home"
(cd "$ROOT" && go run ./bench/faultbench -lines "${1:-10000}" -cuts "${2:-5}" -keepalive "${3:-5s}" -freezes "${4:-3}")
