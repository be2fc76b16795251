// Command faultbench measures xmppctl under injected network faults, for
// bench/reconnect.sh (which starts the server and sets the environment):
//
//  1. send --lines of LINES lines with the connection cut CUTS times:
//     lines lost (never arrived at the recipient) and duplicated (arrived
//     more than once) per 10,000, and the statuses reported with --json;
//  2. listen through a frozen connection: seconds from the freeze until
//     the keepalive declared it dead, and until the new connection.
//
// It is a measurement, not a test: it prints numbers and asserts nothing.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/xmppctl/xmppctl/internal/faultproxy"
	"github.com/xmppctl/xmppctl/pkg/conn"
	"github.com/xmppctl/xmppctl/pkg/stanza"
)

func main() {
	lines := flag.Int("lines", 10000, "lines to send")
	cuts := flag.Int("cuts", 5, "connection cuts during the send")
	every := flag.Int64("every", 300_000, "cut each connection after this many bytes towards the server")
	keepalive := flag.Duration("keepalive", 5*time.Second, "listen --keepalive for the freeze measurement")
	freezes := flag.Int("freezes", 3, "freezes to measure")
	flag.Parse()
	env := func(k string) string { return os.Getenv(k) }
	bin, domain := env("XMPPCTL"), env("XMPP_DOMAIN")
	target := env("XMPP_HOST") + ":" + env("XMPP_C2S_PORT")
	p, err := faultproxy.Start(target)
	check(err)
	defer p.Close()
	flags := []string{"--server", p.Addr(), "--tls", "starttls", "--ca-file", env("XMPP_CA_FILE")}

	bob := dial(domain, "bob", "bobpass", target, env("XMPP_CA_FILE"))
	defer bob.Close()
	sub := bob.Subscribe()

	data := os.Getenv("DATA")
	if *lines > 0 {
		// 1. send --lines with cuts.
		run(bin, append(flags, "--data-dir", data, "send", "-m", "warm-up", "bob@"+domain), "", "alice", nil) // mechanism remembered
		drain(sub, time.Second)
		base := p.Count()
		ctx, cancel := context.WithCancel(context.Background())
		go cutEach(ctx, p, base+1, *cuts, *every)
		var in strings.Builder
		for i := 0; i < *lines; i++ {
			fmt.Fprintf(&in, "bench line %06d\n", i)
		}
		start := time.Now()
		out, _, code := run(bin, append(flags, "--data-dir", data, "--json", "send", "--lines", "bob@"+domain), in.String(), "alice", nil)
		took := time.Since(start)
		cancel()
		status := map[string]int{}
		sc := bufio.NewScanner(strings.NewReader(out))
		for sc.Scan() {
			var r struct{ Status string }
			if json.Unmarshal(sc.Bytes(), &r) == nil {
				status[r.Status]++
			}
		}
		got := map[string]int{}
		for _, m := range drain(sub, 5*time.Second) {
			if strings.HasPrefix(m.Body, "bench line ") {
				got[m.Body]++
			}
		}
		lost, dup := 0, 0
		for i := 0; i < *lines; i++ {
			switch n := got[fmt.Sprintf("bench line %06d", i)]; {
			case n == 0:
				lost++
			case n > 1:
				dup += n - 1
			}
		}
		fired := 0
		for _, e := range p.Events() {
			if e.Kind == faultproxy.Fired {
				fired++
			}
		}
		per := func(n int) float64 { return float64(n) * 10000 / float64(*lines) }
		fmt.Printf("send --lines: %d lines, %d cuts, exit %d, %.1f s; statuses %v\n", *lines, fired, code, took.Seconds(), status)
		fmt.Printf("  lost %d (%.1f per 10,000), duplicated %d (%.1f per 10,000)\n", lost, per(lost), dup, per(dup))

	}

	// 2. listen through freezes.
	for i := 0; i < *freezes; i++ {
		noticed, back := freeze(bin, flags, data, p, *keepalive, bob, fmt.Sprintf("steady %d", i))
		fmt.Printf("listen --keepalive %v, freeze %d: dead after %.1f s, reconnected after %.1f s\n",
			*keepalive, i+1, noticed.Seconds(), back.Seconds())
	}
}

