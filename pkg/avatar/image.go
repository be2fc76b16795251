package avatar

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"

	"golang.org/x/image/draw"
)

// Image types accepted for avatars.
const (
	TypePNG  = "image/png"
	TypeJPEG = "image/jpeg"
)

// Limits bound a published avatar. The defaults follow the guideline the
// project works to: at most 72 KiB and about 192 pixels on a side.
type Limits struct {
	MaxBytes  int // encoded size
	MaxSide   int // pixels on the longer side
	MaxPixels int // refuse to decode larger inputs (decompression bombs)
	MinSide   int // give up shrinking below this
}

// DefaultLimits are the publishing limits.
var DefaultLimits = Limits{MaxBytes: 72 * 1024, MaxSide: 192, MaxPixels: 50_000_000, MinSide: 16}

// ErrFormat is returned for input that is not a PNG or JPEG image.
var ErrFormat = errors.New("not a PNG or JPEG image")

// Prepared is an image ready to publish, with what was done to it.
type Prepared struct {
	Data          []byte
	Type          string
	Width, Height int

	// The input as given.
	OrigBytes, OrigWidth, OrigHeight int
	OrigType                         string
	Scaled                           bool // resized to fit MaxSide or MaxBytes
	Reencoded                        bool // not the input bytes

	limits Limits
}

// Changes describes what Prepare did, for the user ("" if nothing).
func (p *Prepared) Changes() string {
	if !p.Reencoded {
		return ""
	}
	what := "re-encoded"
	if p.Scaled {
		what = "scaled"
	}
	return fmt.Sprintf("%s %dx%d %s (%d bytes) to %dx%d %s (%d bytes) to fit %d bytes and %d px",
		what, p.OrigWidth, p.OrigHeight, short(p.OrigType), p.OrigBytes,
		p.Width, p.Height, short(p.Type), len(p.Data), p.limits.MaxBytes, p.limits.MaxSide)
}

func short(typ string) string {
	switch typ {
	case TypePNG:
		return "PNG"
	case TypeJPEG:
		return "JPEG"
	}
	return typ
}

// Detect returns the image type from the content's signature, or "".
func Detect(b []byte) string {
	switch {
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		return TypePNG
	case bytes.HasPrefix(b, []byte("\xff\xd8\xff")):
		return TypeJPEG
	}
	return ""
}

// Prepare validates data as a PNG or JPEG image (by content, not by file
// name) and, when it exceeds the limits, scales it down preserving its
// aspect ratio and re-encodes it until it fits. A PNG stays a PNG unless
// it is opaque and only JPEG fits; a JPEG stays a JPEG.
func Prepare(data []byte, lim Limits) (*Prepared, error) {
	typ := Detect(data)
	if typ == "" {
		return nil, ErrFormat
	}
	cfg, err := decodeConfig(typ, data)
	if err != nil {
		return nil, fmt.Errorf("invalid %s: %w", short(typ), err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, fmt.Errorf("invalid %s: %dx%d pixels", short(typ), cfg.Width, cfg.Height)
	}
	if lim.MaxPixels > 0 && int64(cfg.Width)*int64(cfg.Height) > int64(lim.MaxPixels) {
		return nil, fmt.Errorf("%s of %dx%d pixels is too large to process", short(typ), cfg.Width, cfg.Height)
	}
	// Decode fully even when the bytes are published as they are: a
	// truncated or corrupt file must not become everyone's broken avatar.
	img, err := decode(typ, data)
	if err != nil {
		return nil, fmt.Errorf("invalid %s: %w", short(typ), err)
	}
	b := img.Bounds()
	p := &Prepared{Data: data, Type: typ, Width: b.Dx(), Height: b.Dy(),
		OrigBytes: len(data), OrigWidth: b.Dx(), OrigHeight: b.Dy(), OrigType: typ, limits: lim}
	if len(data) <= lim.MaxBytes && max(p.Width, p.Height) <= lim.MaxSide {
		return p, nil
	}
	side := min(max(p.Width, p.Height), lim.MaxSide)
	minSide := max(lim.MinSide, 1)
	for side >= minSide {
		dst := scale(img, side)
		for _, enc := range encoders(typ, img) {
			out, err := enc.encode(dst)
			if err != nil {
				return nil, fmt.Errorf("encode %s: %w", short(enc.typ), err)
			}
			if len(out) <= lim.MaxBytes {
				db := dst.Bounds()
				p.Data, p.Type, p.Width, p.Height = out, enc.typ, db.Dx(), db.Dy()
				p.Reencoded, p.Scaled = true, db.Dx() != p.OrigWidth || db.Dy() != p.OrigHeight
				return p, nil
			}
		}
		side = side * 3 / 4
	}
	return nil, fmt.Errorf("cannot make the image fit %d bytes", lim.MaxBytes)
}

func decodeConfig(typ string, data []byte) (image.Config, error) {
	if typ == TypePNG {
		return png.DecodeConfig(bytes.NewReader(data))
	}
	return jpeg.DecodeConfig(bytes.NewReader(data))
}

func decode(typ string, data []byte) (image.Image, error) {
	if typ == TypePNG {
		return png.Decode(bytes.NewReader(data))
	}
	return jpeg.Decode(bytes.NewReader(data))
}

// scale returns img resized so that its longer side is side pixels (never
// enlarged), preserving the aspect ratio.
func scale(img image.Image, side int) image.Image {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if max(w, h) <= side {
		w2, h2 := w, h
		dst := image.NewNRGBA(image.Rect(0, 0, w2, h2))
		draw.Draw(dst, dst.Bounds(), img, b.Min, draw.Src)
		return dst
	}
	var w2, h2 int
	if w >= h {
		w2, h2 = side, max(1, int(int64(h)*int64(side)/int64(w)))
	} else {
		w2, h2 = max(1, int(int64(w)*int64(side)/int64(h))), side
	}
	dst := image.NewNRGBA(image.Rect(0, 0, w2, h2))
	draw.CatmullRom.Scale(dst, dst.Bounds(), img, b, draw.Src, nil)
	return dst
}

type encoder struct {
	typ    string
	encode func(image.Image) ([]byte, error)
}

func encoders(typ string, src image.Image) []encoder {
	jpegQ := func(q int) encoder {
		return encoder{TypeJPEG, func(m image.Image) ([]byte, error) {
			var buf bytes.Buffer
			err := jpeg.Encode(&buf, m, &jpeg.Options{Quality: q})
			return buf.Bytes(), err
		}}
	}
	jpegs := []encoder{jpegQ(90), jpegQ(80), jpegQ(70)}
	if typ == TypeJPEG {
		return jpegs
	}
	pngEnc := encoder{TypePNG, func(m image.Image) ([]byte, error) {
		var buf bytes.Buffer
		err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&buf, m)
		return buf.Bytes(), err
	}}
	if o, ok := src.(interface{ Opaque() bool }); ok && o.Opaque() {
		return append([]encoder{pngEnc}, jpegs...)
	}
	return []encoder{pngEnc}
}
