package disco

import "strings"

// knownNamespaces names the specification behind common disco features,
// for people reading `xmppctl disco query`.
var knownNamespaces = map[string]string{
	"http://jabber.org/protocol/disco#info":                 "XEP-0030 Service Discovery",
	"http://jabber.org/protocol/disco#items":                "XEP-0030 Service Discovery",
	"jabber:x:data":                                         "XEP-0004 Data Forms",
	"http://jabber.org/protocol/rsm":                        "XEP-0059 Result Set Management",
	"http://jabber.org/protocol/commands":                   "XEP-0050 Ad-Hoc Commands",
	"http://jabber.org/protocol/muc":                        "XEP-0045 Multi-User Chat",
	"http://jabber.org/protocol/muc#unique":                 "XEP-0307 Unique Room Names",
	"http://jabber.org/protocol/muc#self-ping-optimization": "XEP-0410 MUC Self-Ping",
	"http://jabber.org/protocol/bytestreams":                "XEP-0065 SOCKS5 Bytestreams",
	"http://jabber.org/protocol/ibb":                        "XEP-0047 In-Band Bytestreams",
	"http://jabber.org/protocol/si":                         "XEP-0095 Stream Initiation",
	"http://jabber.org/protocol/si/profile/file-transfer":   "XEP-0096 SI File Transfer",
	"http://jabber.org/protocol/caps":                       "XEP-0115 Entity Capabilities",
	"urn:xmpp:caps":                                         "XEP-0390 Entity Capabilities 2.0",
	"http://jabber.org/protocol/chatstates":                 "XEP-0085 Chat State Notifications",
	"http://jabber.org/protocol/pubsub":                     "XEP-0060 Publish-Subscribe",
	"http://jabber.org/protocol/pubsub#owner":               "XEP-0060 Publish-Subscribe",
	"http://jabber.org/protocol/pubsub#publish-options":     "XEP-0060 Publish-Subscribe (publish-options)",
	"http://jabber.org/protocol/pubsub#access-open":         "XEP-0060 access model open",
	"http://jabber.org/protocol/pubsub#access-presence":     "XEP-0060 access model presence",
	"http://jabber.org/protocol/pubsub#access-roster":       "XEP-0060 access model roster",
	"http://jabber.org/protocol/pubsub#access-whitelist":    "XEP-0060 access model whitelist",
	"http://jabber.org/protocol/address":                    "XEP-0033 Extended Stanza Addressing",
	"http://jabber.org/protocol/xhtml-im":                   "XEP-0071 XHTML-IM",
	"http://jabber.org/protocol/nick":                       "XEP-0172 User Nickname",
	"http://jabber.org/protocol/amp":                        "XEP-0079 Advanced Message Processing",
	"http://jabber.org/protocol/offline":                    "XEP-0013 Flexible Offline Message Retrieval",
	"jabber:iq:version":                                     "XEP-0092 Software Version",
	"jabber:iq:last":                                        "XEP-0012 Last Activity",
	"jabber:iq:time":                                        "XEP-0090 Entity Time (legacy)",
	"jabber:iq:register":                                    "XEP-0077 In-Band Registration",
	"jabber:iq:roster":                                      "RFC 6121 Roster",
	"jabber:iq:private":                                     "XEP-0049 Private XML Storage",
	"jabber:iq:privacy":                                     "XEP-0016 Privacy Lists",
	"jabber:iq:oob":                                         "XEP-0066 Out of Band Data",
	"jabber:x:oob":                                          "XEP-0066 Out of Band Data",
	"jabber:x:conference":                                   "XEP-0249 Direct MUC Invitations",
	"msgoffline":                                            "XEP-0160 Offline Messages",
	"vcard-temp":                                            "XEP-0054 vcard-temp",
	"urn:ietf:params:xml:ns:vcard-4.0":                      "XEP-0292 vCard4 over XMPP",
	"urn:xmpp:vcard4":                                       "XEP-0292 vCard4 over XMPP",
	"urn:xmpp:pep-vcard-conversion:0":                       "XEP-0398 Avatar Conversion",
	"urn:xmpp:avatar:metadata":                              "XEP-0084 User Avatar",
	"urn:xmpp:avatar:data":                                  "XEP-0084 User Avatar",
	"urn:xmpp:avatar:metadata+notify":                       "XEP-0084 User Avatar (notify)",
	"urn:xmpp:ping":                                         "XEP-0199 XMPP Ping",
	"urn:xmpp:time":                                         "XEP-0202 Entity Time",
	"urn:xmpp:receipts":                                     "XEP-0184 Message Delivery Receipts",
	"urn:xmpp:chat-markers:0":                               "XEP-0333 Chat Markers",
	"urn:xmpp:carbons:2":                                    "XEP-0280 Message Carbons",
	"urn:xmpp:carbons:rules:0":                              "XEP-0280 Message Carbons (rules)",
	"urn:xmpp:mam:2":                                        "XEP-0313 Message Archive Management",
	"urn:xmpp:mam:2#extended":                               "XEP-0313 MAM extended queries",
	"urn:xmpp:mam:1":                                        "XEP-0313 MAM (old namespace)",
	"urn:xmpp:mam:0":                                        "XEP-0313 MAM (old namespace)",
	"urn:xmpp:sid:0":                                        "XEP-0359 Unique and Stable Stanza IDs",
	"urn:xmpp:blocking":                                     "XEP-0191 Blocking Command",
	"urn:xmpp:reporting:1":                                  "XEP-0377 Spam Reporting",
	"urn:xmpp:bookmarks:1":                                  "XEP-0402 PEP Native Bookmarks",
	"urn:xmpp:bookmarks-conversion:0":                       "XEP-0411 Bookmarks Conversion",
	"urn:xmpp:push:0":                                       "XEP-0357 Push Notifications",
	"urn:xmpp:http:upload:0":                                "XEP-0363 HTTP File Upload",
	"urn:xmpp:http:upload":                                  "XEP-0363 HTTP File Upload (old namespace)",
	"urn:xmpp:extdisco:2":                                   "XEP-0215 External Service Discovery",
	"urn:xmpp:extdisco:1":                                   "XEP-0215 External Service Discovery (old)",
	"urn:xmpp:csi:0":                                        "XEP-0352 Client State Indication",
	"urn:xmpp:sm:3":                                         "XEP-0198 Stream Management",
	"urn:xmpp:jingle:1":                                     "XEP-0166 Jingle",
	"urn:xmpp:jingle:apps:file-transfer:5":                  "XEP-0234 Jingle File Transfer",
	"urn:xmpp:jingle:transports:s5b:1":                      "XEP-0260 Jingle SOCKS5 Transport",
	"urn:xmpp:jingle:transports:ibb:1":                      "XEP-0261 Jingle IBB Transport",
	"urn:xmpp:hashes:2":                                     "XEP-0300 Hashes",
	"urn:xmpp:hash-function-text-names:sha-256":             "XEP-0300 Hashes (sha-256)",
	"urn:xmpp:message-correct:0":                            "XEP-0308 Last Message Correction",
	"urn:xmpp:message-retract:1":                            "XEP-0424 Message Retraction",
	"urn:xmpp:reactions:0":                                  "XEP-0444 Message Reactions",
	"urn:xmpp:occupant-id:0":                                "XEP-0421 Occupant Identifiers",
	"urn:xmpp:omemo:2":                                      "XEP-0384 OMEMO",
	"eu.siacs.conversations.axolotl.devicelist+notify":      "XEP-0384 OMEMO (legacy)",
	"urn:xmpp:muclight:0":                                   "MUC Light",
	"urn:xmpp:mix:core:1":                                   "XEP-0369 MIX",
	"urn:xmpp:invite":                                       "XEP-0401 Easy Invitations",
	"urn:xmpp:sasl:2":                                       "XEP-0388 SASL2",
	"urn:xmpp:bind:0":                                       "XEP-0386 Bind2",
	"urn:xmpp:fast:0":                                       "XEP-0484 FAST",
	"urn:xmpp:features:rosterver":                           "RFC 6121 Roster Versioning",
	"urn:xmpp:features:pre-approval":                        "RFC 6121 Subscription Pre-Approval",
	"urn:xmpp:dataforms:softwareinfo":                       "XEP-0232 Software Information",
	"http://jabber.org/network/serverinfo":                  "XEP-0157 Contact Addresses",
	"urn:xmpp:serverinfo:0":                                 "XEP-0485 PubSub Server Information",
}

// FeatureName returns the specification that defines a disco feature or
// form type ("XEP-0313 Message Archive Management"), or "" when unknown.
func FeatureName(ns string) string {
	if n, ok := knownNamespaces[ns]; ok {
		return n
	}
	// PEP "+notify" features name the node they subscribe to.
	if base, ok := strings.CutSuffix(ns, "+notify"); ok {
		if n, ok := knownNamespaces[base]; ok {
			return n + " (notify)"
		}
	}
	return ""
}
