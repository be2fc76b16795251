package compliance

import (
	"net"
	"sort"
	"strconv"
	"strings"

	"github.com/xmppctl/xmppctl/internal/units"
	"github.com/xmppctl/xmppctl/pkg/disco"
)

// Status is a check's verdict.
type Status string

// Verdicts.
const (
	Supported Status = "supported"
	Partial   Status = "partial"
	Missing   Status = "missing"
	Unknown   Status = "unknown" // could not be determined from here
)

// Result is one line of the report.
type Result struct {
	Area    string `json:"area"`
	Feature string `json:"feature"`
	XEP     string `json:"xep,omitempty"`
	Status  Status `json:"status"`
	Detail  string `json:"detail,omitempty"`
	Impact  string `json:"impact,omitempty"` // what a missing feature means for the user
}

// Report is the whole check.
type Report struct {
	Domain    string   `json:"domain"`
	Software  string   `json:"software,omitempty"`
	Connected string   `json:"connected,omitempty"`
	Results   []Result `json:"results"`
}

// SRV are the client SRV records of the domain (RFC 6120 §3.2, XEP-0368).
type SRV struct {
	Client    []*net.SRV // _xmpp-client._tcp
	ClientTLS []*net.SRV // _xmpps-client._tcp
	Note      string     // why there are none, or a lookup problem
}

// Facts is everything Evaluate judges.
type Facts struct {
	Domain    string
	Own       bool   // the account lives on Domain: account checks apply
	Connected string // how the account connected ("127.0.0.1:5222 STARTTLS"); "" if not Own
	Explicit  bool   // connected to an explicitly configured server, not via SRV
	Direct    bool   // the session (or the probe) used direct TLS
	SRV       SRV
	TLS       *TLSInfo
	TLSErr    string
	Stream    Stream
	CapsCheck string // "verified", "mismatch: ...", "" when not checked

	Server    *disco.Info   // disco#info of the domain; nil if it failed
	ServerErr string        // why Server is nil
	Account   *disco.Info   // disco#info of the account's bare JID (Own only)
	Services  []*disco.Info // disco#info of the domain's items
	MUCs      []*disco.Info // MUC services among Services
}

func has(info *disco.Info, feature string) bool { return info != nil && info.HasFeature(feature) }

func anyHas(infos []*disco.Info, feature string) *disco.Info {
	for _, i := range infos {
		if i.HasFeature(feature) {
			return i
		}
	}
	return nil
}

func anyIdentity(infos []*disco.Info, cat, typ string) *disco.Info {
	for _, i := range infos {
		if i.HasIdentity(cat, typ) {
			return i
		}
	}
	return nil
}

func yes(b bool) Status {
	if b {
		return Supported
	}
	return Missing
}

func srvList(recs []*net.SRV) string {
	var parts []string
	for _, r := range recs {
		parts = append(parts, strings.TrimSuffix(r.Target, ".")+":"+strconv.Itoa(int(r.Port)))
	}
	return strings.Join(parts, ", ")
}

