// Package markers implements XEP-0333 Displayed Markers (chat markers):
// the <markable/> request and the received, displayed and acknowledged
// markers that answer it.
package markers
