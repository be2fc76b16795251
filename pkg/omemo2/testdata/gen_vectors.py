#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writes vectors.json: known-answer vectors for OMEMO 2's primitives,
computed by python-omemo's twomemo backend and the libraries it builds on
(xeddsa, python-doubleratchet), an implementation independent of ours.
XEP-0384 has no test vectors of its own. Regenerate with
    /usr/bin/python3 testdata/gen_vectors.py > testdata/vectors.json
"""

import asyncio
import json
import sys

import xeddsa
import twomemo.twomemo as tm
from omemo.storage import Storage, Just, Nothing


def h(b):
    return b.hex()


def fixed(n, start):
    return bytes((start + i) % 256 for i in range(n))


class MemoryStorage(Storage):
    def __init__(self):
        super().__init__()
        self.data = {}

    async def _load(self, key):
        return Just(self.data[key]) if key in self.data else Nothing()

    async def _store(self, key, value):
        self.data[key] = value

    async def _delete(self, key):
        self.data.pop(key, None)


async def main():
    out = {}

    seed = fixed(32, 1)
    other_priv = xeddsa.seed_to_priv(fixed(32, 100))
    other_pub = xeddsa.priv_to_curve25519_pub(other_priv)
    ed_pub = xeddsa.seed_to_ed25519_pub(seed)
    out["identity"] = {
        "seed": h(seed),
        "ed25519_pub": h(ed_pub),
        "curve25519_pub": h(xeddsa.ed25519_pub_to_curve25519_pub(ed_pub)),
        "other_priv": h(other_priv),
        "other_pub": h(other_pub),
        "shared": h(xeddsa.x25519(xeddsa.seed_to_priv(seed), other_pub)),
    }

    rk, dh_out = fixed(32, 7), fixed(32, 50)
    out["kdf_rk"] = {"rk": h(rk), "dh_out": h(dh_out),
                     "out": h(await tm.RootChainKDFImpl.derive(rk, dh_out, 64))}

    ck = fixed(32, 90)
    out["kdf_ck"] = {"ck": h(ck),
                     "out": h(await tm.MessageChainKDFImpl.derive(ck, tm.DoubleRatchetImpl.MESSAGE_CHAIN_CONSTANT, 64))}

    mk, ad = fixed(32, 200), fixed(64, 33)
    dh_pub, n, pn = fixed(32, 140), 5, 3
    plaintext = fixed(48, 60)
    header = tm.OMEMOMessage(n=n, pn=pn, dh_pub=dh_pub).SerializeToString()
    out["message"] = {
        "mk": h(mk), "ad": h(ad), "dh_pub": h(dh_pub), "n": n, "pn": pn, "plaintext": h(plaintext),
        "authenticated_message": h(await tm.AEADImpl.encrypt(plaintext, mk, ad + header)),
    }

    key = fixed(32, 17)
    tm.secrets.token_bytes = lambda length: key  # makes the payload key known
    payload_plaintext = b"<envelope xmlns='urn:xmpp:sce:1'><content><body xmlns='jabber:client'>vector</body></content><rpad>x</rpad></envelope>"
    content, km = await tm.Twomemo(MemoryStorage()).encrypt_plaintext(payload_plaintext)
    out["payload"] = {"key": h(km.key), "auth_tag": h(km.auth_tag), "plaintext": h(payload_plaintext),
                      "ciphertext": h(content.ciphertext)}

    json.dump(out, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


asyncio.run(main())
