// Package mam implements XEP-0313 Message Archive Management (urn:xmpp:mam:2)
// with XEP-0059 Result Set Management paging: querying an account's or a
// room's archive forwards, page by page, from an archive id or a time.
//
// Paging is pipelined: when a page is full, the query for the next page is
// sent as soon as the page's last result arrives instead of after the
// page's <fin/>. The <fin/> is a small packet that a server with Nagle's
// algorithm holds back until the client acknowledges the results, which a
// client with delayed ACKs does only after ~40 ms; the early query carries
// that acknowledgement, so each page costs one server round trip.
package mam
