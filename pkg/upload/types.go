package upload

import (
	"mime"
	"net/http"
	"path/filepath"
	"strings"
)

// DetectType picks the content type announced for a file: from the name's
// extension when it is known, else sniffed from the first bytes (at most
// 512 are used), else application/octet-stream.
func DetectType(name string, head []byte) string {
	if ext := filepath.Ext(name); ext != "" {
		if t := mime.TypeByExtension(strings.ToLower(ext)); t != "" {
			return t
		}
	}
	if len(head) == 0 {
		return "application/octet-stream"
	}
	return http.DetectContentType(head)
}
