// Package csi implements XEP-0352 Client State Indication: telling the
// server that the client is in the background (inactive), so that it may
// hold back unimportant traffic, or in the foreground again (active).
package csi
