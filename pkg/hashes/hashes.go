package hashes

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha3"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"hash"
	"strings"
)

// Hash is a <hash/> element: an algorithm name and the base64 digest (empty
// when only the algorithm is announced).
type Hash struct {
	XMLName xml.Name `xml:"urn:xmpp:hashes:2 hash"`
	Algo    string   `xml:"algo,attr"`
	Value   string   `xml:",chardata"`
}

// Algorithms we compute, strongest preference first. SHA-1 is accepted
// from peers for verification only (XEP-0300 §6: MUST NOT be relied on).
var algos = map[string]func() hash.Hash{
	"sha-256":  sha256.New,
	"sha-512":  sha512.New,
	"sha3-256": func() hash.Hash { return sha3.New256() },
	"sha3-512": func() hash.Hash { return sha3.New512() },
	"sha-1":    sha1.New,
}

// Preferred is the algorithm xmppctl uses for what it sends.
const Preferred = "sha-256"

// Supported reports whether algo can be computed.
func Supported(algo string) bool { _, ok := algos[strings.ToLower(algo)]; return ok }

// New returns a hash.Hash for algo.
func New(algo string) (hash.Hash, error) {
	f, ok := algos[strings.ToLower(algo)]
	if !ok {
		return nil, fmt.Errorf("unsupported hash algorithm %q", algo)
	}
	return f(), nil
}

// Sum returns the <hash/> element for a finished hash.
func Sum(algo string, h hash.Hash) Hash {
	return Hash{Algo: algo, Value: base64.StdEncoding.EncodeToString(h.Sum(nil))}
}

// Decode returns the digest bytes of the element.
func (h Hash) Decode() ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(h.Value))
	if err != nil {
		return nil, fmt.Errorf("hash %s: invalid base64: %w", h.Algo, err)
	}
	return b, nil
}

// Matches reports whether the finished hash h equals the element's digest.
// A value that decodes to the lowercase hex form of the digest also
// matches: libervia 0.9 base64-encodes the hex digest instead of the raw
// bytes, and the hex form pins the digest just as well.
func (h Hash) Matches(sum []byte) bool {
	want, err := h.Decode()
	if err != nil || len(want) == 0 {
		return false
	}
	if len(want) == 2*len(sum) {
		return subtle.ConstantTimeCompare(bytes.ToLower(want), []byte(hex.EncodeToString(sum))) == 1
	}
	return subtle.ConstantTimeCompare(want, sum) == 1
}

// Used is the XEP-0300 <hash-used/> element: the algorithm that will be
// used, announced before the value is known.
type Used struct {
	XMLName xml.Name `xml:"urn:xmpp:hashes:2 hash-used"`
	Algo    string   `xml:"algo,attr"`
}

// Pick returns the strongest element with a value whose algorithm we
// support, preferring SHA-2/3 over SHA-1.
func Pick(list []Hash) (Hash, bool) {
	best, rank := Hash{}, -1
	for _, h := range list {
		r := strength(h.Algo)
		if r > rank && strings.TrimSpace(h.Value) != "" && Supported(h.Algo) {
			best, rank = h, r
		}
	}
	return best, rank >= 0
}

func strength(algo string) int {
	switch strings.ToLower(algo) {
	case "sha-1":
		return 0
	case "sha-256", "sha3-256":
		return 2
	case "sha-512", "sha3-512":
		return 3
	}
	return -1
}

// Features are the disco#info features that advertise XEP-0300 support.
func Features() []string {
	return []string{NS, "urn:xmpp:hash-function-text-names:sha-256", "urn:xmpp:hash-function-text-names:sha-512",
		"urn:xmpp:hash-function-text-names:sha3-256", "urn:xmpp:hash-function-text-names:sha3-512"}
}

// String is "algo:base64", for logs and JSON.
func (h Hash) String() string { return h.Algo + ":" + h.Value }
