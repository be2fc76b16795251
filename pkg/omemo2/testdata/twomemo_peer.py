#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""An OMEMO 2 peer on python-omemo's SessionManager and the twomemo backend
(an independent implementation of XEP-0384 0.8), driven by the Go interop
test over stdin/stdout: one JSON object per line each way.

PEP is simulated in memory: the Go side "publishes" its device list and
bundle with the publish op; everything this peer publishes or sends (its
bundle, and the empty messages python-omemo sends on its own after a key
exchange) is returned to the Go side. All XML goes through twomemo.etree.

Ops:
  {"op": "init", "jid": J}                    -> {"device_id", "bundle", "devices"}
  {"op": "publish", "jid", "devices", "bundle", "device_id"} -> {}
  {"op": "encrypt", "to", "body"}             -> {"xml"}
  {"op": "decrypt", "from", "xml"}            -> {"plaintext" (base64 or null), "body", "device_id", "sent"}
  {"op": "bundle"}                            -> {"bundle"} (after prekeys were replaced)
  {"op": "replace", "jid", "device_id"}        -> {"sent"} (session reset: a new key exchange)
Errors come back as {"error": "..."}.
"""

import asyncio
import base64
import datetime
import json
import secrets
import sys
import xml.etree.ElementTree as ET

import omemo
import twomemo
import twomemo.etree

NS = twomemo.twomemo.NAMESPACE
SCE = "urn:xmpp:sce:1"

OWN = None
PEP_DEVICES = {}   # bare JID -> {device id: label}
PEP_BUNDLES = {}   # (bare JID, device id) -> BundleImpl
SENT = []          # empty messages python-omemo sent on its own


class MemoryStorage(omemo.Storage):
    def __init__(self):
        super().__init__()
        self.data = {}

    async def _load(self, key):
        if key in self.data:
            return omemo.Just(self.data[key])
        return omemo.Nothing()

    async def _store(self, key, value):
        self.data[key] = value

    async def _delete(self, key):
        self.data.pop(key, None)


class Peer(omemo.SessionManager):
    @staticmethod
    async def _upload_bundle(bundle):
        PEP_BUNDLES[(bundle.bare_jid, bundle.device_id)] = bundle

    @staticmethod
    async def _download_bundle(namespace, bare_jid, device_id):
        try:
            return PEP_BUNDLES[(bare_jid, device_id)]
        except KeyError:
            raise omemo.BundleDownloadFailed(f"no bundle for {bare_jid}/{device_id}")

    @staticmethod
    async def _delete_bundle(namespace, device_id):
        PEP_BUNDLES.pop((OWN, device_id), None)

    @staticmethod
    async def _upload_device_list(namespace, device_list):
        PEP_DEVICES[OWN] = dict(device_list)

    @staticmethod
    async def _download_device_list(namespace, bare_jid):
        return dict(PEP_DEVICES.get(bare_jid, {}))

    async def _evaluate_custom_trust_level(self, device):
        return omemo.TrustLevel.TRUSTED

    async def _make_trust_decision(self, undecided, identifier):
        pass

    @staticmethod
    async def _send_message(message, bare_jid):
        SENT.append(ET.tostring(twomemo.etree.serialize_message(message)).decode())


def envelope(body, to):
    env = ET.Element(f"{{{SCE}}}envelope")
    content = ET.SubElement(env, f"{{{SCE}}}content")
    ET.SubElement(content, "{jabber:client}body").text = body
    ET.SubElement(env, f"{{{SCE}}}rpad").text = secrets.token_hex(secrets.randbelow(20) + 1)
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    ET.SubElement(env, f"{{{SCE}}}time", stamp=stamp)
    ET.SubElement(env, f"{{{SCE}}}to", jid=to)
    ET.SubElement(env, f"{{{SCE}}}from", jid=OWN)
    return ET.tostring(env)


def own_bundle(sm_device_id):
    return ET.tostring(twomemo.etree.serialize_bundle(PEP_BUNDLES[(OWN, sm_device_id)])).decode()


async def handle(sm, req):
    global OWN
    op = req["op"]
    if op == "init":
        OWN = req["jid"]
        sm = await Peer.create([twomemo.Twomemo(MemoryStorage())], MemoryStorage(), OWN, "twomemo peer", "BTBV")
        # A client leaves history synchronisation mode after its catch-up;
        # only then does python-omemo send empty messages right away.
        await sm.after_history_sync()
        own, _ = await sm.get_own_device_information()
        devices = ET.tostring(twomemo.etree.serialize_device_list(PEP_DEVICES[OWN])).decode()
        return sm, {"device_id": own.device_id, "bundle": own_bundle(own.device_id), "devices": devices}
    own, _ = await sm.get_own_device_information()
    if op == "bundle":
        return sm, {"bundle": own_bundle(own.device_id)}
    if op == "publish":
        jid = req["jid"]
        devices = twomemo.etree.parse_device_list(ET.fromstring(req["devices"]))
        PEP_DEVICES[jid] = devices
        PEP_BUNDLES[(jid, req["device_id"])] = twomemo.etree.parse_bundle(
            ET.fromstring(req["bundle"]), jid, req["device_id"])
        await sm.update_device_list(NS, jid, devices)
        return sm, {}
    if op == "encrypt":
        messages, errors = await sm.encrypt(frozenset([req["to"]]), {NS: envelope(req["body"], req["to"])})
        if errors:
            return sm, {"error": repr(errors)}
        (message,) = [m for m in messages if m.namespace == NS]
        return sm, {"xml": ET.tostring(twomemo.etree.serialize_message(message)).decode()}
    if op == "decrypt":
        message = twomemo.etree.parse_message(ET.fromstring(req["xml"]), req["from"])
        plaintext, device, _ = await sm.decrypt(message)
        body = None
        if plaintext is not None:
            body = ET.fromstring(plaintext).find(f"{{{SCE}}}content/{{jabber:client}}body").text
        sent = SENT[:]
        SENT.clear()
        return sm, {
            "plaintext": None if plaintext is None else base64.b64encode(plaintext).decode(),
            "body": body,
            "device_id": device.device_id,
            "sent": sent,
        }
    if op == "replace":
        (device,) = [d for d in await sm.get_device_information(req["jid"]) if d.device_id == req["device_id"]]
        failed = await sm.replace_sessions(device)
        if failed:
            return sm, {"error": repr(failed)}
        sent = SENT[:]
        SENT.clear()
        return sm, {"sent": sent}
    return sm, {"error": f"unknown op {op}"}


async def main():
    loop = asyncio.get_running_loop()
    sm = None
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            return
        try:
            sm, resp = await handle(sm, json.loads(line))
        except Exception as e:  # reported to the Go side, which fails the test
            resp = {"error": f"{type(e).__name__}: {e}"}
        sys.stdout.write(json.dumps(resp) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    asyncio.run(main())
