package config

import "strings"

// SecretEnv names the environment variables that carry xmppctl's secrets
// (ApplyEnv reads them). A command xmppctl starts for remote content
// (listen --exec) must not inherit them: it handles untrusted text.
var SecretEnv = []string{"XMPPCTL_PASSWORD", "XMPPCTL_ROOM_PASSWORD"}

// ChildEnv returns environ without xmppctl's secrets: the variables in
// SecretEnv and, so that a secret added later is not forgotten here, any
// XMPPCTL_ variable whose name speaks of a password, token, secret or key.
func ChildEnv(environ []string) []string {
	out := make([]string, 0, len(environ))
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if !isSecretEnv(name) {
			out = append(out, kv)
		}
	}
	return out
}

func isSecretEnv(name string) bool {
	up := strings.ToUpper(name)
	for _, s := range SecretEnv {
		if up == s {
			return true
		}
	}
	if !strings.HasPrefix(up, "XMPPCTL_") {
		return false
	}
	for _, w := range []string{"PASSWORD", "PASSWD", "TOKEN", "SECRET", "KEY"} {
		if strings.Contains(up, w) {
			return true
		}
	}
	return false
}
