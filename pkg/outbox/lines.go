package outbox

import (
	"bufio"
	"errors"
	"io"
	"strings"
)

// MaxLine is the longest line Lines passes on: 1 MiB.
const MaxLine = 1 << 20

// ErrLineTooLong is given to Lines' callback for a line over MaxLine.
var ErrLineTooLong = errors.New("line longer than 1 MiB: not sent")

// Lines calls fn with every non-empty line of r as it arrives (without its
// "\n" or "\r\n"). A line over max bytes is skipped up to its end, in
// constant memory, and fn gets ErrLineTooLong for it instead: one bad line
// does not end the stream. An error from fn ends Lines with it.
func Lines(r io.Reader, max int, fn func(line string, tooLong error) error) error {
	br := bufio.NewReaderSize(r, 64*1024)
	var buf []byte
	long := false
	for {
		chunk, err := br.ReadSlice('\n')
		if len(chunk) > 0 && !long {
			if len(buf)+len(chunk) > max+2 { // +2: the line end itself
				long, buf = true, buf[:0]
			} else {
				buf = append(buf, chunk...)
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		end := err == nil || (errors.Is(err, io.EOF) && (len(buf) > 0 || long))
		if end {
			line := strings.TrimRight(string(buf), "\r\n")
			switch {
			case long:
				if ferr := fn("", ErrLineTooLong); ferr != nil {
					return ferr
				}
			case len(line) > max:
				if ferr := fn("", ErrLineTooLong); ferr != nil {
					return ferr
				}
			case strings.TrimSpace(line) != "":
				if ferr := fn(line, nil); ferr != nil {
					return ferr
				}
			}
			buf, long = buf[:0], false
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}
