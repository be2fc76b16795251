package config

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startedFIFO returns a FIFO path and a channel closed once a command has
// written to it: the test waits on that event, not on a sleep.
func startedFIFO(t *testing.T) (string, <-chan struct{}) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "started")
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	ch := make(chan struct{})
	go func() {
		if b, err := os.ReadFile(p); err == nil && len(b) > 0 {
			close(ch)
		}
	}()
	return p, ch
}

// resolveAsync runs ResolvePassword and delivers its outcome.
func resolveAsync(ctx context.Context, a *Account) <-chan error {
	ch := make(chan error, 1)
	go func() {
		_, err := a.ResolvePassword(ctx)
		ch <- err
	}()
	return ch
}

// Issue 14 defect 9: cancelling (SIGINT/SIGTERM cancel the root context)
// ends the password command and everything it started at once, and the
// error is the context's, so that the exit status is 130.
func TestPasswordCommandCancelledKillsItsProcessGroup(t *testing.T) {
	fifo, started := startedFIFO(t)
	// sleep runs as a child of sh and holds its stdout: killing sh alone
	// leaves ResolvePassword waiting for the pipe for 300 seconds.
	a := &Account{JID: "a@b", PasswordCommand: "echo go > " + fifo + "; sleep 300; echo pw"}
	ctx, cancel := context.WithCancel(context.Background())
	done := resolveAsync(ctx, a)
	<-started
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("error %v, want context.Canceled", err)
		}
	case <-time.After(60 * time.Second): // a hang detector, far below the command's 300 s
		t.Fatal("ResolvePassword still waits for the password command's children")
	}
}

// --timeout bounds the command: the deadline's error (exit status 7).
func TestPasswordCommandDeadline(t *testing.T) {
	a := &Account{JID: "a@b", PasswordCommand: "sleep 300; echo pw"}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	select {
	case err := <-resolveAsync(ctx, a):
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("error %v, want context.DeadlineExceeded", err)
		}
		if !strings.Contains(err.Error(), "password_command") {
			t.Errorf("error %q does not say what timed out", err)
		}
	case <-time.After(60 * time.Second): // a hang detector, far below the command's 300 s
		t.Fatal("ResolvePassword still waits for the password command's children")
	}
}

// Issue 14 defect 11: a failing command's output is not copied into the
// error (it may hold the secret or a part of it); the exit status is.
func TestPasswordCommandFailureKeepsItsOutput(t *testing.T) {
	a := &Account{JID: "a@b", PasswordCommand: "echo 'decrypt failed for s3cr3t-pw' >&2; echo s3cr3t-out; exit 3"}
	_, err := a.ResolvePassword(context.Background())
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	if strings.Contains(msg, "s3cr3t") || strings.Contains(msg, "decrypt") {
		t.Errorf("error %q copies the command's output", msg)
	}
	if !strings.Contains(msg, "password_command failed") || !strings.Contains(msg, "exit status 3") {
		t.Errorf("error %q does not say the command failed and how", msg)
	}
}
