// Command gendocs regenerates man/ and completions/ (run by scripts/gendocs).
package main

import (
	"fmt"
	"os"

	"github.com/xmppctl/xmppctl/internal/docgen"
)

func main() {
	dir := "."
	if len(os.Args) > 1 {
		dir = os.Args[1]
	}
	if err := docgen.Generate(dir); err != nil {
		fmt.Fprintln(os.Stderr, "gendocs:", err)
		os.Exit(1)
	}
}
