//go:build unix

package conn

import (
	"bufio"
	"os"
	"os/exec"
	"testing"
)

// TestLeaseSlotOtherProcess: a slot another live process holds is skipped,
// and freed by the kernel when that process ends.
func TestLeaseSlotOtherProcess(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestSlotHolderProcess$")
	// The child needs no server: without this, its TestMain started one
	// that its os.Exit left running (one Prosody and one ejabberd per run
	// of the suite).
	cmd.Env = append(os.Environ(), "XMPPCTL_SLOT_HOLDER="+dir, "XMPPCTL_INTEGRATION=")
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	if !sc.Scan() || sc.Text() != "held" {
		t.Fatalf("holder process: %q", sc.Text())
	}
	n, rel, _ := leaseSlot(dir)
	if n != 1 {
		t.Errorf("slot while another process holds 0: %d, want 1", n)
	}
	rel()
	stdin.Close() // the holder exits without unlocking
	_ = cmd.Wait()
	l, err := lockSlot(dir, 0)
	if err != nil {
		t.Fatalf("slot 0 after its holder died: %v", err)
	}
	l.f.Close()
}

// TestSlotHolderProcess is the child of TestLeaseSlotOtherProcess: it takes
// slot 0 and waits for its stdin to close.
func TestSlotHolderProcess(t *testing.T) {
	dir := os.Getenv("XMPPCTL_SLOT_HOLDER")
	if dir == "" {
		t.Skip("helper process")
	}
	if _, err := lockSlot(dir, 0); err != nil {
		t.Fatal(err)
	}
	os.Stdout.WriteString("held\n")
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
	os.Exit(0)
}
