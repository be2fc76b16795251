// Package forward implements XEP-0297 Stanza Forwarding and XEP-0203
// Delayed Delivery as far as carbons (XEP-0280) and message archives
// (XEP-0313) need them: decoding a <forwarded/> element into the original
// message and the time it was first sent.
package forward
