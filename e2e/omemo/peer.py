#!/usr/bin/python3
"""An independent OMEMO 0.3 / OMEMO 2 peer for xmppctl's end-to-end tests.

--versions picks the backends: 0.3 (oldmemo, the default), 2 (twomemo), or
both (python-omemo then prefers OMEMO 2 for devices that publish it).

python-omemo (SessionManager) + oldmemo on slixmpp: the crypto and device
bookkeeping are python-omemo's; this file is only the XMPP glue (PEP
publish/fetch with access model open, message building and parsing).

Driven by a Go test: commands arrive as JSON lines on stdin, events leave
as JSON lines on stdout:
  {"cmd":"send","to":JID,"body":TEXT}   -> {"event":"sent","to":JID} or {"event":"send-error",...}
  {"cmd":"send_muc","room":JID,"members":[JID..],"body":TEXT}
                                        -> {"event":"sent","to":ROOM} (groupchat, encrypted to the members' devices)
  {"cmd":"info"}                        -> {"event":"info","device":ID,"fingerprint":HEX}
  {"cmd":"devices","jid":JID}           -> {"event":"devices","devices":[{"id":..,"fingerprint":..}]}
  {"cmd":"quit"}
  incoming OMEMO message                -> {"event":"message","from":JID,"body":TEXT|null,"device":ID}
                                           or {"event":"decrypt-error","from":JID,"error":TEXT}
  after login and publishing            -> {"event":"ready","device":ID,"fingerprint":HEX}
"""

import argparse
import asyncio
import json
import threading
import os
import sys
import xml.etree.ElementTree as ET

import slixmpp
import omemo
import oldmemo
import oldmemo.etree
try:
    import twomemo
    import twomemo.etree
except ImportError:  # only --versions 0.3 works without python3-twomemo
    twomemo = None
from omemo.storage import Just, Maybe, Nothing, Storage
from omemo.types import DeviceInformation, TrustLevel

NS = oldmemo.oldmemo.NAMESPACE
NS2 = "urn:xmpp:omemo:2"
SCE = "urn:xmpp:sce:1"
VERSIONS = ["0.3"]
PUBSUB = "http://jabber.org/protocol/pubsub"
XMPP = None


def emit(**kw):
    sys.stdout.write(json.dumps(kw) + "\n")
    sys.stdout.flush()


class MemStorage(Storage):
    def __init__(self):
        super().__init__()
        self.data = {}

    async def _load(self, key):
        return Just(self.data[key]) if key in self.data else Nothing()

    async def _store(self, key, value):
        self.data[key] = value

    async def _delete(self, key):
        self.data.pop(key, None)


def options_form(max_items=False, form_type="publish-options"):
    x = ET.Element("{jabber:x:data}x", {"type": "submit"})
    fields = [("FORM_TYPE", "http://jabber.org/protocol/pubsub#" + form_type), ("pubsub#access_model", "open")]
    if max_items:
        fields.append(("pubsub#max_items", "max"))
    for var, val in fields:
        f = ET.SubElement(x, "{jabber:x:data}field", {"var": var})
        ET.SubElement(f, "{jabber:x:data}value").text = val
    return x


async def publish(node, item_id, payload, max_items=False):
    try:
        await publish_once(node, item_id, payload, max_items)
    except slixmpp.exceptions.IqError as e:
        # ejabberd 23.01 refuses pubsub#max_items in publish-options
        # (resource-constraint): set it as node configuration first (creating
        # the node with it), then publish with the access model alone.
        if not max_items or e.condition != "resource-constraint":
            raise
        await configure_max(node)
        await publish_once(node, item_id, payload, False)


async def publish_once(node, item_id, payload, max_items):
    iq = XMPP.make_iq_set()
    ps = ET.Element(f"{{{PUBSUB}}}pubsub")
    pub = ET.SubElement(ps, f"{{{PUBSUB}}}publish", {"node": node})
    item = ET.SubElement(pub, f"{{{PUBSUB}}}item", {"id": item_id})
    item.append(payload)
    opts = ET.SubElement(ps, f"{{{PUBSUB}}}publish-options")
    opts.append(options_form(max_items))
    iq.xml.append(ps)
    await iq.send()


