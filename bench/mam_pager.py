#!/usr/bin/python3
"""Minimal slixmpp MAM pager: the reference for bench/archive.sh.

Logs in, pages through the account's whole archive (XEP-0313 with RSM
paging, PAGE results per page), prints how many messages it received and
exits. No presence, no storage: the floor of what a Python client does.

Usage: mam_pager.py JID PASSWORD HOST PORT CAFILE PAGE
"""
import asyncio
import logging
import sys

import slixmpp


class Pager(slixmpp.ClientXMPP):
    def __init__(self, jid, password, page):
        super().__init__(jid, password)
        self.page = page
        self.count = 0
        self.register_plugin("xep_0059")
        self.register_plugin("xep_0313")
        self.add_event_handler("session_start", self.start)

    async def start(self, _event):
        async for _msg in self.plugin["xep_0313"].iterate(rsm={"max": self.page}):
            self.count += 1
        self.disconnect()


def main():
    jid, password, host, port, cafile, page = sys.argv[1:7]
    logging.basicConfig(level=logging.ERROR)
    xmpp = Pager(jid, password, int(page))
    xmpp.ca_certs = cafile
    xmpp.connect((host, int(port)))
    asyncio.get_event_loop().run_until_complete(xmpp.disconnected)
    print(xmpp.count)


if __name__ == "__main__":
    main()