// Evaluate turns facts into the report, in a fixed order of areas.
func Evaluate(f Facts) Report {
	rep := Report{Domain: f.Domain, Connected: f.Connected}
	if f.Server != nil {
		for _, id := range f.Server.Identities {
			if id.Category == "server" && id.Name != "" {
				rep.Software = id.Name
			}
		}
	}
	add := func(r Result) {
		if r.Status == Supported {
			r.Impact = ""
		}
		rep.Results = append(rep.Results, r)
	}
	// What the account sees only on its own server.
	account := func(r Result, ok bool) {
		if !f.Own {
			r.Status, r.Detail, r.Impact = Unknown, "needs an account on "+f.Domain, ""
		} else if f.Account == nil {
			r.Status, r.Detail, r.Impact = Unknown, "the account's disco#info failed", ""
		} else {
			r.Status = yes(ok)
		}
		add(r)
	}
	server := func(r Result, ok bool) {
		if f.Server == nil {
			r.Status, r.Detail, r.Impact = Unknown, "disco#info of "+f.Domain+" failed: "+f.ServerErr, ""
		} else {
			r.Status = yes(ok)
		}
		add(r)
	}
	stream := func(r Result, ok bool) {
		if f.Stream.Seen == 0 {
			r.Status, r.Detail, r.Impact = Unknown, "no stream features seen", ""
		} else {
			r.Status = yes(ok)
		}
		add(r)
	}

	// Core.
	server(Result{Area: "core", Feature: "Service discovery", XEP: "XEP-0030",
		Impact: "clients cannot find out what the server supports"}, f.Server != nil)
	capsRes := Result{Area: "core", Feature: "Entity capabilities", XEP: "XEP-0115",
		Impact: "clients must query the server's features on every connection"}
	switch {
	case f.Stream.Caps == nil && f.Stream.Caps2 == nil:
		stream(capsRes, false)
	default:
		capsRes.Status = Supported
		if f.Stream.Caps != nil {
			capsRes.Detail = "ver " + f.Stream.Caps.Ver
		}
		if f.CapsCheck != "" {
			capsRes.Detail += " (" + f.CapsCheck + ")"
			if strings.HasPrefix(f.CapsCheck, "mismatch") {
				capsRes.Status = Partial
				capsRes.Impact = "the advertised hash does not match the server's features; clients cannot cache them"
			}
		}
		add(capsRes)
	}
	stream(Result{Area: "core", Feature: "Roster versioning", XEP: "RFC 6121",
		Impact: "the whole roster is downloaded on every login"}, f.Stream.RosterVer)

	// Connection.
	srv := Result{Area: "connection", Feature: "SRV records", XEP: "RFC 6120, XEP-0368"}
	switch {
	case len(f.SRV.Client)+len(f.SRV.ClientTLS) > 0:
		srv.Status = Supported
		var parts []string
		if len(f.SRV.ClientTLS) > 0 {
			parts = append(parts, "_xmpps-client: "+srvList(f.SRV.ClientTLS))
		}
		if len(f.SRV.Client) > 0 {
			parts = append(parts, "_xmpp-client: "+srvList(f.SRV.Client))
		}
		srv.Detail = strings.Join(parts, "; ")
	default:
		srv.Status = Missing
		srv.Detail = "none"
		if f.SRV.Note != "" {
			srv.Detail += " (" + f.SRV.Note + ")"
		}
		if f.Explicit && f.Connected != "" {
			srv.Detail += "; connected via explicit server " + f.Connected
		}
		srv.Impact = "clients only find the server if it runs on the domain's own host at port 5222"
	}
	add(srv)
	tlsRes := Result{Area: "connection", Feature: "TLS", XEP: "RFC 6120, RFC 7590"}
	switch {
	case f.TLS != nil:
		tlsRes.Status = Supported
		tlsRes.Detail = f.TLS.Version + " " + f.TLS.Cipher
		if !f.TLS.NotAfter.IsZero() {
			tlsRes.Detail += ", certificate valid until " + f.TLS.NotAfter.UTC().Format("2006-01-02")
		}
		if f.TLS.Version == "TLS 1.0" || f.TLS.Version == "TLS 1.1" {
			tlsRes.Status = Partial
			tlsRes.Impact = "an outdated TLS version"
		}
	default:
		tlsRes.Status = Unknown
		tlsRes.Detail = "probe failed: " + f.TLSErr
	}
	add(tlsRes)
	starttls := Result{Area: "connection", Feature: "STARTTLS", XEP: "RFC 6120"}
	switch {
	case f.Stream.StartTLSRequired:
		starttls.Status, starttls.Detail = Supported, "required"
	case f.Stream.StartTLS:
		starttls.Status, starttls.Detail = Partial, "offered but not required"
		starttls.Impact = "a client could be downgraded to an unencrypted connection"
	case f.Direct:
		starttls.Status, starttls.Detail = Unknown, "connected with direct TLS"
	default:
		starttls.Status = Missing
		starttls.Impact = "no encrypted connection on the standard port"
	}
	add(starttls)
	direct := Result{Area: "connection", Feature: "Direct TLS", XEP: "XEP-0368",
		Impact: "clients behind firewalls that only allow HTTPS ports cannot connect"}
	switch {
	case f.Direct && len(f.SRV.ClientTLS) > 0:
		direct.Status, direct.Detail = Supported, "connected with direct TLS; _xmpps-client records present"
	case f.Direct:
		direct.Status, direct.Detail = Supported, "connected with direct TLS"
	case len(f.SRV.ClientTLS) > 0:
		direct.Status, direct.Detail = Supported, "_xmpps-client records present"
	case f.Explicit:
		direct.Status = Unknown
		direct.Detail = "connected via explicit server with STARTTLS; direct TLS is announced only by _xmpps-client SRV records"
		direct.Impact = ""
	default:
		direct.Status, direct.Detail = Missing, "no _xmpps-client SRV records"
	}
	add(direct)

	// Authentication.
	mechs := append(append([]string(nil), f.Stream.Mechanisms...), f.Stream.SASL2Mechanisms...)
	mechs = addUnique(nil, mechs...)
	scram, plus := false, false
	for _, m := range mechs {
		if strings.HasPrefix(m, "SCRAM-") {
			scram = true
		}
		if strings.HasSuffix(m, "-PLUS") {
			plus = true
		}
	}
	sasl := Result{Area: "authentication", Feature: "SASL mechanisms", XEP: "RFC 6120, RFC 5802",
		Detail: strings.Join(mechs, " ")}
	switch {
	case f.Stream.Seen == 0 || len(mechs) == 0:
		sasl.Status, sasl.Detail = Unknown, "no mechanisms seen"
	case scram:
		sasl.Status = Supported
	default:
		sasl.Status = Partial
		sasl.Impact = "no SCRAM: the password itself is sent to the server on every login"
	}
	add(sasl)
	cb := Result{Area: "authentication", Feature: "Channel binding (SCRAM -PLUS)", XEP: "XEP-0440",
		Impact: "a TLS-intercepting middlebox could relay the login unnoticed"}
	switch {
	case len(f.Stream.ChannelBindings) > 0:
		cb.Detail = "types: " + strings.Join(f.Stream.ChannelBindings, " ")
	case plus:
		// ejabberd 23.01: a client has to guess the binding type, and
		// go-xmpp's guess for TLS 1.3 (tls-exporter) is refused there.
		cb.Detail = "-PLUS offered without XEP-0440 channel-binding types"
	}
	stream(cb, plus)
	stream(Result{Area: "authentication", Feature: "SASL2", XEP: "XEP-0388",
		Impact: "logins take more round trips; no modern authentication extensions"}, f.Stream.SASL2)
	bind2 := Result{Area: "authentication", Feature: "Bind2", XEP: "XEP-0386",
		Impact: "resource binding and session setup cost extra round trips"}
	if len(f.Stream.Bind2Inline) > 0 {
		bind2.Detail = "inline: " + strings.Join(f.Stream.Bind2Inline, " ")
	}
	stream(bind2, f.Stream.Bind2)
	fast := Result{Area: "authentication", Feature: "FAST", XEP: "XEP-0484",
		Impact: "every login repeats the full password exchange; no token-based fast reconnect"}
	if f.Stream.FAST {
		fast.Detail = strings.Join(f.Stream.FASTMechanisms, " ")
	}
	stream(fast, f.Stream.FAST)

	// Sessions.
	stream(Result{Area: "session", Feature: "Stream management", XEP: "XEP-0198",
		Impact: "messages can be lost when a mobile connection drops; no quick resume"}, f.Stream.SM)
	csi := f.Stream.CSI
	for _, v := range f.Stream.Bind2Inline {
		csi = csi || v == "urn:xmpp:csi:0"
	}
	stream(Result{Area: "session", Feature: "Client state indication", XEP: "XEP-0352",
		Impact: "idle mobile clients get every presence update, draining battery"}, csi)
	server(Result{Area: "session", Feature: "Message carbons", XEP: "XEP-0280",
		Impact: "messages sent or received on one device do not appear on the others"}, has(f.Server, "urn:xmpp:carbons:2"))

	// Archive.
	account(Result{Area: "archive", Feature: "Message archive (account)", XEP: "XEP-0313",
		Impact: "no history sync between devices; messages received while offline elsewhere are lost"}, has(f.Account, "urn:xmpp:mam:2"))
	mucMAM := Result{Area: "archive", Feature: "Message archive (group chats)", XEP: "XEP-0313",
		Impact: "group chat history is not available after rejoining"}
	switch {
	case f.Server == nil:
		server(mucMAM, false)
	case len(f.MUCs) == 0:
		mucMAM.Status, mucMAM.Detail = Missing, "no MUC service"
		add(mucMAM)
	default:
		m := anyHas(f.MUCs, "urn:xmpp:mam:2")
		mucMAM.Status = yes(m != nil)
		if m != nil {
			mucMAM.Detail = m.JID
		}
		add(mucMAM)
	}

	// Privacy.
	server(Result{Area: "privacy", Feature: "Blocking", XEP: "XEP-0191",
		Impact: "unwanted contacts cannot be blocked from the client"}, has(f.Server, "urn:xmpp:blocking"))

	// PEP and profile.
	pep := f.Account != nil && f.Account.HasIdentity("pubsub", "pep")
	account(Result{Area: "pep", Feature: "Personal eventing (PEP)", XEP: "XEP-0163",
		Impact: "no avatars, OMEMO keys or bookmarks stored on the server"}, pep)
	po := Result{Area: "pep", Feature: "Publish options and access models", XEP: "XEP-0060, XEP-0223",
		Impact: "OMEMO keys and avatars cannot be published with the right visibility"}
	if f.Account != nil {
		var models []string
		for _, ft := range f.Account.Features {
			if m, ok := strings.CutPrefix(ft, "http://jabber.org/protocol/pubsub#access-"); ok {
				models = append(models, m)
			}
		}
		sort.Strings(models)
		if len(models) > 0 {
			po.Detail = "access models advertised: " + strings.Join(models, " ")
		}
	}
	account(po, has(f.Account, "http://jabber.org/protocol/pubsub#publish-options"))
	account(Result{Area: "pep", Feature: "User avatars (PEP)", XEP: "XEP-0084",
		Impact: "avatars cannot be shared the modern way"}, pep)
	server(Result{Area: "pep", Feature: "vCard (vcard-temp)", XEP: "XEP-0054",
		Impact: "older clients cannot show profiles or avatars"}, has(f.Server, "vcard-temp"))
	vc4 := Result{Area: "pep", Feature: "vCard4", XEP: "XEP-0292",
		Impact: "no structured profile (name, email, ...) for modern clients"}
	switch {
	case has(f.Account, "urn:ietf:params:xml:ns:vcard-4.0") || has(f.Server, "urn:ietf:params:xml:ns:vcard-4.0"):
		account(vc4, true)
	case pep && has(f.Account, "http://jabber.org/protocol/pubsub#publish-options") && f.Own:
		// ejabberd 23.01: no vCard4 module, but PEP keeps the
		// urn:xmpp:vcard4 node a client publishes (xmppctl profile works);
		// vcard-temp clients just do not see it.
		vc4.Status, vc4.Detail = Partial, "not advertised; profiles work as a client-published PEP node, without vcard-temp conversion"
		vc4.Impact = "vCard-only clients do not see the structured profile"
		add(vc4)
	default:
		account(vc4, false)
	}
	account(Result{Area: "pep", Feature: "Avatar conversion", XEP: "XEP-0398",
		Impact: "avatars set in modern clients are invisible to vCard-only clients and vice versa"},
		has(f.Account, "urn:xmpp:pep-vcard-conversion:0") || has(f.Server, "urn:xmpp:pep-vcard-conversion:0"))
	account(Result{Area: "pep", Feature: "Bookmarks", XEP: "XEP-0402",
		Impact: "joined group chats are not synchronised between devices"},
		has(f.Account, "urn:xmpp:bookmarks:1#compat") || has(f.Account, "urn:xmpp:bookmarks-conversion:0"))

	// Services.
	up := Result{Area: "services", Feature: "HTTP file upload", XEP: "XEP-0363",
		Impact: "files and images cannot be shared with offline contacts or group chats"}
	if u := anyHas(f.Services, "urn:xmpp:http:upload:0"); u != nil {
		up.Detail = u.JID
		if form, ok := u.Form("urn:xmpp:http:upload:0"); ok {
			if n, err := strconv.ParseInt(form.Value("max-file-size"), 10, 64); err == nil {
				up.Detail += ", max file size " + units.Bytes(n)
			} else {
				up.Detail += ", no size limit given"
			}
		}
		server(up, true)
	} else {
		server(up, false)
	}
	px := Result{Area: "services", Feature: "SOCKS5 proxy", XEP: "XEP-0065",
		Impact: "direct file transfers fail when both sides are behind NAT"}
	p := anyIdentity(f.Services, "proxy", "bytestreams")
	if p != nil {
		px.Detail = p.JID
	}
	server(px, p != nil)
	mr := Result{Area: "services", Feature: "Group chat service", XEP: "XEP-0045",
		Impact: "no group chats on this server"}
	if len(f.MUCs) > 0 {
		mr.Detail = f.MUCs[0].JID
	}
	server(mr, len(f.MUCs) > 0)
	server(Result{Area: "services", Feature: "External services (STUN/TURN)", XEP: "XEP-0215",
		Impact: "audio/video calls and Jingle transfers have no relay behind NAT"},
		has(f.Server, "urn:xmpp:extdisco:2") || has(f.Server, "urn:xmpp:extdisco:1"))
	account(Result{Area: "services", Feature: "Push notifications", XEP: "XEP-0357",
		Impact: "suspended mobile apps (iOS) are not woken up for new messages"},
		has(f.Account, "urn:xmpp:push:0") || has(f.Server, "urn:xmpp:push:0"))
	return rep
}