async def configure_max(node):
    iq = XMPP.make_iq_set()
    ps = ET.SubElement(iq.xml, f"{{{PUBSUB}#owner}}pubsub")
    cfg = ET.SubElement(ps, f"{{{PUBSUB}#owner}}configure", {"node": node})
    cfg.append(options_form(True, "node_config"))
    try:
        await iq.send()
        return
    except slixmpp.exceptions.IqError as e:
        if e.condition != "item-not-found":
            raise
    iq = XMPP.make_iq_set()
    ps = ET.SubElement(iq.xml, f"{{{PUBSUB}}}pubsub")
    ET.SubElement(ps, f"{{{PUBSUB}}}create", {"node": node})
    ET.SubElement(ps, f"{{{PUBSUB}}}configure").append(options_form(True, "node_config"))
    await iq.send()


async def fetch(jid, node, item_id=None):
    iq = XMPP.make_iq_get(ito=jid)
    ps = ET.Element(f"{{{PUBSUB}}}pubsub")
    items = ET.SubElement(ps, f"{{{PUBSUB}}}items", {"node": node})
    if item_id is not None:
        ET.SubElement(items, f"{{{PUBSUB}}}item", {"id": item_id})
    iq.xml.append(ps)
    resp = await iq.send()
    for item in resp.xml.iter(f"{{{PUBSUB}}}item"):
        for child in item:
            return child
    return None


class Manager(omemo.SessionManager):
    @staticmethod
    async def _upload_bundle(bundle):
        if bundle.namespace == NS2:
            await publish(f"{NS2}:bundles", str(bundle.device_id), twomemo.etree.serialize_bundle(bundle), True)
            return
        await publish(f"{NS}.bundles:{bundle.device_id}", "current", oldmemo.etree.serialize_bundle(bundle))

    @staticmethod
    async def _download_bundle(namespace, bare_jid, device_id):
        if namespace == NS2:
            try:
                el = await fetch(bare_jid, f"{NS2}:bundles", str(device_id))
            except Exception as e:
                raise omemo.BundleDownloadFailed(str(e)) from e
            if el is None:
                raise omemo.BundleDownloadFailed("no bundle")
            return twomemo.etree.parse_bundle(el, bare_jid, device_id)
        try:
            el = await fetch(bare_jid, f"{NS}.bundles:{device_id}")
        except Exception as e:
            raise omemo.BundleDownloadFailed(str(e)) from e
        if el is None:
            raise omemo.BundleDownloadFailed("no bundle")
        return oldmemo.etree.parse_bundle(el, bare_jid, device_id)

    @staticmethod
    async def _delete_bundle(namespace, device_id):
        pass

    @staticmethod
    async def _upload_device_list(namespace, device_list):
        if namespace == NS2:
            await publish(f"{NS2}:devices", "current", twomemo.etree.serialize_device_list(device_list))
            return
        await publish(f"{NS}.devicelist", "current", oldmemo.etree.serialize_device_list(device_list))

    @staticmethod
    async def _download_device_list(namespace, bare_jid):
        node = f"{NS2}:devices" if namespace == NS2 else f"{NS}.devicelist"
        try:
            el = await fetch(bare_jid, node)
        except slixmpp.exceptions.IqError as e:
            if e.condition in ("item-not-found", "forbidden"):
                return {}
            raise omemo.DeviceListDownloadFailed(str(e)) from e
        if el is None:
            return {}
        return twomemo.etree.parse_device_list(el) if namespace == NS2 else oldmemo.etree.parse_device_list(el)

    async def _evaluate_custom_trust_level(self, device):
        return {"trusted": TrustLevel.TRUSTED, "distrusted": TrustLevel.DISTRUSTED}.get(
            device.trust_level_name, TrustLevel.UNDECIDED)

    async def _make_trust_decision(self, undecided, identifier):
        for d in undecided:  # blind trust: the tests verify fingerprints on the xmppctl side
            await self.set_trust(d.bare_jid, d.identity_key, "trusted")

    @staticmethod
    async def _send_message(message, bare_jid):
        send_encrypted(bare_jid, serialize(message), None)


