package conn

import "encoding/xml"

type xmlAttr = xml.Attr

func xmppName(space, local string) xml.Name { return xml.Name{Space: space, Local: local} }