func cutEach(ctx context.Context, p *faultproxy.Proxy, first, cuts int, every int64) {
	for n := first; ; n++ {
		c, err := p.WaitConn(ctx, n)
		if err != nil {
			return
		}
		fired := 0
		for _, e := range p.Events() {
			if e.Kind == faultproxy.Fired {
				fired++
			}
		}
		if fired < cuts {
			c.Apply(faultproxy.CutAfter(faultproxy.ToServer, every))
		}
	}
}

// freeze starts listen, waits until it is in its steady state (it printed
// a message bob sent after login, so the catch-up is over), freezes its
// connection and times the keepalive.
func freeze(bin string, flags []string, data string, p *faultproxy.Proxy, keepalive time.Duration,
	bob conn.Session, marker string) (noticed, back time.Duration) {
	var mu sync.Mutex
	var stderr bytes.Buffer
	ready, dead := make(chan struct{}), make(chan time.Time, 1)
	cmd := exec.Command(bin, append(flags, "--data-dir", data+"-listen", "-v", "listen", "--keepalive", keepalive.String())...)
	cmd.Env = accountEnv("alice")
	errPipe, err := cmd.StderrPipe()
	check(err)
	outPipe, err := cmd.StdoutPipe()
	check(err)
	check(cmd.Start())
	printed := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(outPipe)
		once := sync.Once{}
		for sc.Scan() {
			if strings.Contains(sc.Text(), marker) {
				once.Do(func() { close(printed) })
			}
		}
	}()
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	go func() {
		sc := bufio.NewScanner(errPipe)
		once := sync.Once{}
		for sc.Scan() {
			mu.Lock()
			stderr.WriteString(sc.Text() + "\n")
			mu.Unlock()
			if strings.Contains(sc.Text(), "listening as") {
				once.Do(func() { close(ready) })
			}
			if strings.Contains(sc.Text(), "keepalive") {
				select {
				case dead <- time.Now():
				default:
				}
			}
		}
	}()
	select {
	case <-ready:
	case <-time.After(60 * time.Second):
		check(fmt.Errorf("listen did not start: %s", stderr.String()))
	}
	ctx0, cancel0 := context.WithTimeout(context.Background(), time.Minute)
	defer cancel0()
	check(bob.Send(ctx0, stanza.Message{To: "alice@" + os.Getenv("XMPP_DOMAIN"), Type: stanza.ChatMessage, Body: marker}))
	select {
	case <-printed:
	case <-time.After(time.Minute):
		check(fmt.Errorf("listen did not print %q: %s", marker, stderr.String()))
	}
	live := p.Count()
	t0 := time.Now()
	p.Conn(live).Apply(faultproxy.FreezeAfter(faultproxy.ToClient, 0))
	ctx, cancel := context.WithTimeout(context.Background(), 10*keepalive+time.Minute)
	defer cancel()
	e, err := p.Wait(ctx, faultproxy.Is(faultproxy.Accepted, live+1))
	check(err)
	select {
	case d := <-dead:
		noticed = d.Sub(t0)
	case <-time.After(time.Second):
	}
	return noticed, e.At.Sub(t0)
}

func accountEnv(user string) []string {
	return []string{"HOME=" + os.Getenv("XMPPCTL_HOME"), "PATH=" + os.Getenv("PATH"),
		"XMPPCTL_JID=" + user + "@" + os.Getenv("XMPP_DOMAIN"), "XMPPCTL_PASSWORD=" + user + "pass"}
}

func run(bin string, args []string, stdin, user string, _ []string) (string, string, int) {
	cmd := exec.Command(bin, args...)
	cmd.Env = accountEnv(user)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		check(err)
	}
	return out.String(), errb.String(), code
}

func dial(domain, user, pw, addr, ca string) conn.Session {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := conn.Dial(ctx, conn.Options{JID: user + "@" + domain, Password: pw, Server: addr, TLSMode: "starttls",
		TLS: conn.TLSPolicy{CAFile: ca}, DialTimeout: 10 * time.Second})
	check(err)
	check(s.Flush(ctx))
	return s
}

func drain(sub conn.Subscription, idle time.Duration) []*stanza.Message {
	var out []*stanza.Message
	for {
		ctx, cancel := context.WithTimeout(context.Background(), idle)
		st, err := sub.Next(ctx)
		cancel()
		if err != nil {
			return out
		}
		if m, ok := st.(*stanza.Message); ok {
			out = append(out, m)
		}
	}
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "faultbench:", err)
		os.Exit(1)
	}
}
