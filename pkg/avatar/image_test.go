package avatar

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"testing"
)

func gradient(w, h int, alpha uint8) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.NRGBA{uint8(x * 255 / w), uint8(y * 255 / h), 90, alpha})
		}
	}
	return img
}

func noise(w, h int, alpha bool) *image.NRGBA {
	r := rand.New(rand.NewPCG(3, 4))
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = uint8(r.IntN(256))
		if !alpha && i%4 == 3 {
			img.Pix[i] = 255
		}
	}
	return img
}

func pngBytes(t testing.TB, img image.Image) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func jpegBytes(t testing.TB, img image.Image, q int) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: q}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// pngHeader is a PNG signature and IHDR claiming w x h pixels, nothing else.
func pngHeader(w, h uint32) []byte {
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr, w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 6
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	_ = binary.Write(&b, binary.BigEndian, uint32(13))
	b.WriteString("IHDR")
	b.Write(ihdr)
	_ = binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(append([]byte("IHDR"), ihdr...)))
	return b.Bytes()
}

func TestDetect(t *testing.T) {
	var g bytes.Buffer
	_ = gif.Encode(&g, gradient(4, 4, 255), nil)
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{"png", pngBytes(t, gradient(4, 4, 255)), TypePNG},
		{"jpeg", jpegBytes(t, gradient(4, 4, 255), 80), TypeJPEG},
		{"gif", g.Bytes(), ""},
		{"text", []byte("hello"), ""},
		{"empty", nil, ""},
		{"png prefix only", []byte("\x89PNG"), ""},
	}
	for _, tt := range tests {
		if got := Detect(tt.in); got != tt.want {
			t.Errorf("%s: Detect = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestPrepare(t *testing.T) {
	smallPNG := pngBytes(t, gradient(64, 48, 255))
	smallJPEG := jpegBytes(t, gradient(100, 50, 255), 85)
	tests := []struct {
		name       string
		in         []byte
		lim        Limits
		wantType   string
		wantW      int // 0: don't check
		wantH      int
		same       bool // published as given
		wantScaled bool
	}{
		{"small png as is", smallPNG, DefaultLimits, TypePNG, 64, 48, true, false},
		{"small jpeg as is", smallJPEG, DefaultLimits, TypeJPEG, 100, 50, true, false},
		{"wide png scaled to 192", pngBytes(t, gradient(800, 200, 255)), DefaultLimits, TypePNG, 192, 48, false, true},
		{"tall jpeg scaled to 192", jpegBytes(t, gradient(300, 600, 255), 90), DefaultLimits, TypeJPEG, 96, 192, false, true},
		{"big photo jpeg", jpegBytes(t, noise(2000, 1500, false), 95), DefaultLimits, TypeJPEG, 192, 144, false, true},
		{"transparent noise stays png", pngBytes(t, noise(600, 400, true)), DefaultLimits, TypePNG, 0, 0, false, true},
		{"opaque noise png may become jpeg", pngBytes(t, noise(190, 190, false)), Limits{MaxBytes: 30000, MaxSide: 192, MaxPixels: 1 << 24, MinSide: 16}, TypeJPEG, 190, 190, false, false},
		{"over bytes only: re-encoded", pngBytes(t, noise(100, 100, true)), Limits{MaxBytes: 20000, MaxSide: 192, MaxPixels: 1 << 24, MinSide: 16}, TypePNG, 0, 0, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Prepare(tt.in, tt.lim)
			if err != nil {
				t.Fatal(err)
			}
			if p.Type != tt.wantType || Detect(p.Data) != p.Type {
				t.Errorf("type %s (content %q), want %s", p.Type, Detect(p.Data), tt.wantType)
			}
			if tt.wantW != 0 && (p.Width != tt.wantW || p.Height != tt.wantH) {
				t.Errorf("size %dx%d, want %dx%d", p.Width, p.Height, tt.wantW, tt.wantH)
			}
			if bytes.Equal(p.Data, tt.in) != tt.same || p.Reencoded == tt.same {
				t.Errorf("same bytes = %v, Reencoded = %v; want same = %v", bytes.Equal(p.Data, tt.in), p.Reencoded, tt.same)
			}
			if p.Scaled != tt.wantScaled {
				t.Errorf("Scaled = %v, want %v", p.Scaled, tt.wantScaled)
			}
			if len(p.Data) > tt.lim.MaxBytes || max(p.Width, p.Height) > tt.lim.MaxSide {
				t.Errorf("result %d bytes %dx%d exceeds the limits", len(p.Data), p.Width, p.Height)
			}
			cfg, _, err := image.DecodeConfig(bytes.NewReader(p.Data))
			if err != nil || cfg.Width != p.Width || cfg.Height != p.Height {
				t.Errorf("result decodes as %dx%d (%v), metadata says %dx%d", cfg.Width, cfg.Height, err, p.Width, p.Height)
			}
			// Aspect ratio kept within a pixel.
			if ow, oh := p.OrigWidth, p.OrigHeight; abs(p.Width*oh-p.Height*ow) > max(ow, oh) {
				t.Errorf("aspect %dx%d from %dx%d", p.Width, p.Height, ow, oh)
			}
			if (p.Changes() == "") != !p.Reencoded {
				t.Errorf("Changes() = %q with Reencoded %v", p.Changes(), p.Reencoded)
			}
		})
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func TestPrepareRejects(t *testing.T) {
	var g bytes.Buffer
	_ = gif.Encode(&g, gradient(8, 8, 255), nil)
	full := pngBytes(t, gradient(64, 64, 255))
	tests := []struct {
		name   string
		in     []byte
		format bool // ErrFormat
	}{
		{"gif", g.Bytes(), true},
		{"text", []byte("#!/bin/sh\necho hi\n"), true},
		{"empty", nil, true},
		{"truncated png", full[:len(full)/2], false},
		{"png header only", pngHeader(10, 10), false},
		{"decompression bomb", pngHeader(100000, 100000), false},
		{"zero size", pngHeader(0, 10), false},
		{"jpeg garbage", []byte("\xff\xd8\xff\xe0garbage"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Prepare(tt.in, DefaultLimits)
			if err == nil {
				t.Fatal("accepted")
			}
			if errors.Is(err, ErrFormat) != tt.format {
				t.Fatalf("err = %v, ErrFormat = %v", err, tt.format)
			}
		})
	}
}

// FuzzPrepare feeds malformed PNG and JPEG data to the image path: it must
// never panic, and whatever it accepts must fit the limits and decode.
func FuzzPrepare(f *testing.F) {
	f.Add(pngBytes(f, gradient(3, 2, 128)))
	f.Add(jpegBytes(f, gradient(5, 3, 255), 50))
	f.Add(pngHeader(1, 1))
	f.Add([]byte("\xff\xd8\xff\xdb\x00\x43\x00"))
	f.Add([]byte("\x89PNG\r\n\x1a\n"))
	lim := Limits{MaxBytes: 4096, MaxSide: 32, MaxPixels: 1 << 16, MinSide: 4}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Prepare(data, lim)
		if err != nil {
			return
		}
		if len(p.Data) > lim.MaxBytes || max(p.Width, p.Height) > lim.MaxSide {
			t.Fatalf("accepted %d bytes %dx%d", len(p.Data), p.Width, p.Height)
		}
		if _, _, err := image.Decode(bytes.NewReader(p.Data)); err != nil {
			t.Fatalf("result does not decode: %v", err)
		}
	})
}
