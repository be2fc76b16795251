package stanza

// Condition is a defined condition of a stanza error (RFC 6120 §8.3.3):
// the name of the element in the urn:ietf:params:xml:ns:xmpp-stanzas
// namespace. Remote entities may send conditions not listed here (and
// go-xmpp reports an application-specific one such as pubsub's
// precondition-not-met in its place), so it is an open set of strings with
// names for the ones this program acts on.
type Condition string

// The defined conditions of RFC 6120 §8.3.3.
const (
	BadRequest            Condition = "bad-request"
	Conflict              Condition = "conflict"
	FeatureNotImplemented Condition = "feature-not-implemented"
	Forbidden             Condition = "forbidden"
	Gone                  Condition = "gone"
	InternalServerError   Condition = "internal-server-error"
	ItemNotFound          Condition = "item-not-found"
	JIDMalformed          Condition = "jid-malformed"
	NotAcceptable         Condition = "not-acceptable"
	NotAllowed            Condition = "not-allowed"
	NotAuthorized         Condition = "not-authorized"
	PolicyViolation       Condition = "policy-violation"
	RecipientUnavailable  Condition = "recipient-unavailable"
	Redirect              Condition = "redirect"
	RegistrationRequired  Condition = "registration-required"
	RemoteServerNotFound  Condition = "remote-server-not-found"
	RemoteServerTimeout   Condition = "remote-server-timeout"
	ResourceConstraint    Condition = "resource-constraint"
	ServiceUnavailable    Condition = "service-unavailable"
	SubscriptionRequired  Condition = "subscription-required"
	UndefinedCondition    Condition = "undefined-condition"
	UnexpectedRequest     Condition = "unexpected-request"
)

// ErrorType is the type attribute of a stanza error (RFC 6120 §8.3.2):
// whether and how the request may be retried.
type ErrorType string

// The error types of RFC 6120 §8.3.2.
const (
	Auth     ErrorType = "auth"     // retry after providing credentials
	Cancel   ErrorType = "cancel"   // do not retry
	Continue ErrorType = "continue" // proceed (the condition was only a warning)
	Modify   ErrorType = "modify"   // retry after changing the data sent
	Wait     ErrorType = "wait"     // retry after waiting
)

// IQType is the type attribute of an <iq/> (RFC 6120 §8.2.3).
type IQType string

// The IQ types of RFC 6120 §8.2.3.
const (
	GetIQ    IQType = "get"
	SetIQ    IQType = "set"
	ResultIQ IQType = "result"
	ErrorIQ  IQType = "error"
)
