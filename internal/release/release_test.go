package release

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

func root(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

func run(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, errb.String())
	}
	return out.String()
}

// TestReleaseReproducibleAndInstallable builds the host target twice into
// two directories and requires byte-identical outputs (archive, .deb,
// SHA256SUMS); then unpacks the .deb into a scratch root, checks its
// control data and layout, and runs xmppctl version from it.
func TestReleaseReproducibleAndInstallable(t *testing.T) {
	if os.Getenv("XMPPCTL_INTEGRATION") != "1" {
		t.Skip("set XMPPCTL_INTEGRATION=1: builds release artifacts (about a minute)")
	}
	for _, tool := range []string{"tar", "gzip", "zip", "sha256sum"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is missing", tool)
		}
	}
	deb := runtime.GOOS == "linux" && (runtime.GOARCH == "amd64" || runtime.GOARCH == "arm64")
	if _, err := exec.LookPath("dpkg-deb"); err != nil {
		deb = false
	}
	const version = "v9.8.7-test.1"
	env := []string{"RELEASE_TARGETS=" + runtime.GOOS + "/" + runtime.GOARCH, "RELEASE_DEB=" + map[bool]string{true: "1", false: "0"}[deb]}
	outs := []string{filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b", "dist")}
	for _, out := range outs {
		run(t, root(t), env, "scripts/release", version, out)
	}
	names := func(dir string) []string {
		ents, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var n []string
		for _, e := range ents {
			n = append(n, e.Name())
		}
		return n
	}
	archive := "xmppctl-" + version + "-" + runtime.GOOS + "-" + runtime.GOARCH + ".tar.gz"
	want := []string{"SHA256SUMS", archive}
	debName := "xmppctl_9.8.7~test.1_" + runtime.GOARCH + ".deb"
	if deb {
		want = append(want, debName)
	}
	slices.Sort(want)
	if got := names(outs[0]); !slices.Equal(got, want) {
		t.Fatalf("release wrote %q, want %q", got, want)
	}
	for _, n := range want {
		a, _ := os.ReadFile(filepath.Join(outs[0], n))
		b, _ := os.ReadFile(filepath.Join(outs[1], n))
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs between two builds of the same revision", n)
		}
	}
	run(t, outs[0], nil, "sha256sum", "-c", "--quiet", "SHA256SUMS")

	list := run(t, outs[0], nil, "tar", "-tvzf", archive)
	stem := strings.TrimSuffix(archive, ".tar.gz")
	for _, f := range []string{"/xmppctl", "/LICENSE", "/README.md", "/man/xmppctl.1", "/man/xmppctl-version.1",
		"/completions/xmppctl.bash", "/completions/_xmppctl", "/completions/xmppctl.fish"} {
		if !strings.Contains(list, stem+f+"\n") {
			t.Errorf("archive lacks %s:\n%s", stem+f, list)
		}
	}
	if !strings.Contains(list, " 0/0 ") && !strings.Contains(list, "root/root") {
		t.Errorf("archive entries are not owned by 0/0:\n%s", list)
	}
	if !deb {
		t.Log("no .deb on this platform")
		return
	}

	pkg := filepath.Join(outs[0], debName)
	control := run(t, "", nil, "dpkg-deb", "-f", pkg)
	for _, line := range []string{"Package: xmppctl\n", "Version: 9.8.7~test.1\n", "Architecture: " + runtime.GOARCH + "\n"} {
		if !strings.Contains(control, line) {
			t.Errorf("control lacks %q:\n%s", line, control)
		}
	}
	if strings.Contains(control, "Depends") {
		t.Errorf("a static binary with dependencies:\n%s", control)
	}
	contents := run(t, "", nil, "dpkg-deb", "-c", pkg)
	for _, p := range []string{"./usr/bin/xmppctl", "./usr/share/man/man1/xmppctl.1.gz", "./usr/share/man/man1/xmppctl-download.1.gz",
		"./usr/share/bash-completion/completions/xmppctl", "./usr/share/zsh/vendor-completions/_xmppctl",
		"./usr/share/fish/vendor_completions.d/xmppctl.fish", "./usr/share/doc/xmppctl/copyright"} {
		if !strings.Contains(contents, p+"\n") {
			t.Errorf(".deb lacks %s:\n%s", p, contents)
		}
	}
	for _, l := range strings.Split(strings.TrimSpace(contents), "\n") {
		if !strings.Contains(l, " root/root ") {
			t.Errorf("not owned by root: %s", l)
		}
	}

	scratch := t.TempDir()
	run(t, "", nil, "dpkg", "-x", pkg, scratch)
	man, err := os.ReadFile(filepath.Join(scratch, "usr/share/man/man1/xmppctl.1.gz"))
	if err != nil || len(man) < 10 || !bytes.Equal(man[4:8], []byte{0, 0, 0, 0}) || man[3]&0x08 != 0 {
		t.Errorf("man page not gzipped with -n (no name, no time): %v", err)
	}
	out := run(t, scratch, []string{"XDG_CONFIG_HOME=" + scratch}, filepath.Join(scratch, "usr/bin/xmppctl"), "--json", "version")
	var info struct {
		Version, Go, OS, Arch string
	}
	if err := json.Unmarshal([]byte(out), &info); err != nil || info.Version != version || info.OS != runtime.GOOS || info.Arch != runtime.GOARCH {
		t.Fatalf("installed xmppctl version: %q (%v)", out, err)
	}
	if txt := run(t, scratch, nil, filepath.Join(scratch, "usr/bin/xmppctl"), "--version"); !strings.HasPrefix(txt, "xmppctl version "+version+"\n") {
		t.Errorf("--version: %q", txt)
	}
}
