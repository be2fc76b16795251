package caps

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha3"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"sort"
	"strings"

	"github.com/xmppctl/xmppctl/pkg/disco"
)

// ErrIllFormed is returned for a disco#info result that XEP-0115 §5.4
// (or XEP-0390 §4.1) says must not be hashed: duplicate identities or
// features, or two extended forms with the same FORM_TYPE.
var ErrIllFormed = errors.New("ill-formed disco#info for capabilities")

// newHash returns the XEP-0300 hash function of the given name.
func newHash(algo string) (hash.Hash, error) {
	switch algo {
	case "sha-1":
		return sha1.New(), nil
	case "sha-256":
		return sha256.New(), nil
	case "sha-512":
		return sha512.New(), nil
	case "sha3-256":
		return sha3.New256(), nil
	case "sha3-512":
		return sha3.New512(), nil
	}
	return nil, fmt.Errorf("unsupported hash function %q", algo)
}

func digest(algo string, data []byte) (string, error) {
	h, err := newHash(algo)
	if err != nil {
		return "", err
	}
	h.Write(data)
	return base64.StdEncoding.EncodeToString(h.Sum(nil)), nil
}

// checkUnique applies the ill-formedness rules both specifications share.
func checkUnique(info *disco.Info) error {
	ids := map[disco.Identity]bool{}
	for _, id := range info.Identities {
		if ids[id] {
			return fmt.Errorf("%w: duplicate identity %s/%s", ErrIllFormed, id.Category, id.Type)
		}
		ids[id] = true
	}
	feats := map[string]bool{}
	for _, f := range info.Features {
		if feats[f] {
			return fmt.Errorf("%w: duplicate feature %s", ErrIllFormed, f)
		}
		feats[f] = true
	}
	return nil
}

// formType returns the FORM_TYPE of an extended-info form and whether the
// form counts for XEP-0115: it must have a hidden FORM_TYPE field whose
// values (if several) are all equal.
func formType(f disco.Form) (string, bool, error) {
	for _, fl := range f.Fields {
		if fl.Var != "FORM_TYPE" {
			continue
		}
		if fl.Type != "hidden" || len(fl.Values) == 0 {
			return "", false, nil
		}
		for _, v := range fl.Values[1:] {
			if v != fl.Values[0] {
				return "", false, fmt.Errorf("%w: FORM_TYPE with different values", ErrIllFormed)
			}
		}
		return fl.Values[0], true, nil
	}
	return "", false, nil
}

// VerificationString returns the XEP-0115 §5.1 string S of info: the
// identities sorted by category, type and xml:lang as
// "category/type/lang/name<", the sorted features each followed by "<",
// then each extended form (sorted by FORM_TYPE, forms without a hidden
// FORM_TYPE ignored) as its FORM_TYPE and its other fields sorted by var,
// each var and each of its sorted values followed by "<". Sorting is by
// octets (i;octet) and the text is the character data itself, unescaped.
func VerificationString(info *disco.Info) (string, error) {
	if err := checkUnique(info); err != nil {
		return "", err
	}
	var b strings.Builder
	ids := append([]disco.Identity(nil), info.Identities...)
	sort.Slice(ids, func(i, j int) bool {
		a, c := ids[i], ids[j]
		if a.Category != c.Category {
			return a.Category < c.Category
		}
		if a.Type != c.Type {
			return a.Type < c.Type
		}
		if a.Lang != c.Lang {
			return a.Lang < c.Lang
		}
		return a.Name < c.Name
	})
	for _, id := range ids {
		b.WriteString(id.Category + "/" + id.Type + "/" + id.Lang + "/" + id.Name + "<")
	}
	feats := append([]string(nil), info.Features...)
	sort.Strings(feats)
	for _, f := range feats {
		b.WriteString(f + "<")
	}
	type form struct {
		typ    string
		fields []disco.Field
	}
	var forms []form
	seen := map[string]bool{}
	for _, f := range info.Forms {
		typ, ok, err := formType(f)
		if err != nil {
			return "", err
		}
		if !ok {
			continue
		}
		if seen[typ] {
			return "", fmt.Errorf("%w: two forms of type %s", ErrIllFormed, typ)
		}
		seen[typ] = true
		forms = append(forms, form{typ, f.Fields})
	}
	sort.Slice(forms, func(i, j int) bool { return forms[i].typ < forms[j].typ })
	for _, f := range forms {
		b.WriteString(f.typ + "<")
		fields := append([]disco.Field(nil), f.fields...)
		sort.SliceStable(fields, func(i, j int) bool { return fields[i].Var < fields[j].Var })
		for _, fl := range fields {
			if fl.Var == "FORM_TYPE" {
				continue
			}
			b.WriteString(fl.Var + "<")
			vals := append([]string(nil), fl.Values...)
			sort.Strings(vals)
			for _, v := range vals {
				b.WriteString(v + "<")
			}
		}
	}
	return b.String(), nil
}

// Ver returns the XEP-0115 'ver' of info with the given hash function
// ("sha-1" on today's network).
func Ver(info *disco.Info, algo string) (string, error) {
	s, err := VerificationString(info)
	if err != nil {
		return "", err
	}
	return digest(algo, []byte(s))
}

const (
	sep4 = 0x1f // unit separator
	sep3 = 0x1e // record separator
	sep2 = 0x1d // group separator
	sep1 = 0x1c // file separator
)

// HashInput returns the XEP-0390 §4.1 hash function input of info:
// features, identities and extension forms, each part built from UTF-8
// strings terminated by separator octets, sorted by octets.
func HashInput(info *disco.Info) ([]byte, error) {
	if err := checkUnique(info); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	feats := make([]string, 0, len(info.Features))
	for _, f := range info.Features {
		feats = append(feats, f+string(rune(sep4)))
	}
	writeSorted(&out, feats)
	out.WriteByte(sep1)
	ids := make([]string, 0, len(info.Identities))
	for _, id := range info.Identities {
		ids = append(ids, id.Category+"\x1f"+id.Type+"\x1f"+id.Lang+"\x1f"+id.Name+"\x1f\x1e")
	}
	writeSorted(&out, ids)
	out.WriteByte(sep1)
	forms := make([]string, 0, len(info.Forms))
	seen := map[string]bool{}
	for _, f := range info.Forms {
		typ, ok, err := formType(f)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("%w: extension form without a hidden FORM_TYPE", ErrIllFormed)
		}
		if seen[typ] {
			return nil, fmt.Errorf("%w: two forms of type %s", ErrIllFormed, typ)
		}
		seen[typ] = true
		fields := make([]string, 0, len(f.Fields))
		for _, fl := range f.Fields {
			vals := make([]string, 0, len(fl.Values))
			for _, v := range fl.Values {
				vals = append(vals, v+"\x1f")
			}
			sort.Strings(vals)
			fields = append(fields, fl.Var+"\x1f"+strings.Join(vals, "")+"\x1e")
		}
		sort.Strings(fields)
		forms = append(forms, strings.Join(fields, "")+"\x1d")
	}
	writeSorted(&out, forms)
	out.WriteByte(sep1)
	return out.Bytes(), nil
}

func writeSorted(b *bytes.Buffer, parts []string) {
	sort.Strings(parts) // Go compares strings bytewise: i;octet
	for _, p := range parts {
		b.WriteString(p)
	}
}

// Hash2 returns the XEP-0390 capability hash of info, base64-encoded.
func Hash2(info *disco.Info, algo string) (string, error) {
	in, err := HashInput(info)
	if err != nil {
		return "", err
	}
	return digest(algo, in)
}
