package testserver

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// Binary builds the xmppctl binary once per test process and returns its
// path.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "xmppctl-bin-*")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "xmppctl")
		// Built as shipped: static, pure-Go resolver (see README).
		cmd := exec.Command("go", "build", "-trimpath", "-o", binPath, ".")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		cmd.Dir = Root()
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// removeBinary deletes the binary built by Binary, if any (called by Main
// when the package's tests are done).
func removeBinary() {
	if binPath != "" {
		_ = os.RemoveAll(filepath.Dir(binPath))
	}
}

// Result is what a run of the binary produced.
type Result struct {
	Stdout, Stderr string
	Code           int
}

// Run runs the binary with args, the given extra environment and stdin.
// The environment is minimal and isolated: HOME, XDG dirs and the data dir
// point into t.TempDir() unless env overrides them.
func Run(t testing.TB, stdin string, env []string, args ...string) Result {
	t.Helper()
	home := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, Binary(t), args...)
	cmd.Env = append([]string{
		"HOME=" + home,
		"XDG_CONFIG_HOME=" + filepath.Join(home, "config"),
		"XDG_DATA_HOME=" + filepath.Join(home, "data"),
		"PATH=" + os.Getenv("PATH"),
	}, env...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run xmppctl: %v", err)
	}
	return Result{Stdout: out.String(), Stderr: errb.String(), Code: code}
}

// AccountEnv returns the environment that makes the binary log in as user
// over STARTTLS with the test CA (no config file needed).
func (s *Server) AccountEnv(user string) []string {
	return []string{
		"XMPPCTL_JID=" + s.JID(user),
		"XMPPCTL_PASSWORD=" + s.Users[user],
	}
}

// Flags returns the global flags that point the binary at this server.
func (s *Server) Flags() []string {
	return []string{"--server", s.Addr(), "--tls", "starttls", "--ca-file", s.CAFile}
}

// NewUser registers a fresh account with a unique name, so that tests do
// not see each other's messages, blocks or archives.
func (s *Server) NewUser(t testing.TB, prefix string) string {
	t.Helper()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	user := prefix + hex.EncodeToString(b)
	if err := s.AddUser(user, user+"-pw"); err != nil {
		t.Fatal(err)
	}
	return user
}
