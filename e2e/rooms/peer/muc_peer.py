#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""An independent XMPP peer for xmppctl's room tests, built on slixmpp.

Driven by a Go test: one JSON command per line on stdin, one JSON object
per line on stdout. The first command must be
  {"cmd": "login", "jid": ..., "password": ..., "host": ..., "port": ..., "ca": ...}
(the password travels on stdin, never on the command line or in the
environment). Every command with an "id" is answered by
  {"reply": id, "ok": true|false, "error": "...", ...}
and what arrives is reported as events:
  {"event": "groupchat", "room", "nick", "body", "origin_id"}
  {"event": "invite", "from", "room", "password", "reason"}
  {"event": "message", "from", "body"}
  {"event": "subject", "room", "nick", "subject"}
"""

import asyncio
import json
import logging
import sys
import xml.etree.ElementTree as ET

import slixmpp
from slixmpp.exceptions import IqError, IqTimeout

NS_SID = "urn:xmpp:sid:0"


class JoinError(Exception):
    """A room refused the join; the message is the condition."""


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


class Peer(slixmpp.ClientXMPP):
    def __init__(self, jid, password):
        super().__init__(jid, password)
        for p in ("xep_0030", "xep_0004", "xep_0045", "xep_0060", "xep_0199", "xep_0249", "xep_0359"):
            try:
                self.register_plugin(p)
            except Exception:  # an optional plugin missing is not fatal
                pass
        self.ready = asyncio.Event()
        self.add_event_handler("session_start", self.on_start)
        self.add_event_handler("groupchat_message", self.on_groupchat)
        self.add_event_handler("groupchat_direct_invite", self.on_invite)
        self.add_event_handler("groupchat_subject", self.on_subject)
        self.add_event_handler("message", self.on_message)
        self.add_event_handler("disconnected", lambda _: emit({"event": "disconnected"}))

    async def on_start(self, _):
        self.send_presence()
        self.ready.set()

    def on_groupchat(self, msg):
        if not msg["body"]:
            return
        oid = msg.xml.find("{%s}origin-id" % NS_SID)
        emit({"event": "groupchat", "room": msg["from"].bare, "nick": msg["from"].resource,
              "body": msg["body"], "origin_id": oid.get("id") if oid is not None else ""})

    def on_subject(self, msg):
        emit({"event": "subject", "room": msg["from"].bare, "nick": msg["from"].resource,
              "subject": msg["subject"]})

    def on_invite(self, msg):
        inv = msg["groupchat_invite"]
        emit({"event": "invite", "from": str(msg["from"]), "room": str(inv["jid"]),
              "password": inv["password"] or "", "reason": inv["reason"] or ""})

    def on_message(self, msg):
        if msg["type"] in ("chat", "normal") and msg["body"]:
            emit({"event": "message", "from": str(msg["from"]), "body": msg["body"]})


async def run_cmd(xmpp, c):
    cmd = c["cmd"]
    muc = xmpp.plugin["xep_0045"]
    if cmd == "join":
        # By hand: slixmpp's join_muc_wait misses some error presences
        # and waits for a subject a locked new room does not send.
        room, nick = c["room"], c["nick"]
        fut = asyncio.get_running_loop().create_future()

        def seen(p):
            if p["from"].bare == room and p["from"].resource == nick and not fut.done():
                fut.set_result(p)
        xmpp.add_event_handler("presence_available", seen)
        xmpp.add_event_handler("presence_error", seen)
        try:
            muc.join_muc(room, nick, maxhistory="0")
            pres = await asyncio.wait_for(fut, 20)
        finally:
            xmpp.del_event_handler("presence_available", seen)
            xmpp.del_event_handler("presence_error", seen)
        if pres["type"] == "error":
            raise JoinError(pres["error"]["condition"])
        codes = [int(s.get("code")) for s in pres.xml.iter("{http://jabber.org/protocol/muc#user}status")]
        if 201 in codes:  # a new room: the default configuration, or the given fields
            form = xmpp.plugin["xep_0004"].make_form(ftype="submit")
            for var, value in c.get("config", {}).items():
                form.add_field(var=var, value=value)
            await muc.set_room_config(c["room"], form)
        return {"created": 201 in codes}
    if cmd == "say":
        m = xmpp.make_message(mto=c["room"], mbody=c["body"], mtype="groupchat")
        m.send()
        return {}
    if cmd == "kick":
        await muc.set_role(c["room"], c["nick"], "none", reason=c.get("reason", ""))
        return {}
    if cmd == "affiliation":
        await muc.set_affiliation(c["room"], c["affiliation"], jid=c["jid"], reason=c.get("reason", ""))
        return {}
    if cmd == "destroy":
        await muc.destroy(c["room"], reason=c.get("reason", ""))
        return {}
    if cmd == "info":
        info = await xmpp.plugin["xep_0030"].get_info(jid=c["room"], timeout=20)
        q = info["disco_info"]
        fields = {}
        for x in q.xml.iter("{jabber:x:data}x"):
            for f in x.iter("{jabber:x:data}field"):
                vals = [v.text or "" for v in f.iter("{jabber:x:data}value")]
                fields[f.get("var")] = vals[0] if len(vals) == 1 else vals
        names = [i[3] for i in q["identities"]]
        return {"features": sorted(q["features"]), "fields": fields, "names": names}
    if cmd == "config":
        form = await muc.get_room_config(c["room"])
        return {"fields": {k: v["value"] for k, v in form["fields"].items()}}
    if cmd == "members":
        jids = await muc.get_affiliation_list(c["room"], c.get("affiliation", "member"))
        return {"jids": [str(j) for j in jids]}
    if cmd == "pep_items":
        iq = await xmpp.plugin["xep_0060"].get_items(c["jid"], c["node"], timeout=20)
        items = []
        for it in iq["pubsub"]["items"]:
            payload = it.xml[0] if len(it.xml) else None
            items.append({"id": it["id"], "xml": ET.tostring(payload, encoding="unicode") if payload is not None else ""})
        return {"items": items}
    if cmd == "leave":
        muc.leave_muc(c["room"], c["nick"])
        return {}
    if cmd == "quit":
        xmpp.disconnect()
        return {}
    raise ValueError("unknown command %r" % cmd)


async def main():
    logging.basicConfig(level=logging.ERROR, stream=sys.stderr)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    first = json.loads(await reader.readline())
    xmpp = Peer(first["jid"], first["password"])
    xmpp.ca_certs = first["ca"]
    xmpp.connect((first["host"], int(first["port"])))
    try:
        await asyncio.wait_for(xmpp.ready.wait(), 30)
    except asyncio.TimeoutError:
        emit({"event": "error", "error": "login timed out"})
        return
    emit({"event": "ready", "jid": str(xmpp.boundjid)})
    pending = set()
    while True:
        line = await reader.readline()
        if not line:
            break
        c = json.loads(line)

        async def one(c=c):
            try:
                out = await run_cmd(xmpp, c)
                out.update({"reply": c.get("id", ""), "ok": True})
            except IqError as e:
                out = {"reply": c.get("id", ""), "ok": False, "error": e.iq["error"]["condition"]}
            except JoinError as e:
                out = {"reply": c.get("id", ""), "ok": False, "error": str(e)}
            except (IqTimeout, asyncio.TimeoutError):
                out = {"reply": c.get("id", ""), "ok": False, "error": "timeout"}
            except Exception as e:  # reported, the test decides
                out = {"reply": c.get("id", ""), "ok": False, "error": "%s: %s" % (type(e).__name__, e)}
            emit(out)
        t = asyncio.ensure_future(one())
        pending.add(t)
        t.add_done_callback(pending.discard)
        if c["cmd"] == "quit":
            await t
            break


if __name__ == "__main__":
    asyncio.run(main())