def serialize(message):
    if message.namespace == NS2:
        return twomemo.etree.serialize_message(message)
    return oldmemo.etree.serialize_message(message)


def envelope(body, to, frm):
    """The XEP-0420 envelope OMEMO 2 encrypts (python-omemo takes it as built)."""
    import datetime
    import secrets
    env = ET.Element(f"{{{SCE}}}envelope")
    content = ET.SubElement(env, f"{{{SCE}}}content")
    ET.SubElement(content, "{jabber:client}body").text = body
    ET.SubElement(env, f"{{{SCE}}}rpad").text = secrets.token_hex(secrets.randbelow(20) + 1)
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    ET.SubElement(env, f"{{{SCE}}}time", stamp=stamp)
    ET.SubElement(env, f"{{{SCE}}}to", jid=to)
    ET.SubElement(env, f"{{{SCE}}}from", jid=frm)
    return ET.tostring(env)


def envelope_body(plain):
    env = ET.fromstring(plain)
    b = env.find(f"{{{SCE}}}content/{{jabber:client}}body")
    to, frm = env.find(f"{{{SCE}}}to"), env.find(f"{{{SCE}}}from")
    return ("" if b is None else b.text or ""), (None if to is None else to.get("jid")), \
        (None if frm is None else frm.get("jid"))


def send_encrypted(to, encrypted, body, mtype="chat"):
    msg = XMPP.make_message(mto=to, mtype=mtype)
    if body is not None:
        msg["body"] = body
    msg.xml.append(encrypted)
    ns = NS2 if encrypted.tag == f"{{{NS2}}}encrypted" else NS
    ET.SubElement(msg.xml, "{urn:xmpp:eme:0}encryption", {"namespace": ns, "name": "OMEMO"})
    ET.SubElement(msg.xml, "{urn:xmpp:hints}store")
    msg.send()


async def published_fingerprint(device_id):
    """The identity key as others see it: read back from our published bundle."""
    import base64
    el = None
    if "0.3" in VERSIONS:
        el = await fetch(XMPP.boundjid.bare, f"{NS}.bundles:{device_id}")
    if el is None:  # an OMEMO 2 only peer: the Curve25519 form of its Ed25519 key
        own, _ = await XMPP.sm.get_own_device_information()
        import xeddsa
        return xeddsa.ed25519_pub_to_curve25519_pub(own.identity_key).hex()
    return base64.b64decode(el.find(f"{{{NS}}}identityKey").text)[1:].hex()


