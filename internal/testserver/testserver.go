// Package testserver starts a throwaway Prosody or ejabberd
// (scripts/test-server) for integration tests and hands out what a test
// needs to talk to it.
//
// Integration tests run when XMPPCTL_INTEGRATION=1 (scripts/test sets it);
// then a server that cannot start fails the test run instead of skipping it.
// XMPPCTL_SERVER=prosody (the default) or ejabberd chooses the server that
// Main and Start start, so every package whose TestMain calls Main runs
// against either; scripts/test runs the suites once per server. A test that
// depends on one server's behaviour says so with Only.
package testserver

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/xmppctl/xmppctl/pkg/conn"
)

// The servers scripts/test-server can start.
const (
	Prosody  = "prosody"
	Ejabberd = "ejabberd"
)

// ServerEnv names the environment variable that chooses the server.
const ServerEnv = "XMPPCTL_SERVER"

// Kind returns the server the integration tests of this run use:
// $XMPPCTL_SERVER, Prosody when unset.
func Kind() string {
	if k := os.Getenv(ServerEnv); k != "" {
		return k
	}
	return Prosody
}

// Server is a running test instance.
type Server struct {
	Kind       string            // Prosody or Ejabberd
	Dir        string            // state dir: config, certs, data, log
	Domain     string            // e.g. localhost
	Host       string            // 127.0.0.1
	C2SPort    string            // STARTTLS
	TLSPort    string            // direct TLS
	HTTPPort   string            // upload (http)
	HTTPSPort  string            //
	Proxy65    string            // XEP-0065 proxy port
	UploadHost string            // upload.localhost
	MUCHost    string            // conference.localhost
	ProxyHost  string            // proxy.localhost
	CAFile     string            // test CA certificate
	Users      map[string]string // local part → password
	Env        map[string]string // testbed.env as read
}

// Enabled reports whether integration tests should run.
func Enabled() bool { return os.Getenv("XMPPCTL_INTEGRATION") == "1" }

// Root returns the repository root (where go.mod is).
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// Start starts the server Kind names with the given extra environment
// (e.g. "XMPP_UPLOAD_LIMIT_MB=1"). Stop it with Stop.
func Start(extraEnv ...string) (*Server, error) { return StartKind(Kind(), extraEnv...) }

// portTaken recognises a server that could not bind one of its ports.
func portTaken(log string) bool {
	l := strings.ToLower(log)
	return strings.Contains(l, "eaddrinuse") || strings.Contains(l, "address already in use")
}

// StartKind starts a server of the given kind (Prosody or Ejabberd).
func StartKind(kind string, extraEnv ...string) (*Server, error) {
	if kind != Prosody && kind != Ejabberd {
		return nil, fmt.Errorf("%s=%q: want %s or %s", ServerEnv, kind, Prosody, Ejabberd)
	}
	var dir string
	var out []byte
	for attempt := 1; ; attempt++ {
		var err error
		if dir, err = os.MkdirTemp("", "xmppctl-it-*"); err != nil {
			return nil, err
		}
		cmd := exec.Command(filepath.Join(Root(), "scripts", "test-server"), "start", "--server", kind, dir)
		cmd.Env = append(os.Environ(), extraEnv...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if out, err = cmd.Output(); err == nil {
			break
		}
		_ = exec.Command(filepath.Join(Root(), "scripts", "test-server"), "stop", dir, "--purge").Run()
		_ = os.RemoveAll(dir)
		// A port found free was taken before the server bound it (another
		// pass's server starting at the same moment): fresh ports again.
		if attempt < 3 && portTaken(stderr.String()) {
			continue
		}
		return nil, fmt.Errorf("scripts/test-server start --server %s: %v: %s", kind, err, stderr.String())
	}
	envFile := strings.TrimSpace(string(out))
	if i := strings.LastIndexByte(envFile, '\n'); i >= 0 {
		envFile = envFile[i+1:]
	}
	env, err := readEnv(envFile)
	if err != nil {
		return nil, err
	}
	s := &Server{Kind: kind, Dir: dir, Env: env, Domain: env["XMPP_DOMAIN"], Host: env["XMPP_HOST"],
		C2SPort: env["XMPP_C2S_PORT"], TLSPort: env["XMPP_C2S_TLS_PORT"], HTTPPort: env["XMPP_HTTP_PORT"],
		HTTPSPort: env["XMPP_HTTPS_PORT"], Proxy65: env["XMPP_PROXY65_PORT"], UploadHost: env["XMPP_UPLOAD_HOST"],
		MUCHost: env["XMPP_MUC_HOST"], ProxyHost: env["XMPP_PROXY_HOST"], CAFile: env["XMPP_CA_FILE"],
		Users: map[string]string{}}
	for _, up := range strings.Fields(env["XMPP_USERS"]) {
		u, p, _ := strings.Cut(up, ":")
		s.Users[u] = p
	}
	return s, nil
}

// Main is a TestMain helper: it starts a server when integration tests are
// enabled, runs the tests and stops it. srv is set before m.Run.
func Main(m *testing.M, srv **Server, extraEnv ...string) {
	// go-xmpp sends XMPP connections through HTTP_PROXY when it is set;
	// the in-process sessions of the tests must reach the loopback server
	// directly (the xmppctl processes get a minimal environment anyway).
	for _, k := range []string{"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"} {
		os.Unsetenv(k)
	}
	if !Enabled() {
		code := m.Run()
		removeBinary()
		os.Exit(code)
	}
	s, err := Start(extraEnv...)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testserver:", err)
		os.Exit(1)
	}
	*srv = s
	fmt.Fprintf(os.Stderr, "testserver: %s on %s (state %s)\n", s.Kind, s.Addr(), s.Dir)
	code := m.Run()
	s.Stop()
	removeBinary()
	os.Exit(code)
}

