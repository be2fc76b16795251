#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""An independent XMPP contact (slixmpp) driven by the Go e2e tests.

Usage: contact_peer.py JID PASSWORD HOST:PORT CA_FILE

Commands arrive on stdin, one JSON object per line; events leave on stdout,
one JSON object per line. Nothing here decides anything for the test: it
only does what it is told and reports what it sees.

commands ({"cmd": ...}):
  subscribe/subscribed/unsubscribe/unsubscribed  {"to": JID}  presence of that type
  roster                                          fetch the roster -> {"event": "roster", "items": [...]}
  send      {"to", "body", "id", "markable": bool}            a chat message
  displayed {"to", "id"}                                       a XEP-0333 displayed marker
  ping                                            -> {"event": "pong"} once everything before was processed by the server
  quit
events ({"event": ...}): ready, presence {type, from, status}, roster_push {jid, subscription, ask},
  message and carbon_sent (XEP-0280: what another session of the same account sent)
  {from, to, id, body, marker, marker_id}, roster, pong, error {text}
"""
import asyncio
import json
import logging
import ssl
import sys

import slixmpp
from slixmpp.xmlstream import ET
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

NS_MARKERS = "urn:xmpp:chat-markers:0"


def emit(**kw):
    sys.stdout.write(json.dumps(kw) + "\n")
    sys.stdout.flush()


class Peer(slixmpp.ClientXMPP):
    def __init__(self, jid, password, ca):
        super().__init__(jid, password)
        # The test decides every answer: no automatic approval, denial or
        # subscription back.
        self.roster.auto_authorize = None
        self.roster.auto_subscribe = False
        self.ca_certs = ca
        self.register_plugin("xep_0030")
        self.register_plugin("xep_0199")
        self.register_plugin("xep_0280")
        self.add_event_handler("session_start", self.start)
        self.add_event_handler("roster_update", self.on_push)
        self.add_event_handler("message", self.on_message)
        self.add_event_handler("carbon_sent", self.on_carbon_sent)
        # slixmpp's "message" event needs a body; markers have none.
        self.register_handler(Callback("displayed marker", MatchXPath(
            "{jabber:client}message/{%s}displayed" % NS_MARKERS), self.on_message))
        for t in ("subscribe", "subscribed", "unsubscribe", "unsubscribed"):
            self.add_event_handler("presence_" + t, self.on_presence)

    async def start(self, _):
        await self.get_roster()
        # Carbons: as the account's other device it sees what the
        # account's other sessions send.
        await self.plugin["xep_0280"].enable()
        self.send_presence()
        # The initial presence is processed before this ping is answered.
        await self.plugin["xep_0199"].ping(self.boundjid.domain)
        emit(event="ready", jid=str(self.boundjid))
        asyncio.ensure_future(self.commands())

    def on_push(self, iq):
        if iq["type"] != "set":
            return
        for jid, item in iq["roster"]["items"].items():
            emit(event="roster_push", jid=str(jid), subscription=item.get("subscription", ""),
                 ask=item.get("ask", ""))

    def on_presence(self, p):
        emit(event="presence", type=p["type"], **{"from": p["from"].bare}, status=p["status"])

    def on_carbon_sent(self, m):
        self.on_message(m["carbon_sent"], "carbon_sent")

    def on_message(self, m, name="message"):
        ev = {"event": name, "from": str(m["from"]), "to": str(m["to"]), "id": m["id"], "body": m["body"]}
        for kind in ("received", "displayed", "acknowledged"):
            el = m.xml.find("{%s}%s" % (NS_MARKERS, kind))
            if el is not None:
                ev["marker"], ev["marker_id"] = kind, el.get("id", "")
        emit(**ev)

    async def commands(self):
        loop = asyncio.get_running_loop()
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line:
                break
            try:
                c = json.loads(line)
                if not await self.do(c):
                    break
            except Exception as e:  # report, keep serving
                emit(event="error", text=repr(e))
        self.disconnect()

    async def do(self, c):
        cmd = c["cmd"]
        if cmd in ("subscribe", "subscribed", "unsubscribe", "unsubscribed"):
            self.send_presence(pto=c["to"], ptype=cmd)
        elif cmd == "roster":
            # The result may be empty (roster versioning): slixmpp's copy,
            # kept up to date by the pushes, is the roster.
            await self.get_roster()
            items = []
            for jid in self.client_roster:
                item = self.client_roster[jid]
                items.append({"jid": str(jid), "subscription": item["subscription"],
                              "ask": "subscribe" if item["pending_out"] else "", "name": item["name"]})
            emit(event="roster", items=items)
        elif cmd == "send":
            m = self.make_message(mto=c["to"], mbody=c["body"], mtype="chat")
            m["id"] = c["id"]
            if c.get("markable"):
                m.append(ET.Element("{%s}markable" % NS_MARKERS))
            m.send()
        elif cmd == "displayed":
            m = self.make_message(mto=c["to"], mtype="chat")
            m["id"] = c.get("msgid") or self.new_id()
            el = ET.Element("{%s}displayed" % NS_MARKERS)
            el.set("id", c["id"])
            m.append(el)
            # As Conversations does: a bodiless marker is archived only
            # with a XEP-0334 store hint on servers such as ejabberd.
            m.append(ET.Element("{urn:xmpp:hints}store"))
            m.send()
        elif cmd == "ping":
            await self.plugin["xep_0199"].ping(self.boundjid.domain)
            emit(event="pong")
        elif cmd == "quit":
            return False
        return True


def main():
    logging.basicConfig(level=logging.ERROR, stream=sys.stderr)
    jid, password, addr, ca = sys.argv[1:5]
    host, port = addr.rsplit(":", 1)
    p = Peer(jid, password, ca)
    p.add_event_handler("failed_auth", lambda _: (emit(event="error", text="auth failed"), p.disconnect()))
    p.add_event_handler("disconnected", lambda _: asyncio.get_event_loop().stop())
    p.connect((host, int(port)))
    asyncio.get_event_loop().run_forever()


if __name__ == "__main__":
    main()
