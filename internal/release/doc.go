// Package release holds the test of scripts/release: reproducible builds
// and a Debian package that installs and runs. It has no code of its own.
package release
