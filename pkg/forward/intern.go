package forward

// Intern returns b as a string, without allocating for the element and
// attribute names an archive page is made of: a page of 250 messages
// named ~1,750 of them, one allocation each (issue 16). Any other name
// is copied as usual.
func Intern(b []byte) string {
	switch string(b) { // compiled to comparisons, no conversion
	case "message":
		return "message"
	case "result":
		return "result"
	case "forwarded":
		return "forwarded"
	case "delay":
		return "delay"
	case "body":
		return "body"
	case "stanza-id":
		return "stanza-id"
	case "origin-id":
		return "origin-id"
	case "xmlns":
		return "xmlns"
	case "from":
		return "from"
	case "to":
		return "to"
	case "id":
		return "id"
	case "type":
		return "type"
	case "stamp":
		return "stamp"
	case "queryid":
		return "queryid"
	case "by":
		return "by"
	case "lang":
		return "lang"
	case "xml":
		return "xml"
	case "iq":
		return "iq"
	case "presence":
		return "presence"
	case "fin":
		return "fin"
	case "set":
		return "set"
	case "first":
		return "first"
	case "last":
		return "last"
	case "thread":
		return "thread"
	case "subject":
		return "subject"
	case "active":
		return "active"
	case "markable":
		return "markable"
	case "request":
		return "request"
	case "received":
		return "received"
	case "encrypted":
		return "encrypted"
	case "a", "r":
		if b[0] == 'a' {
			return "a"
		}
		return "r"
	case "h":
		return "h"
	}
	return string(b)
}
