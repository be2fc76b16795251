// Package units writes byte counts for people, the same way in every
// command and message: binary multiples (KiB, MiB, …) with one decimal,
// none when it is zero ("512 B", "1.5 KiB", "256 MiB").
package units

import (
	"strconv"
	"strings"
)

// Bytes writes n like "1.5 KiB"; a negative n is an unknown size.
func Bytes(n int64) string {
	if n < 0 {
		return "unknown size"
	}
	const unit = 1024
	if n < unit {
		return strconv.FormatInt(n, 10) + " B"
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	s := strconv.FormatFloat(float64(n)/float64(div), 'f', 1, 64)
	return strings.TrimSuffix(s, ".0") + " " + string("KMGTPE"[exp]) + "iB"
}

// Exact writes n with its exact count first, for limits and refusals:
// "52428800 bytes (50 MiB)", "1023 bytes".
func Exact(n int64) string {
	if n < 1024 {
		return strconv.FormatInt(n, 10) + " bytes"
	}
	return strconv.FormatInt(n, 10) + " bytes (" + Bytes(n) + ")"
}