// Require skips the test unless integration tests are enabled; with them
// enabled and no server it fails.
func Require(t testing.TB, s *Server) {
	t.Helper()
	if !Enabled() {
		t.Skip("integration test: set XMPPCTL_INTEGRATION=1 (scripts/test does)")
	}
	if s == nil {
		t.Fatal("integration enabled but no test server (call testserver.Main in TestMain)")
	}
}

// Only skips the test unless it runs against the server of the given kind,
// printing why it applies to that server only. It implies Require.
func Only(t testing.TB, s *Server, kind, why string) {
	t.Helper()
	Require(t, s)
	if s.Kind != kind {
		t.Skipf("%s only (this run: %s): %s", kind, s.Kind, why)
	}
}

// Stop stops the server and removes its state dir unless
// XMPPCTL_KEEP_SERVER=1 (to read its log after a failure).
func (s *Server) Stop() {
	args := []string{"stop", s.Dir}
	if os.Getenv("XMPPCTL_KEEP_SERVER") != "1" {
		args = append(args, "--purge")
	}
	_ = exec.Command(filepath.Join(Root(), "scripts", "test-server"), args...).Run()
}

// JID returns user@domain.
func (s *Server) JID(user string) string { return user + "@" + s.Domain }

// Addr returns the STARTTLS address host:port.
func (s *Server) Addr() string { return s.Host + ":" + s.C2SPort }

// TLSAddr returns the direct TLS address host:port.
func (s *Server) TLSAddr() string { return s.Host + ":" + s.TLSPort }

// Options returns connection options for user over STARTTLS, with a fresh
// data dir under t.TempDir().
func (s *Server) Options(t testing.TB, user string) conn.Options {
	return conn.Options{JID: s.JID(user), Password: s.Users[user], Server: s.Addr(), TLSMode: "starttls",
		TLS: conn.TLSPolicy{CAFile: s.CAFile}, DataDir: t.TempDir(), DialTimeout: 10 * time.Second}
}

// Dial logs user in and closes the session when the test ends.
func (s *Server) Dial(t testing.TB, user string) conn.Session {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	sess, err := conn.Dial(ctx, s.Options(t, user))
	if err != nil {
		t.Fatalf("dial %s: %v", user, err)
	}
	t.Cleanup(func() { sess.Close() })
	return sess
}

// AddUser registers a new account on the running server.
func (s *Server) AddUser(user, password string) error {
	if s.Kind == Ejabberd {
		if err := s.ejabberdRegister(user, password); err != nil {
			return fmt.Errorf("add user %s: %w", user, err)
		}
		s.Users[user] = password
		return nil
	}
	out, err := exec.Command("prosodyctl", "--config", filepath.Join(s.Dir, "prosody.cfg.lua"),
		"shell", fmt.Sprintf("user:create(%q, %q)", s.JID(user), password)).CombinedOutput()
	if err != nil {
		return fmt.Errorf("add user %s: %v: %s", user, err, out)
	}
	s.Users[user] = password
	return nil
}

// FreshUser registers an account no earlier test has used (prefix plus a
// number), so a test that needs an untouched account also passes when run
// again with -count; it returns the user name, whose password is in Users.
func (s *Server) FreshUser(prefix string) (string, error) {
	for i := 0; ; i++ {
		name := fmt.Sprintf("%s%d", prefix, i)
		if _, taken := s.Users[name]; !taken {
			return name, s.AddUser(name, name+"pw")
		}
	}
}

// Config writes an xmppctl config file for user (mode 0600) and returns its
// path; extra lines are appended verbatim.
func (s *Server) Config(t testing.TB, user string, extra ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.toml")
	lines := []string{
		fmt.Sprintf("jid = %q", s.JID(user)),
		fmt.Sprintf("password = %q", s.Users[user]),
		fmt.Sprintf("server = %q", s.Addr()),
		`tls = "starttls"`,
		fmt.Sprintf("ca_file = %q", s.CAFile),
	}
	lines = append(lines, extra...)
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func readEnv(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()
	env := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if ok {
			env[k] = strings.Trim(v, `"`)
		}
	}
	return env, sc.Err()
}
