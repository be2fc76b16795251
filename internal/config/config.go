// Package config reads xmppctl's configuration file and environment and
// resolves the account to use. Precedence, highest first: command-line
// flags, environment (XMPPCTL_JID, XMPPCTL_PASSWORD, XMPPCTL_ROOM_PASSWORD),
// the selected [account.NAME] table, the file's top-level keys.
package config

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Account is one account's settings as written in the file.
type Account struct {
	JID             string `toml:"jid"`
	Password        string `toml:"password"`
	PasswordCommand string `toml:"password_command"`
	Server          string `toml:"server"`
	TLS             string `toml:"tls"`
	CAFile          string `toml:"ca_file"`
	Pin             string `toml:"pin"`
	RoomPassword    string `toml:"room_password"`
	Nick            string `toml:"nick"`
	Legacy          bool   `toml:"legacy_avatar"`
	// OMEMO makes send encrypt with OMEMO (XEP-0384) by default.
	OMEMO bool `toml:"omemo"`
	// OMEMOTrust is the trust policy for new devices: "btbv" (blind trust
	// before verification, the default) or "manual".
	OMEMOTrust string `toml:"omemo_trust"`
	// MaxStanza is the size in bytes over which an incoming stanza is
	// ignored (0: conn.MaxStanza).
	MaxStanza int `toml:"max_stanza"`
}

// File is the whole configuration file.
type File struct {
	Account
	Accounts map[string]Account `toml:"account"`
	// Path is where the file was read from ("" when there was none).
	Path string `toml:"-"`
}

// Error is a problem with the configuration (exit status 2).
type Error struct {
	Msg  string
	Hint string
}

func (e *Error) Error() string { return e.Msg }

// DefaultPath returns $XMPPCTL_CONFIG, else $XDG_CONFIG_HOME/xmppctl/config.toml.
func DefaultPath(getenv func(string) string) string {
	if p := getenv("XMPPCTL_CONFIG"); p != "" {
		return p
	}
	base := getenv("XDG_CONFIG_HOME")
	if base == "" {
		home := getenv("HOME")
		if home == "" {
			return ""
		}
		base = filepath.Join(home, ".config")
	}
	return filepath.Join(base, "xmppctl", "config.toml")
}

// DefaultDataDir returns $XDG_DATA_HOME/xmppctl (or ~/.local/share/xmppctl).
func DefaultDataDir(getenv func(string) string) string {
	base := getenv("XDG_DATA_HOME")
	if base == "" {
		home := getenv("HOME")
		if home == "" {
			return filepath.Join(os.TempDir(), "xmppctl")
		}
		base = filepath.Join(home, ".local", "share")
	}
	return filepath.Join(base, "xmppctl")
}

// Load reads path. A missing file is not an error when optional (the
// default location); an explicitly named file must exist.
func Load(path string, optional bool) (*File, error) {
	f := &File{}
	if path == "" {
		return f, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		if optional && errors.Is(err, fs.ErrNotExist) {
			return f, nil
		}
		return nil, &Error{Msg: fmt.Sprintf("read config: %v", err)}
	}
	md, err := toml.NewDecoder(bytes.NewReader(b)).Decode(f)
	if err != nil {
		return nil, &Error{Msg: fmt.Sprintf("config %s: %v", path, err)}
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		sort.Strings(keys)
		return nil, &Error{Msg: fmt.Sprintf("config %s: unknown key %s", path, strings.Join(keys, ", "))}
	}
	f.Path = path
	for _, a := range append([]Account{f.Account}, mapValues(f.Accounts)...) {
		if a.MaxStanza < 0 {
			return nil, &Error{Msg: fmt.Sprintf("config %s: max_stanza %d is negative", path, a.MaxStanza),
				Hint: "a size in bytes, e.g. max_stanza = 16777216"}
		}
	}
	if f.holdsSecret() {
		st, err := os.Stat(path)
		if err == nil && st.Mode().Perm()&0o077 != 0 {
			return nil, &Error{
				Msg:  fmt.Sprintf("config %s holds a password but is readable by others (mode %04o)", path, st.Mode().Perm()),
				Hint: "chmod 600 " + path,
			}
		}
	}
	return f, nil
}

