// Package codepages lets the binary's start-up code leave the resident set
// once start-up is over (issue 16).
//
// Before main runs, Go runs every linked package's initialiser: 145 of
// them, spread over the whole binary, including those of the packages a
// one-shot `send` never uses (SQLite, libsignal and protobuf's descriptor
// registration, image codecs, the command tree). The kernel maps a
// program's file pages 64 KiB around each page fault, so those scattered
// initialisers leave ~10 MiB of code, read-only data and function tables
// mapped, and a `send` then adds what login and TLS touch on top: 13.4 MiB
// of peak RSS against go-sendxmpp's 12.7.
//
// Drop, called once as the command starts, advises the kernel that the
// executable's read-only mappings are not needed (madvise MADV_DONTNEED):
// their pages leave the process's page tables and every page touched
// again is mapped again from the page cache, by the same minor fault that
// mapped it the first time. Nothing is lost or re-read from disk: these
// mappings are private, read-only and never written (the writable data
// segment is left alone), so the kernel may drop and re-map their clean
// pages at any time anyway, which it does under memory pressure.
//
// What it changes is the resident set the process is charged with in
// ps, top, time(1)'s maximum RSS and the OOM killer's view. It does not
// change the page cache: the binary's pages stay cached for the next run
// (and, under cgroup v2, charged to the cgroup that first read them).
package codepages
