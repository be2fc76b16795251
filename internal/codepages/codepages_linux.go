package codepages

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"strconv"
	"syscall"
)

// Drop advises the kernel that the executable's read-only private
// mappings are not needed and returns how many bytes it advised; 0 when
// it found none (a failure only leaves the pages mapped). A mapping with
// any page of its own (a debugger's or a uprobe's breakpoint is a private
// copy of a code page) is left alone: the advice would drop that copy.
func Drop() int {
	var st syscall.Stat_t
	if err := syscall.Stat("/proc/self/exe", &st); err != nil {
		return 0
	}
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return 0
	}
	defer f.Close()
	n := 0
	for _, m := range unwritten(f, st.Dev, st.Ino) {
		_, _, errno := syscall.Syscall(syscall.SYS_MADVISE, m.start, m.end-m.start, syscall.MADV_DONTNEED)
		if errno == 0 {
			n += int(m.end - m.start)
		}
	}
	return n
}

// unwritten returns the mappings in smaps (/proc/PID/smaps) of the file
// dev:ino that are read-only, private and have no page of their own.
func unwritten(smaps io.Reader, dev, ino uint64) []mapping {
	var out []mapping
	var cur mapping
	ours := false
	sc := bufio.NewScanner(smaps)
	for sc.Scan() {
		line := sc.Bytes()
		if key, rest, ok := bytes.Cut(line, []byte(":")); ok && !bytes.ContainsAny(key, " -") {
			// "Anonymous:   4 kB" inside the current mapping's block.
			if v := bytes.Fields(rest); ours && string(key) == "Anonymous" && (len(v) == 0 || string(v[0]) != "0") {
				ours = false
			}
			continue
		}
		if ours {
			out = append(out, cur)
		}
		m, ok := parseMapping(line)
		cur, ours = m, ok && m.inode == ino && m.dev == dev && m.readOnlyPrivate
	}
	if ours && sc.Err() == nil {
		out = append(out, cur)
	}
	return out
}

// mapping is one line of /proc/self/maps.
type mapping struct {
	start, end      uintptr
	readOnlyPrivate bool // "r--p" or "r-xp": nothing in it was ever written
	dev, inode      uint64
}

// parseMapping reads "start-end perms offset major:minor inode [path]".
func parseMapping(line []byte) (mapping, bool) {
	f := bytes.Fields(line)
	if len(f) < 5 {
		return mapping{}, false
	}
	lo, hi, ok := bytes.Cut(f[0], []byte("-"))
	maj, min, ok2 := bytes.Cut(f[3], []byte(":"))
	if !ok || !ok2 {
		return mapping{}, false
	}
	start, err1 := strconv.ParseUint(string(lo), 16, 64)
	end, err2 := strconv.ParseUint(string(hi), 16, 64)
	major, err3 := strconv.ParseUint(string(maj), 16, 32)
	minor, err4 := strconv.ParseUint(string(min), 16, 32)
	inode, err5 := strconv.ParseUint(string(f[4]), 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || err4 != nil || err5 != nil || end <= start {
		return mapping{}, false
	}
	p := f[1]
	ro := len(p) == 4 && p[0] == 'r' && p[1] == '-' && p[3] == 'p'
	return mapping{start: uintptr(start), end: uintptr(end), readOnlyPrivate: ro,
		dev: mkdev(major, minor), inode: inode}, true
}

// mkdev packs a device number as stat(2) returns it (glibc's makedev).
func mkdev(major, minor uint64) uint64 {
	return (major&0xfff)<<8 | (major&^0xfff)<<32 | (minor & 0xff) | (minor&^0xff)<<12
}
