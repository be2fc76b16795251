// Package filetransfer chooses how a file goes to a peer: XEP-0234 Jingle
// File Transfer or XEP-0096 SI File Transfer, over a SOCKS5 (XEP-0260 /
// XEP-0065) or in-band (XEP-0261 / XEP-0047) bytestream, and which of the
// peer's online resources receives it. The choice follows what each
// resource advertises (XEP-0030 / XEP-0115); the transfer itself is
// pkg/jingle's or pkg/si's.
package filetransfer
