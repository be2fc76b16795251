package testserver

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
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
