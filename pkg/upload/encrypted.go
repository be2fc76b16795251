package upload

// XEP-0454 (OMEMO Media Sharing) uploads: the file is encrypted with
// AES-256-GCM on its way to the PUT, so the service stores and serves only
// ciphertext; the key and IV travel in the aesgcm:// link, which must then
// be shared only inside an end-to-end encrypted message.

import (
	"io"

	"github.com/xmppctl/xmppctl/pkg/aesgcm"
)

// Encrypted returns f as an XEP-0454 upload under a fresh random key and
// IV: same name, the ciphertext's size (plaintext + tag) and an opaque
// content type (the real one would tell the service what the file is).
// Every attempt re-reads f and encrypts it the same way. Upload it with
// RequireHTTPS and share secret.URL(result.URL).
func Encrypted(f File) (File, *aesgcm.Secret, error) {
	secret, err := aesgcm.NewSecret()
	if err != nil {
		return File{}, nil, err
	}
	open := f.Open
	return File{
		Name:        f.Name,
		Size:        aesgcm.EncryptedSize(f.Size),
		ContentType: "application/octet-stream",
		Open: func() (io.ReadCloser, error) {
			rc, err := open()
			if err != nil {
				return nil, err
			}
			// Exactly f.Size bytes are encrypted: a file that grew is
			// sent as it was when checked (the tag must follow them); one
			// that shrank makes the PUT come up short, which fails it.
			e, err := aesgcm.NewEncrypter(io.LimitReader(rc, f.Size), secret.Key, secret.IV)
			if err != nil {
				rc.Close()
				return nil, err
			}
			return struct {
				io.Reader
				io.Closer
			}{e, rc}, nil
		},
	}, secret, nil
}