class Peer(slixmpp.ClientXMPP):
    def __init__(self, jid, password):
        super().__init__(jid, password)
        self.sm = None
        self.lock = asyncio.Lock()  # messages are decrypted one at a time, in order
        self.add_event_handler("session_start", self.start)
        self.add_event_handler("message", self.on_message)
        self.add_event_handler("presence", self.on_presence)
        self.occupants = {}  # room/nick -> real bare JID (non-anonymous rooms)

    def on_presence(self, pres):
        item = pres.xml.find("{http://jabber.org/protocol/muc#user}x/{http://jabber.org/protocol/muc#user}item")
        if item is not None and item.get("jid"):
            self.occupants[str(pres["from"])] = item.get("jid").split("/")[0]
            if str(pres["from"]) == getattr(self, "joining", None):
                emit(event="joined", room=pres["from"].bare)

    async def start(self, _):
        self.send_presence()
        # One storage for all: python-omemo keeps the identity key in it,
        # and separate ones would give each version its own identity.
        storage = MemStorage()
        backends = []
        if "2" in VERSIONS:
            backends.append(twomemo.Twomemo(storage))
        if "0.3" in VERSIONS:
            backends.append(oldmemo.Oldmemo(storage))
        self.sm = await Manager.create(backends, storage, self.boundjid.bare,
                                       None, "trusted")
        own, _ = await self.sm.get_own_device_information()
        emit(event="ready", device=own.device_id, fingerprint=await published_fingerprint(own.device_id))
        asyncio.ensure_future(self.commands())

    async def on_message(self, msg):
        if msg.xml.find("{urn:xmpp:receipts}request") is not None and msg["id"] and msg["type"] != "groupchat":
            r = self.make_message(mto=msg["from"])
            ET.SubElement(r.xml, "{urn:xmpp:receipts}received", {"id": msg["id"]})
            r.send()
        el = msg.xml.find(f"{{{NS2}}}encrypted") if "2" in VERSIONS else None
        if el is None and "0.3" in VERSIONS:
            el = msg.xml.find(f"{{{NS}}}encrypted")
        if el is None or self.sm is None:
            return
        async with self.lock:
            await self.handle(msg, el)

    async def handle(self, msg, el):
        sender = msg["from"].bare
        if msg["type"] == "groupchat":
            sender = self.occupants.get(str(msg["from"]))
            if sender is None:
                emit(event="decrypt-error", **{"from": str(msg["from"])}, error="unknown occupant")
                return
        try:
            extra = {}
            if el.tag == f"{{{NS2}}}encrypted":
                m = twomemo.etree.parse_message(el, sender)
                rids = sorted(int(k.get("rid")) for k in el.iter(f"{{{NS2}}}key"))
            else:
                m = await oldmemo.etree.parse_message(el, sender, self.boundjid.bare, self.sm)
                rids = sorted(int(k.get("rid")) for k in el.iter(f"{{{NS}}}key"))
            fallback = msg["body"]
            own, _ = await self.sm.get_own_device_information()
            kex = any(k.get("rid") == str(own.device_id) and k.get("kex", k.get("prekey")) in ("true", "1")
                      for k in el.iter() if k.tag.endswith("}key"))
            plain, device, _ = await self.sm.decrypt(m)
            if plain is not None and el.tag == f"{{{NS2}}}encrypted":
                body, to, frm = envelope_body(plain)
                plain = body.encode()
                extra = {"env_to": to, "env_from": frm}
            emit(event="message", **{"from": sender}, body=None if plain is None else plain.decode(),
                 version="2" if el.tag == f"{{{NS2}}}encrypted" else "0.3", kex=kex, **extra,
                 device=device.device_id, rids=rids, fallback=fallback,
                 eme=msg.xml.find("{urn:xmpp:eme:0}encryption") is not None,
                 store=msg.xml.find("{urn:xmpp:hints}store") is not None,
                 oob=msg.xml.find("{jabber:x:oob}x") is not None)
        except Exception as e:
            emit(event="decrypt-error", **{"from": sender}, error=f"{type(e).__name__}: {e}")

    def namespaces(self):
        return [ns for v, ns in (("2", NS2), ("0.3", NS)) if v in VERSIONS]

    async def commands(self):
        # stdin is read in a thread: asyncio pipes on stdin proved unreliable
        # next to slixmpp's loop.
        loop = asyncio.get_running_loop()
        queue = asyncio.Queue()

        def reader():
            for raw in sys.stdin:
                loop.call_soon_threadsafe(queue.put_nowait, raw)
            loop.call_soon_threadsafe(queue.put_nowait, "")
        threading.Thread(target=reader, daemon=True).start()
        while True:
            line = await queue.get()
            if not line:
                break
            c = json.loads(line)
            print("command:", c, file=sys.stderr, flush=True)
            try:
                if c["cmd"] == "quit":
                    break
                if c["cmd"] == "info":
                    own, _ = await self.sm.get_own_device_information()
                    emit(event="info", device=own.device_id, fingerprint=await published_fingerprint(own.device_id))
                elif c["cmd"] == "join":
                    self.joining = c["room"] + "/" + c["nick"]
                    p = self.make_presence(pto=self.joining)
                    x = ET.SubElement(p.xml, "{http://jabber.org/protocol/muc}x")
                    ET.SubElement(x, "{http://jabber.org/protocol/muc}history", {"maxstanzas": "0"})
                    p.send()
                elif c["cmd"] == "bundle":
                    el = await fetch(c["jid"], f"{NS}.bundles:{c['device']}")
                    print("bundle:", ET.tostring(el)[:300], file=sys.stderr, flush=True)
                    b = oldmemo.etree.parse_bundle(el, c["jid"], c["device"])
                    emit(event="bundle", ok=True)
                elif c["cmd"] == "devices":
                    for ns in self.namespaces():
                        await self.sm.refresh_device_list(ns, c["jid"])
                    devs = await self.sm.get_device_information(c["jid"])
                    emit(event="devices", devices=[d.device_id for d in devs])
                elif c["cmd"] == "send_muc":
                    # A room message: encrypted to every member's devices (and
                    # our own other ones), the OMEMO 2 envelope addressed to the room.
                    members = frozenset(c["members"])
                    for ns in self.namespaces():
                        for j in members:
                            await self.sm.refresh_device_list(ns, j)
                    plain = {NS: c["body"].encode()}
                    if "2" in VERSIONS:
                        plain[NS2] = envelope(c["body"], c["room"], self.boundjid.bare)
                    msgs, errs = await self.sm.encrypt(members, plain)
                    for m in msgs:
                        send_encrypted(c["room"], serialize(m), "I sent you an OMEMO encrypted message.", "groupchat")
                    emit(event="sent", to=c["room"], errors=[repr(e) for e in errs])
                elif c["cmd"] == "send":
                    # A client learns device lists from PEP notifications (+notify,
                    # which needs a presence subscription); the peer asks instead.
                    for ns in self.namespaces():
                        await self.sm.refresh_device_list(ns, c["to"])
                    plain = {NS: c["body"].encode()}
                    if "2" in VERSIONS:
                        plain[NS2] = envelope(c["body"], c.get("env_to", c["to"]), self.boundjid.bare)
                    msgs, errs = await self.sm.encrypt(frozenset([c["to"]]), plain)
                    for m in msgs:
                        el = serialize(m)
                        ns = NS2 if m.namespace == NS2 else NS
                        # Hostile variants for the tests: a key left out, a payload altered.
                        for parent in list(el.iter()):
                            for k in list(parent):
                                if k.tag == f"{{{ns}}}key" and c.get("drop_rid") and int(k.get("rid")) == c["drop_rid"]:
                                    parent.remove(k)
                        if c.get("tamper"):
                            import base64
                            pl = el.find(f"{{{ns}}}payload")
                            raw = bytearray(base64.b64decode(pl.text))
                            raw[0] ^= 1
                            pl.text = base64.b64encode(bytes(raw)).decode()
                        send_encrypted(c["to"], el, "I sent you an OMEMO encrypted message.")
                    emit(event="sent", to=c["to"], errors=[repr(e) for e in errs])
            except Exception as e:
                emit(event="command-error", cmd=c.get("cmd"), error=f"{type(e).__name__}: {e}")
        self.disconnect()


def main():
    global XMPP
    ap = argparse.ArgumentParser()
    ap.add_argument("--jid", required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--ca", required=True)
    ap.add_argument("--versions", default="0.3", choices=["0.3", "2", "both"])
    a = ap.parse_args()
    VERSIONS[:] = ["0.3", "2"] if a.versions == "both" else [a.versions]
    XMPP = Peer(a.jid, os.environ["PEER_PASSWORD"])  # never on the command line
    XMPP.ca_certs = a.ca
    XMPP.connect(address=(a.host, a.port), force_starttls=True, disable_starttls=False)
    XMPP.add_event_handler("disconnected", lambda _: asyncio.get_event_loop().stop())
    XMPP.add_event_handler("failed_auth", lambda _: (emit(event="fatal", error="auth failed"), sys.exit(1)))
    asyncio.get_event_loop().run_forever()


if __name__ == "__main__":
    main()
