#!/usr/bin/env bash
# xmppctl avatar set vs slixmpp 1.8.3 (XEP-0084 plugin) against the same
# local Prosody, in one run: publishing a ready 5 KB PNG (data + metadata
# under publish-options access_model=open) and, for xmppctl, a 2000x1500
# camera-sized JPEG that it scales down first. Whole-process wall time,
# peak RSS and CPU, median of RUNS runs. Also `block list` and `avatar get`.
# Usage: bench/avatar.sh [RUNS]   (default 11)
source "$(dirname "$0")/lib.sh"
RUNS="${1:-11}"
/usr/bin/python3 -c 'import slixmpp' 2>/dev/null || { echo "needs python3-slixmpp (apt-get install python3-slixmpp)" >&2; exit 1; }
start_server
build_xmppctl
export XMPPCTL_JID="alice@$XMPP_DOMAIN" XMPPCTL_PASSWORD=alicepass
X=("$XMPPCTL" --data-dir "$SRV_DIR/xdata" --server "$XMPP_HOST:$XMPP_C2S_PORT" --tls starttls --ca-file "$XMPP_CA_FILE")

# Test images, made with Go's encoders (no image tools needed).
mkdir -p "$SRV_DIR/gen"
cat > "$SRV_DIR/gen/main.go" <<'GO'
package main

import (
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math/rand"
	"os"
)

func main() {
	g := image.NewNRGBA(image.Rect(0, 0, 96, 96))
	for y := 0; y < 96; y++ {
		for x := 0; x < 96; x++ {
			g.Set(x, y, color.NRGBA{uint8(x * 2), uint8(y * 2), uint8((x + y) * 3 / 2), 255})
		}
	}
	f, _ := os.Create(os.Args[1])
	_ = png.Encode(f, g)
	_ = f.Close()
	// A smooth photo-like picture with some grain, 2000x1500.
	p := image.NewRGBA(image.Rect(0, 0, 2000, 1500))
	for y := 0; y < 1500; y++ {
		for x := 0; x < 2000; x++ {
			n := uint8(rand.Intn(24))
			p.Set(x, y, color.RGBA{uint8(x/8) + n, uint8(y/6) + n, uint8((x+y)/14) + n, 255})
		}
	}
	f, _ = os.Create(os.Args[2])
	_ = jpeg.Encode(f, p, &jpeg.Options{Quality: 92})
	_ = f.Close()
}
GO
(cd "$SRV_DIR/gen" && go run main.go "$SRV_DIR/small.png" "$SRV_DIR/photo.jpg")

cat > "$SRV_DIR/sli.py" <<'PY'
import asyncio, hashlib, sys, ssl, slixmpp
from slixmpp.plugins.xep_0004 import Form
jid, pw, host, port, ca, path = sys.argv[1:7]
data = open(path, 'rb').read()
class C(slixmpp.ClientXMPP):
    def __init__(self):
        super().__init__(jid, pw)
        self.ssl_context = ssl.create_default_context(cafile=ca)
        self.register_plugin('xep_0084')
        self.add_event_handler('session_start', self.start)
    async def start(self, _):
        opts = Form(); opts['type'] = 'submit'
        opts.add_field(var='FORM_TYPE', ftype='hidden', value='http://jabber.org/protocol/pubsub#publish-options')
        opts.add_field(var='pubsub#access_model', value='open')
        a = self.plugin['xep_0084']
        await a.publish_avatar(data, options=opts)
        await a.publish_avatar_metadata([{'id': hashlib.sha1(data).hexdigest(), 'type': 'image/png',
            'bytes': str(len(data)), 'width': '96', 'height': '96'}], options=opts)
        self.disconnect()
c = C(); c.connect((host, int(port))); asyncio.get_event_loop().run_until_complete(c.disconnected)
PY
SLI=(/usr/bin/python3 "$SRV_DIR/sli.py" "alice@$XMPP_DOMAIN" alicepass "$XMPP_HOST" "$XMPP_C2S_PORT" "$XMPP_CA_FILE" "$SRV_DIR/small.png")
"${X[@]}" avatar set --access open "$SRV_DIR/small.png"   # warm-up: identity, SASL mechanism
"${SLI[@]}" || { echo "slixmpp reference failed" >&2; exit 1; }
"${X[@]}" -q avatar get -o "$SRV_DIR/check.png" && cmp -s "$SRV_DIR/check.png" "$SRV_DIR/small.png" \
  || { echo "slixmpp did not publish the same avatar" >&2; exit 1; }

cpu() { # cpu N CMD...: median user+sys seconds
  local n="$1"; shift; local c=()
  for _ in $(seq 1 "$n"); do
    /usr/bin/time -o "$SRV_DIR/cpu.out" -f '%U %S' "$@" >/dev/null 2>&1
    c+=("$(awk '{print $1+$2}' "$SRV_DIR/cpu.out")")
  done
  median "${c[@]}"
}
row() { printf '  %-34s %6.3f s  %6.1f MiB  %5.3f s CPU\n' "$1" "$2" "$(awk -v k="$3" 'BEGIN{print k/1024}')" "$4"; }

read -r xw xr < <(measure "$RUNS" "${X[@]}" avatar set --access open "$SRV_DIR/small.png"); xc=$(cpu "$RUNS" "${X[@]}" avatar set --access open "$SRV_DIR/small.png")
read -r sw sr < <(measure "$RUNS" "${SLI[@]}"); sc=$(cpu "$RUNS" "${SLI[@]}")
read -r pw pr < <(measure "$RUNS" "${X[@]}" avatar set --access open "$SRV_DIR/photo.jpg"); pc=$(cpu "$RUNS" "${X[@]}" avatar set --access open "$SRV_DIR/photo.jpg")
read -r gw gr < <(measure "$RUNS" "${X[@]}" avatar get -o "$SRV_DIR/got.img"); gc=$(cpu "$RUNS" "${X[@]}" avatar get -o "$SRV_DIR/got.img")
read -r bw br < <(measure "$RUNS" "${X[@]}" block list); bc=$(cpu "$RUNS" "${X[@]}" block list)
echo "avatar publish (data + metadata, access open), median of $RUNS, STARTTLS:"
row "xmppctl avatar set 96x96 PNG" "$xw" "$xr" "$xc"
row "slixmpp 1.8.3 publish_avatar(+meta)" "$sw" "$sr" "$sc"
echo "  ratio xmppctl/slixmpp: wall $(ratio "$xw" "$sw"), peak RSS $(ratio "$xr" "$sr"), CPU $(ratio "$xc" "$sc")"
row "xmppctl avatar set 2000x1500 JPEG" "$pw" "$pr" "$pc"
echo "  ($(stat -c %s "$SRV_DIR/photo.jpg") bytes in; $("${X[@]}" --json avatar set --access open "$SRV_DIR/photo.jpg" | sed 's/.*"bytes":\([0-9]*\).*"width":\([0-9]*\),"height":\([0-9]*\).*/\1 bytes, \2x\3/') published)"
row "xmppctl avatar get (own, verified)" "$gw" "$gr" "$gc"
row "xmppctl block list" "$bw" "$br" "$bc"
