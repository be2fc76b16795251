//go:build !unix

package config

import "os/exec"

// ownProcessGroup: elsewhere only the command itself is killed; WaitDelay
// bounds the wait for what it started.
func ownProcessGroup(*exec.Cmd) {}
