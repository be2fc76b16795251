// Package online is what an xmppctl session that stays online (listen,
// jingle-receive and the like) answers to others: XEP-0030 disco#info and
// disco#items about itself with its XEP-0115/XEP-0390 capability nodes,
// XEP-0199 ping, XEP-0202 entity time and, only when asked for,
// XEP-0092 software version; and the presence that carries its
// capabilities. IQ requests nobody handles get service-unavailable from
// pkg/conn, never silence.
package online
