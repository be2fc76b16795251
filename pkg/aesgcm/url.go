package aesgcm

// The aesgcm:// URI of XEP-0454 section 3: the https URL of the encrypted
// file with its scheme replaced by "aesgcm" and, as the fragment, the hex
// IV (24 digits, or 32 for the 16-byte IVs of early clients) followed by
// the hex key (64 digits).

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Scheme is the URI scheme of XEP-0454.
const Scheme = "aesgcm"

// Secret is the key and IV of one shared file. It is secret: never log it.
type Secret struct {
	Key []byte // KeySize bytes
	IV  []byte // IVSize (or, parsed, LegacyIVSize) bytes
}

// NewSecret returns a fresh random key and 12-byte IV.
func NewSecret() (*Secret, error) {
	s := &Secret{Key: make([]byte, KeySize), IV: make([]byte, IVSize)}
	if _, err := rand.Read(s.Key); err != nil {
		return nil, err
	}
	if _, err := rand.Read(s.IV); err != nil {
		return nil, err
	}
	return s, nil
}

// ErrNotHTTPS reports an upload URL that is not https: XEP-0454 forbids
// turning it into an aesgcm URL.
var ErrNotHTTPS = errors.New("only https urls can be shared as aesgcm urls (XEP-0454)")

// URL turns the https URL of the uploaded ciphertext into the aesgcm URL
// to share.
func (s *Secret) URL(httpsURL string) (string, error) {
	u, err := url.Parse(httpsURL)
	if err != nil {
		return "", fmt.Errorf("bad upload url: %w", err)
	}
	if !strings.EqualFold(u.Scheme, "https") || u.Host == "" {
		return "", ErrNotHTTPS
	}
	if u.User != nil {
		return "", errors.New("upload url carries credentials")
	}
	u.Scheme = Scheme
	u.Fragment, u.RawFragment = "", ""
	return u.String() + "#" + hex.EncodeToString(s.IV) + hex.EncodeToString(s.Key), nil
}

// ParseURL splits an aesgcm URL into the https URL to fetch and the
// secret. It accepts both IV sizes and either hex case; everything else
// (no host, credentials, a fragment of another length or not hex) is an
// error that does not repeat the fragment.
func ParseURL(raw string) (string, *Secret, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", nil, errors.New("bad aesgcm url: not a url")
	}
	if !strings.EqualFold(u.Scheme, Scheme) {
		return "", nil, fmt.Errorf("bad aesgcm url: scheme is not %s", Scheme)
	}
	if u.Host == "" || u.Opaque != "" {
		return "", nil, errors.New("bad aesgcm url: no host")
	}
	if u.User != nil {
		return "", nil, errors.New("bad aesgcm url: it carries credentials")
	}
	frag := u.EscapedFragment()
	var ivLen int
	switch len(frag) {
	case 2 * (IVSize + KeySize):
		ivLen = IVSize
	case 2 * (LegacyIVSize + KeySize):
		ivLen = LegacyIVSize
	default:
		return "", nil, fmt.Errorf("bad aesgcm url: the fragment must be %d or %d hex digits (iv and key), not %d",
			2*(IVSize+KeySize), 2*(LegacyIVSize+KeySize), len(frag))
	}
	b, err := hex.DecodeString(frag)
	if err != nil {
		return "", nil, errors.New("bad aesgcm url: the fragment is not hex")
	}
	u.Scheme = "https"
	u.Fragment, u.RawFragment = "", ""
	return u.String(), &Secret{IV: b[:ivLen], Key: b[ivLen:]}, nil
}
