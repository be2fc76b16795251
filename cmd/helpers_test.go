package cmd

import "encoding/xml"

func unmarshal(s string, v any) error { return xml.Unmarshal([]byte(s), v) }
