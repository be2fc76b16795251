package cmd

// Progress bars for concurrent uploads: one progressbar/v3 bar per file,
// stacked. progressbar draws one line with carriage returns; each bar here
// writes into a lineWriter that keeps only its current line, and the stack
// redraws the block of active lines with ANSI cursor movement. Finished
// bars and messages scroll up above the block. Used only when stderr is a
// terminal.

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/xmppctl/xmppctl/pkg/term"
)

type barStack struct {
	mu     sync.Mutex
	w      io.Writer
	active []*fileBar
	drawn  int // lines of the active block currently on screen
}

type fileBar struct {
	stack *barStack
	bar   *progressbar.ProgressBar
	line  string // last rendered line; guarded by stack.mu
	label string
	sent  int64 // guarded by stack.mu
}

func newBarStack(w io.Writer) *barStack { return &barStack{w: w} }

// Add starts a bar for a file of size bytes.
func (st *barStack) Add(label string, size int64) *fileBar {
	label = term.Sanitize(label, false)
	if r := []rune(label); len(r) > 28 {
		label = string(r[:27]) + "…"
	}
	fb := &fileBar{stack: st, label: label}
	max := size
	if max <= 0 {
		max = 1
	}
	fb.bar = progressbar.NewOptions64(max,
		progressbar.OptionSetWriter(lineWriter{fb}),
		progressbar.OptionSetDescription(fmt.Sprintf("%-28s", label)),
		progressbar.OptionShowBytes(true),
		progressbar.OptionShowCount(),
		progressbar.OptionUseIECUnits(true),
		progressbar.OptionSetWidth(20),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionSetRenderBlankState(false),
	)
	st.mu.Lock()
	fb.line = fmt.Sprintf("%-28s waiting", label)
	st.active = append(st.active, fb)
	st.redrawLocked(nil)
	st.mu.Unlock()
	return fb
}

// Set shows sent bytes; a drop back to zero (a retry) restarts the clock.
func (fb *fileBar) Set(sent int64) {
	fb.stack.mu.Lock()
	restart := sent < fb.sent
	fb.sent = sent
	fb.stack.mu.Unlock()
	if restart {
		fb.bar.Reset()
	}
	_ = fb.bar.Set64(sent)
}

// SetTotal sets the expected size once it is known (downloads learn it
// from the response).
func (fb *fileBar) SetTotal(n int64) { fb.bar.ChangeMax64(n) }

// Done removes the bar from the block and prints its final line above.
func (fb *fileBar) Done(result string) {
	st := fb.stack
	st.mu.Lock()
	defer st.mu.Unlock()
	for i, b := range st.active {
		if b == fb {
			st.active = append(st.active[:i], st.active[i+1:]...)
			break
		}
	}
	st.redrawLocked([]string{fmt.Sprintf("%-28s %s", fb.label, result)})
}

// Println prints a message above the bars.
func (st *barStack) Println(msg string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.redrawLocked([]string{msg})
}

// redrawLocked moves to the top of the block, prints the extra lines
// (which scroll up and stay) and the active bars.
func (st *barStack) redrawLocked(above []string) {
	var b strings.Builder
	if st.drawn > 0 {
		fmt.Fprintf(&b, "\r\x1b[%dA", st.drawn)
	}
	b.WriteString("\r\x1b[J")
	for _, l := range above {
		b.WriteString(l)
		b.WriteString("\n")
	}
	for _, fb := range st.active {
		b.WriteString(fb.line)
		b.WriteString("\x1b[K\n")
	}
	st.drawn = len(st.active)
	_, _ = io.WriteString(st.w, b.String())
}

// lineWriter receives progressbar's output ("\r" + line, or blanking
// with spaces) and keeps the last non-blank line.
type lineWriter struct{ fb *fileBar }

func (lw lineWriter) Write(p []byte) (int, error) {
	segs := strings.Split(string(p), "\r")
	for i := len(segs) - 1; i >= 0; i-- {
		if s := strings.TrimRight(segs[i], " "); s != "" {
			st := lw.fb.stack
			st.mu.Lock()
			lw.fb.line = s
			st.redrawLocked(nil)
			st.mu.Unlock()
			break
		}
	}
	return len(p), nil
}
