// Command uploadslot requests one XEP-0363 upload slot and prints it for
// bench/upload.sh, so that curl can PUT to a slot as a baseline:
//
//	uploadslot -server 127.0.0.1:5222 -ca ca.crt -name f.bin -size N
//
// prints the PUT URL on the first line, then one "Name: value" line per
// header. The account comes from XMPPCTL_JID and XMPPCTL_PASSWORD.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/xmppctl/xmppctl/pkg/conn"
	"github.com/xmppctl/xmppctl/pkg/disco"
	"github.com/xmppctl/xmppctl/pkg/upload"
)

func main() {
	server := flag.String("server", "", "host:port (STARTTLS)")
	ca := flag.String("ca", "", "CA file")
	name := flag.String("name", "f.bin", "file name")
	size := flag.Int64("size", 0, "file size")
	ctype := flag.String("type", "application/octet-stream", "content type")
	flag.Parse()
	if err := run(*server, *ca, *name, *size, *ctype); err != nil {
		fmt.Fprintln(os.Stderr, "uploadslot:", err)
		os.Exit(1)
	}
}

func run(server, ca, name string, size int64, ctype string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := conn.Dial(ctx, conn.Options{JID: os.Getenv("XMPPCTL_JID"), Password: os.Getenv("XMPPCTL_PASSWORD"),
		Server: server, TLSMode: "starttls", TLS: conn.TLSPolicy{CAFile: ca}})
	if err != nil {
		return err
	}
	defer s.Close()
	svc, err := upload.Discover(ctx, disco.NewCache(s))
	if err != nil {
		return err
	}
	slot, err := upload.RequestSlot(ctx, s, svc.JID, upload.Request{Filename: name, Size: size, ContentType: ctype})
	if err != nil {
		return err
	}
	fmt.Println(slot.PutURL)
	for _, h := range slot.Headers {
		fmt.Printf("%s: %s\n", h.Name, h.Value)
	}
	return nil
}
