package testserver

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// apiClient talks to the test ejabberd's mod_http_api on loopback, never
// through a proxy from the environment.
var apiClient = &http.Client{Transport: &http.Transport{Proxy: nil}, Timeout: 30 * time.Second}

// ejabberdRegister creates an account over mod_http_api (allowed from
// loopback only in the generated config): milliseconds, where
// `ejabberdctl register` boots an Erlang VM for every call.
func (s *Server) ejabberdRegister(user, password string) error {
	_, err := s.EjabberdAPI("register", map[string]string{"user": user, "host": s.Domain, "password": password})
	return err
}

// EjabberdAPI calls an ejabberd administration command (those the test
// config allows from loopback: register, unregister, kick_user,
// connected_users_info) and returns its JSON answer.
func (s *Server) EjabberdAPI(command string, args any) ([]byte, error) {
	base := s.Env["XMPP_API_URL"]
	if s.Kind != Ejabberd || base == "" {
		return nil, fmt.Errorf("%s: no ejabberd API on this %s server", command, s.Kind)
	}
	body, err := json.Marshal(args)
	if err != nil {
		return nil, err
	}
	resp, err := apiClient.Post(strings.TrimSuffix(base, "/")+"/"+command, "application/json", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return out, fmt.Errorf("ejabberd api %s: %s: %s", command, resp.Status, out)
	}
	return out, nil
}

// CloseSessions ends every session of user from the server side (as an
// operator would) and returns how many there were.
func (s *Server) CloseSessions(user string) (int, error) {
	if s.Kind == Ejabberd {
		out, err := s.EjabberdAPI("kick_user", map[string]string{"user": user, "host": s.Domain})
		if err != nil {
			return 0, err
		}
		var r struct {
			N *int `json:"num_resources"`
		}
		if json.Unmarshal(out, &r) != nil || r.N == nil {
			return 0, fmt.Errorf("kick_user answered %q", out)
		}
		return *r.N, nil
	}
	out, err := exec.Command("prosodyctl", "--config", filepath.Join(s.Dir, "prosody.cfg.lua"), "shell",
		fmt.Sprintf("c2s:close(%q)", s.JID(user))).CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("prosodyctl c2s:close: %v: %s", err, out)
	}
	m := regexp.MustCompile(`(\d+) sessions? closed`).FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("prosodyctl c2s:close answered %q", out)
	}
	return strconv.Atoi(string(m[1]))
}

// UploadName is the file name the server puts into an upload slot's URL
// for a requested name: ejabberd's mod_http_upload replaces every ASCII
// character outside [A-Za-z0-9._-] with "_"; Prosody keeps the name.
func (s *Server) UploadName(name string) string {
	if s.Kind != Ejabberd {
		return name
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 0x80, r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
			return r
		}
		return '_'
	}, name)
}
