package conn

// StreamCondition is a defined condition of a stream error (RFC 6120
// §4.9.3): the name of the element in the
// urn:ietf:params:xml:ns:xmpp-streams namespace with which the server
// ended the stream. A server may send one not listed here, so it is an
// open set with names for the defined ones.
type StreamCondition string

// The defined stream error conditions of RFC 6120 §4.9.3.
const (
	BadFormat              StreamCondition = "bad-format"
	BadNamespacePrefix     StreamCondition = "bad-namespace-prefix"
	Conflict               StreamCondition = "conflict" // another session took over the resource
	ConnectionTimeout      StreamCondition = "connection-timeout"
	HostGone               StreamCondition = "host-gone"
	HostUnknown            StreamCondition = "host-unknown"
	ImproperAddressing     StreamCondition = "improper-addressing"
	InternalServerError    StreamCondition = "internal-server-error"
	InvalidFrom            StreamCondition = "invalid-from"
	InvalidNamespace       StreamCondition = "invalid-namespace"
	InvalidXML             StreamCondition = "invalid-xml"
	NotAuthorized          StreamCondition = "not-authorized"
	NotWellFormed          StreamCondition = "not-well-formed"
	PolicyViolation        StreamCondition = "policy-violation" // e.g. a stanza over the server's size limit
	RemoteConnectionFailed StreamCondition = "remote-connection-failed"
	Reset                  StreamCondition = "reset"
	ResourceConstraint     StreamCondition = "resource-constraint"
	RestrictedXML          StreamCondition = "restricted-xml"
	SeeOtherHost           StreamCondition = "see-other-host"
	SystemShutdown         StreamCondition = "system-shutdown"
	UndefinedCondition     StreamCondition = "undefined-condition"
	UnsupportedEncoding    StreamCondition = "unsupported-encoding"
	UnsupportedFeature     StreamCondition = "unsupported-feature"
	UnsupportedStanzaType  StreamCondition = "unsupported-stanza-type"
	UnsupportedVersion     StreamCondition = "unsupported-version"
)
