package e2e

import (
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xmppctl/xmppctl/internal/testserver"
	"github.com/xmppctl/xmppctl/pkg/aesgcm"
)

// pyAESGCM is an independent AES-GCM (Debian's python3-cryptography, on
// OpenSSL): "encrypt KEYHEX IVHEX IN OUT" or "decrypt KEYHEX IVHEX IN OUT",
// the tag after the ciphertext as in XEP-0454.
const pyAESGCM = `
import sys
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
op, key, iv, src, dst = sys.argv[1:6]
data = open(src, "rb").read()
g = AESGCM(bytes.fromhex(key))
out = g.encrypt(bytes.fromhex(iv), data, None) if op == "encrypt" else g.decrypt(bytes.fromhex(iv), data, None)
open(dst, "wb").write(out)
`

func pythonAESGCM(t *testing.T, args ...string) {
	t.Helper()
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import cryptography.hazmat.primitives.ciphers.aead").Run(); err != nil {
		t.Skip("python3-cryptography is not installed (apt-get install python3-cryptography): no independent AES-GCM")
	}
	out, err := exec.Command(py, append([]string{"-c", pyAESGCM}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("python AES-GCM %s: %v: %s", args[0], err, out)
	}
}

func randomFile(t *testing.T, dir, name string, n int) (string, []byte) {
	t.Helper()
	b := make([]byte, n)
	_, _ = rand.Read(b)
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p, b
}

func caClient(t *testing.T, caFile string) *http.Client {
	t.Helper()
	pem, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

// TestOMEMOMediaSharing: upload --omemo to a real Prosody (https slots),
// then the file is decrypted by download and, independently, by python's
// AES-GCM from the bytes the server serves; the other way round, a file
// encrypted by python, uploaded as opaque bytes, opens with download from
// its aesgcm link (both IV sizes), and a tampered link fails.
func TestOMEMOMediaSharing(t *testing.T) {
	testserver.Require(t, srv)
	s3, err := testserver.Start("XMPP_UPLOAD_SCHEME=https")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s3.Stop)
	alice := s3.NewUser(t, "alice")
	dir := t.TempDir()
	run := func(args ...string) testserver.Result {
		return testserver.Run(t, "", s3.AccountEnv(alice), append(s3.Flags(), args...)...)
	}

	t.Run("xmppctl encrypts", func(t *testing.T) {
		src, plain := randomFile(t, dir, "holiday photo.jpg", 300_001)
		res := run("--json", "upload", "--omemo", src)
		mustOK(t, res)
		var up struct {
			URL       string `json:"url"`
			Size      int64  `json:"size"`
			Encrypted bool   `json:"encrypted"`
		}
		if err := json.Unmarshal([]byte(res.Stdout), &up); err != nil {
			t.Fatalf("stdout %q: %v", res.Stdout, err)
		}
		if !strings.HasPrefix(up.URL, "aesgcm://127.0.0.1:"+s3.HTTPSPort+"/") || up.Size != int64(len(plain))+16 || !up.Encrypted {
			t.Fatalf("upload result %+v", up)
		}
		httpsURL, secret, err := aesgcm.ParseURL(up.URL)
		if err != nil {
			t.Fatal(err)
		}

		// What the server stores is ciphertext; python decrypts it.
		resp, err := caClient(t, s3.CAFile).Get(httpsURL)
		if err != nil {
			t.Fatal(err)
		}
		stored, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if len(stored) != len(plain)+16 || bytes.Contains(stored, plain[:64]) {
			t.Fatalf("server holds %d bytes, plaintext visible: %v", len(stored), bytes.Contains(stored, plain[:64]))
		}
		ctPath, pyOut := filepath.Join(dir, "stored.bin"), filepath.Join(dir, "python-decrypted")
		if err := os.WriteFile(ctPath, stored, 0o600); err != nil {
			t.Fatal(err)
		}
		pythonAESGCM(t, "decrypt", hex.EncodeToString(secret.Key), hex.EncodeToString(secret.IV), ctPath, pyOut)
		if got, _ := os.ReadFile(pyOut); !bytes.Equal(got, plain) {
			t.Fatal("python's decryption differs from the uploaded file")
		}

		// download decrypts it too.
		out := filepath.Join(dir, "downloaded.jpg")
		res = run("download", "-o", out, up.URL)
		mustOK(t, res)
		if got, _ := os.ReadFile(out); !bytes.Equal(got, plain) {
			t.Fatal("download's decryption differs from the uploaded file")
		}
		if strings.TrimSpace(res.Stdout) != out {
			t.Errorf("stdout %q", res.Stdout)
		}

		// A link with another key fails authentication: exit 5, no file.
		wrong := up.URL[:len(up.URL)-1] + map[bool]string{true: "1", false: "0"}[up.URL[len(up.URL)-1] == '0']
		bad := filepath.Join(dir, "bad.jpg")
		res = run("download", "-o", bad, wrong)
		if res.Code != 5 || !strings.Contains(res.Stderr, "authentication") {
			t.Fatalf("wrong key: exit %d, stderr %q", res.Code, res.Stderr)
		}
		if _, err := os.Stat(bad); !os.IsNotExist(err) {
			t.Fatal("a file failing authentication was saved")
		}
	})

	for _, ivLen := range []int{aesgcm.IVSize, aesgcm.LegacyIVSize} {
		t.Run("python encrypts, iv "+map[int]string{12: "12", 16: "16"}[ivLen], func(t *testing.T) {
			src, plain := randomFile(t, dir, "from-python.bin", 70_000+ivLen)
			key, iv := make([]byte, aesgcm.KeySize), make([]byte, ivLen)
			_, _ = rand.Read(key)
			_, _ = rand.Read(iv)
			enc := filepath.Join(dir, "report.pdf")
			pythonAESGCM(t, "encrypt", hex.EncodeToString(key), hex.EncodeToString(iv), src, enc)
			res := run("upload", "--type", "application/octet-stream", enc)
			mustOK(t, res)
			httpsURL := strings.TrimSpace(res.Stdout)
			link, err := (&aesgcm.Secret{Key: key, IV: iv}).URL(httpsURL)
			if err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(dir, "from-python-"+map[int]string{12: "12", 16: "16"}[ivLen])
			res = run("--json", "download", "-o", out, link)
			mustOK(t, res)
			if got, _ := os.ReadFile(out); !bytes.Equal(got, plain) {
				t.Fatal("download of python's file differs")
			}
			if strings.Contains(res.Stdout, hex.EncodeToString(key)) {
				t.Error("the key was printed")
			}
		})
	}

}