func (f *File) holdsSecret() bool {
	if f.Password != "" || f.RoomPassword != "" {
		return true
	}
	for _, a := range f.Accounts {
		if a.Password != "" || a.RoomPassword != "" {
			return true
		}
	}
	return false
}

// Select returns the settings of the named account (or the top-level one
// for ""), the named table's keys overriding the top level.
func (f *File) Select(name string) (Account, error) {
	a := f.Account
	if name == "" {
		return a, nil
	}
	n, ok := f.Accounts[name]
	if !ok {
		var names []string
		for k := range f.Accounts {
			names = append(names, k)
		}
		sort.Strings(names)
		hint := "no [account.NAME] tables in the config"
		if len(names) > 0 {
			hint = "accounts: " + strings.Join(names, ", ")
		}
		return a, &Error{Msg: fmt.Sprintf("no account %q in config", name), Hint: hint}
	}
	// An account table stands for one account: its JID and credentials
	// never mix with the top level's.
	a.JID, a.Password, a.PasswordCommand = n.JID, n.Password, n.PasswordCommand
	for _, kv := range []struct {
		dst *string
		v   string
	}{
		{&a.Server, n.Server}, {&a.TLS, n.TLS}, {&a.CAFile, n.CAFile}, {&a.Pin, n.Pin},
		{&a.RoomPassword, n.RoomPassword}, {&a.Nick, n.Nick}, {&a.OMEMOTrust, n.OMEMOTrust},
	} {
		if kv.v != "" {
			*kv.dst = kv.v
		}
	}
	a.Legacy = a.Legacy || n.Legacy
	a.OMEMO = a.OMEMO || n.OMEMO
	if n.MaxStanza != 0 {
		a.MaxStanza = n.MaxStanza
	}
	return a, nil
}

// ApplyEnv lets XMPPCTL_JID, XMPPCTL_PASSWORD and XMPPCTL_ROOM_PASSWORD
// override the file (CI secrets).
func (a *Account) ApplyEnv(getenv func(string) string) {
	if v := getenv("XMPPCTL_JID"); v != "" {
		if v != a.JID {
			a.Password, a.PasswordCommand = "", "" // another account: not its password
		}
		a.JID = v
	}
	if v := getenv("XMPPCTL_PASSWORD"); v != "" {
		a.Password, a.PasswordCommand = v, ""
	}
	if v := getenv("XMPPCTL_ROOM_PASSWORD"); v != "" {
		a.RoomPassword = v
	}
}

// ResolvePassword returns the password, running password_command when
// there is no literal one. The command runs through sh; its stdout,
// trimmed, is the password.
func (a *Account) ResolvePassword(ctx context.Context) (string, error) {
	if a.Password != "" || a.PasswordCommand == "" {
		if a.Password == "" {
			return "", &Error{Msg: "no password for " + a.JID,
				Hint: "set XMPPCTL_PASSWORD, or password / password_command in the config (mode 0600)"}
		}
		return a.Password, nil
	}
	cmd := exec.CommandContext(ctx, "sh", "-c", a.PasswordCommand)
	// Interrupted or out of time, the command ends at once with all it
	// started (a child holding its stdout would otherwise keep us
	// waiting), and the context's error says why (exit status 130 or 7).
	ownProcessGroup(cmd)
	cmd.WaitDelay = time.Second
	// What it prints on stderr stays out of our messages: it may quote
	// the secret it failed to decrypt.
	cmd.Stderr = io.Discard
	out, err := cmd.Output()
	if ctx.Err() != nil {
		return "", fmt.Errorf("password_command: %w", context.Cause(ctx))
	}
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			err = errors.New(ee.ProcessState.String()) // "exit status 3", "signal: killed"
		}
		return "", &Error{Msg: fmt.Sprintf("password_command failed: %v", err),
			Hint: "run the password_command yourself to see its messages"}
	}
	pw := strings.TrimSpace(string(out))
	if pw == "" {
		return "", &Error{Msg: "password_command printed nothing"}
	}
	return pw, nil
}

func mapValues(m map[string]Account) []Account {
	out := make([]Account, 0, len(m))
	for _, a := range m {
		out = append(out, a)
	}
	return out
}
