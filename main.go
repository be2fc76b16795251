// Command xmppctl is XMPP from the shell. See README.md.
package main

import (
	"os"

	"github.com/xmppctl/xmppctl/cmd"
)

func main() { os.Exit(cmd.Main(os.Args[1:])) }
