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

// MessageType is the type attribute of a <message/> (RFC 6121 §5.2.2).
// A message without one is to be treated as normal; receivers compare
// the attribute as sent, so an absent type stays "" here.
type MessageType string

// The message types of RFC 6121 §5.2.2.
const (
	ChatMessage      MessageType = "chat"
	ErrorMessage     MessageType = "error"
	GroupChatMessage MessageType = "groupchat"
	HeadlineMessage  MessageType = "headline"
	NormalMessage    MessageType = "normal"
)

// PresenceType is the type attribute of a <presence/> (RFC 6121 §4.7.1):
// absent for availability, otherwise unavailability, a subscription
// state change, a probe or an error.
type PresenceType string

// The presence types of RFC 6121 §4.7.1 (and §3 for the subscription ones).
const (
	AvailablePresence    PresenceType = "" // no type attribute: the sender is available
	ErrorPresence        PresenceType = "error"
	ProbePresence        PresenceType = "probe"
	SubscribePresence    PresenceType = "subscribe"  // ask to see the contact's presence
	SubscribedPresence   PresenceType = "subscribed" // approve (or pre-approve) a request
	UnavailablePresence  PresenceType = "unavailable"
	UnsubscribePresence  PresenceType = "unsubscribe"  // stop seeing the contact's presence
	UnsubscribedPresence PresenceType = "unsubscribed" // deny a request or revoke an approval
)
