package release

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
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
// two directories, once with the usual build cache and once from a cold,
// empty cache of its own, and requires byte-identical outputs (archive,
// .deb, SHA256SUMS) whose entries all carry the commit's time and owner 0;
// then unpacks the .deb into a scratch root, checks its control data and
// layout, and runs xmppctl version from it.
//
// The cold cache is the point: the second build compiles every package
// itself, sharing nothing with the first, so whatever the usual cache holds
// (from earlier builds, other flags, other revisions) must give the same
// bytes as a from-scratch compile. Two cold builds would prove no more and
// cost twice the CPU. Only the host target is built (the six targets cold
// would take about six minutes of CPU); the other targets run the same
// build function with the same pinned environment, and the .zip of
// windows/amd64 is made from files whose times and modes are normalised the
// same way. One cold build takes about 2.5 CPU-minutes on the 2-core
// development machine, a warm one about 21 CPU-seconds.
func TestReleaseReproducibleAndInstallable(t *testing.T) {
	if os.Getenv("XMPPCTL_INTEGRATION") != "1" {
		t.Skip("set XMPPCTL_INTEGRATION=1: builds release artifacts twice, once from a cold cache (minutes)")
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
	// Both builds must see the same commit (its time stamps every entry).
	head := strings.TrimSpace(run(t, root(t), nil, "git", "rev-parse", "HEAD"))
	epoch := commitTime(t)
	// The two builds run one after the other: in parallel they would only
	// compete for the same cores.
	for i, out := range outs {
		if i == 0 {
			// The first build uses the usual build cache, warm or not.
			run(t, root(t), env, "scripts/release", version, out)
			continue
		}
		cache := t.TempDir()
		run(t, root(t), append(env, "GOCACHE="+cache), "scripts/release", version, out)
		if ents, _ := os.ReadDir(cache); len(ents) == 0 {
			t.Fatalf("the build did not use its own cache %s", cache)
		}
	}
	if now := strings.TrimSpace(run(t, root(t), nil, "git", "rev-parse", "HEAD")); now != head {
		t.Fatalf("HEAD moved from %s to %s while the test ran: the two builds are of different revisions; run it again", head, now)
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
	f, err := os.Open(filepath.Join(outs[0], archive))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	checkTar(t, archive, zr, epoch)
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
	data := run(t, "", nil, "dpkg-deb", "--fsys-tarfile", pkg)
	checkTar(t, debName, strings.NewReader(data), epoch)

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

// commitTime is the time every archive entry must carry: the one
// scripts/release takes from the last commit (or SOURCE_DATE_EPOCH).
func commitTime(t *testing.T) time.Time {
	t.Helper()
	if e := os.Getenv("SOURCE_DATE_EPOCH"); e != "" {
		n, err := strconv.ParseInt(e, 10, 64)
		if err != nil {
			t.Fatalf("SOURCE_DATE_EPOCH %q: %v", e, err)
		}
		return time.Unix(n, 0)
	}
	out := strings.TrimSpace(run(t, root(t), nil, "git", "log", "-1", "--format=%ct"))
	n, err := strconv.ParseInt(out, 10, 64)
	if err != nil {
		t.Fatalf("commit time %q: %v", out, err)
	}
	return time.Unix(n, 0)
}

// checkTar requires every entry of a tar stream to have the fixed time and
// owner 0/0, so that nothing of the building machine leaks into the bytes.
func checkTar(t *testing.T, name string, r io.Reader, epoch time.Time) {
	t.Helper()
	tr := tar.NewReader(r)
	n := 0
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		n++
		if !h.ModTime.Equal(epoch) {
			t.Errorf("%s: %s has time %v, want the commit's %v", name, h.Name, h.ModTime.UTC(), epoch.UTC())
		}
		if h.Uid != 0 || h.Gid != 0 {
			t.Errorf("%s: %s owned by %d/%d, want 0/0", name, h.Name, h.Uid, h.Gid)
		}
	}
	if n == 0 {
		t.Errorf("%s: no entries", name)
	}
}
