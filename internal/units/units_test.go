package units

import (
	"math"
	"testing"
)

func TestBytes(t *testing.T) {
	for _, tt := range []struct {
		n    int64
		want string
	}{
		{-1, "unknown size"},
		{0, "0 B"},
		{512, "512 B"},
		{1023, "1023 B"},
		{1024, "1 KiB"},
		{1536, "1.5 KiB"},
		{1024*1024 - 1, "1024 KiB"}, // rounds up, stays in KiB
		{29 << 20, "29 MiB"},
		{29<<20 + 100<<10, "29.1 MiB"},
		{256 << 20, "256 MiB"},
		{10 << 30, "10 GiB"},
		{3 << 40, "3 TiB"},
		{math.MaxInt64, "8 EiB"},
	} {
		if got := Bytes(tt.n); got != tt.want {
			t.Errorf("Bytes(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}

func TestExact(t *testing.T) {
	for _, tt := range []struct {
		n    int64
		want string
	}{
		{0, "0 bytes"},
		{1023, "1023 bytes"},
		{1024, "1024 bytes (1 KiB)"},
		{1 << 20, "1048576 bytes (1 MiB)"},
		{50 << 20, "52428800 bytes (50 MiB)"},
		{3 << 30, "3221225472 bytes (3 GiB)"},
	} {
		if got := Exact(tt.n); got != tt.want {
			t.Errorf("Exact(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}
