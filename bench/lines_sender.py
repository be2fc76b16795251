#!/usr/bin/python3
"""Minimal slixmpp line sender: the reference for bench/send.sh --lines.

Logs in, sends each line of standard input as a chat message to TO over
one session, then waits for the server's answer to a ping (XEP-0199): the
server handles a stream in order, so the answer means it took every
message before it. No presence, no receipts: the floor of what a Python
client does for `send --lines`.

Usage: lines_sender.py JID PASSWORD HOST PORT CAFILE TO < lines
"""
import asyncio
import logging
import sys

import slixmpp


class Sender(slixmpp.ClientXMPP):
    def __init__(self, jid, password, to, lines):
        super().__init__(jid, password)
        self.to = to
        self.lines = lines
        self.sent = 0
        self.register_plugin("xep_0199")
        self.add_event_handler("session_start", self.start)

    async def start(self, _event):
        for line in self.lines:
            if line:
                self.send_message(mto=self.to, mbody=line, mtype="chat")
                self.sent += 1
        await self.plugin["xep_0199"].ping(self.boundjid.domain, timeout=600)
        self.disconnect()


def main():
    jid, password, host, port, cafile, to = sys.argv[1:7]
    logging.basicConfig(level=logging.ERROR)
    lines = sys.stdin.read().split("\n")
    xmpp = Sender(jid, password, to, lines)
    xmpp.ca_certs = cafile
    xmpp.connect((host, int(port)))
    asyncio.get_event_loop().run_until_complete(xmpp.disconnected)
    print(xmpp.sent)


if __name__ == "__main__":
    main()
