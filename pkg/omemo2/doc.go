// Package omemo2 implements the protocol core of XEP-0384 OMEMO
// Encryption version 0.8 and later (namespace urn:xmpp:omemo:2, "OMEMO
// 2") with the XEP-0420 Stanza Content Encryption envelope: keys, the
// PEP payloads (device list and bundle), X3DH, the Double Ratchet with
// OMEMO 2's parameters, the <encrypted/> element and the payload
// encryption. It does no I/O: publishing, fetching, storage and trust are
// the caller's (pkg/omemo), which persists what this package returns.
//
// Primitives all come from the standard library (crypto/ecdh X25519,
// crypto/ed25519, crypto/hkdf, crypto/hmac, crypto/aes, crypto/cipher)
// plus filippo.io/edwards25519 for the Ed25519 to X25519 public key
// conversion; the protobuf messages are encoded with protowire.
//
// # Keys (stored by the caller)
//
//	id, _ := omemo2.NewIdentity()             // store id.Seed(); IdentityFromSeed restores it
//	deviceID, _ := omemo2.NewDeviceID()        // check it is not in our device list yet
//	spk, _ := omemo2.GenerateSignedPreKey(id, 1) // rotate weekly to monthly, keep the previous one
//	pks, _ := omemo2.GeneratePreKeys(1, 100)   // refill to 100 as they are used
//	id.Fingerprint()                           // "xxxxxxxx xxxxxxxx ... " (8 groups)
//
// # Publishing
//
// Publish DeviceList{Devices: ...} as item DevicesItem of node NSDevices
// (read-modify-write, keeping the other devices) and NewBundle(id, spk,
// pks) as item strconv.Itoa(deviceID) of node NSBundles, both with access
// model open. Parse what peers publish with ParseDeviceList and
// ParseBundle.
//
// # Sending
//
//	env, _ := omemo2.NewEnvelope(body, ourJID, peerJID, time.Now())
//	pt, _ := env.Marshal()
//	payload, km, _ := omemo2.Seal(pt)             // km: 48 bytes (key || tag)
//	enc := &omemo2.Encrypted{Header: omemo2.Header{SID: deviceID}, Payload: payload}
//	for each trusted device (jid, rid) of the recipients and of our own account:
//	    s := stored session, or omemo2.InitiateSession(id, theirBundle)
//	    wire, kex, _ := s.EncryptKey(km)
//	    store s.MarshalBinary() (before the stanza leaves)
//	    enc.AddKey(jid, omemo2.NewKey(rid, wire, kex))
//	put enc (encoding/xml) in the <message/> with the EME and store hints
//
// An empty message (to complete a session after receiving a key exchange,
// or as a heartbeat when Session.Stale) encrypts EmptyKey() and has no
// Payload.
//
// # Receiving
//
//	enc, err := omemo2.ParseEncrypted(raw)
//	k := enc.Find(ourBareJID, deviceID)            // nil: not encrypted for this device
//	if k.IsKeyExchange() {
//	    kx, _ := omemo2.ParseKeyExchange(k.Data)
//	    if s != nil && s.SameKeyExchange(kx) {     // a repeated key exchange
//	        km, err = s.DecryptKey(kx.Message)
//	    } else {                                   // a new session replacing any old one
//	        s, km, err = omemo2.RespondSession(id, kx, spk[kx.SignedPreKeyID], pk[kx.PreKeyID])
//	        // then: delete prekey kx.PreKeyID (after a MAM catch-up), republish the
//	        // bundle, answer with an empty message
//	    }
//	} else {
//	    km, err = s.DecryptKey(k.Data)
//	}
//	store s.MarshalBinary()
//	if omemo2.IsEmptyKey(km) { done: nothing to show }
//	pt, err := omemo2.Open(enc.Payload, km)
//	env, err := omemo2.ParseEnvelope(pt)
//	err = env.Check(stanzaFrom, stanzaTo, isGroupchat)
//	env.BodyText()
//
// Session.PeerIdentity gives the sender device's identity key for the
// trust decision (compare it with the one in its bundle; Fingerprint shows
// it). A failed DecryptKey leaves the session unchanged; ErrDuplicate marks
// a message seen before (ignored silently, as the XEP asks), ErrAuth a
// tampered or foreign one.
package omemo2
