package protocol

import (
	"fmt"
	"strings"

	"github.com/fxamacker/cbor/v2"
)

// The message schema of PROTOCOL.md ("Fields", "Encoding"), shared by the encoder
// (encode.go) and the decoder (decode.go).

// Fields, one bit per map key: the bit for key k is 1<<k.
const (
	fieldType uint16 = 1 << (iota + 1)
	fieldRPCID
	fieldSender
	fieldAddr
	fieldFlags
	fieldKey
	fieldValue
	fieldTTL
	fieldContacts
	fieldErrCode
	fieldErrText
	fieldToken
	fieldPadding
	fieldNonce
	fieldTarget

	// fieldsEnvelope may appear in every message; fieldsRequired must.
	fieldsEnvelope = fieldType | fieldRPCID | fieldSender | fieldAddr | fieldFlags | fieldToken
	// fieldsRequest may appear in every request.
	fieldsRequest  = fieldsEnvelope | fieldPadding
	fieldsRequired = fieldType | fieldRPCID | fieldSender
)

var allowedFields = [...]uint16{
	TypePing:      fieldsRequest | fieldNonce | fieldTarget,
	TypePong:      fieldsEnvelope,
	TypeStore:     fieldsRequest | fieldKey | fieldValue | fieldTTL,
	TypeStored:    fieldsEnvelope,
	TypeFindNode:  fieldsRequest | fieldKey,
	TypeNodes:     fieldsEnvelope | fieldContacts,
	TypeFindValue: fieldsRequest | fieldKey,
	TypeValue:     fieldsEnvelope | fieldKey | fieldValue,
	TypeError:     fieldsEnvelope | fieldErrCode | fieldErrText,
}

// requiredFields lists what must be present besides fieldsRequired. A STORE or VALUE
// with an empty value is legal, so fieldValue is never required.
var requiredFields = [...]uint16{
	TypePing:      fieldsRequired,
	TypePong:      fieldsRequired,
	TypeStore:     fieldsRequired | fieldKey,
	TypeStored:    fieldsRequired,
	TypeFindNode:  fieldsRequired | fieldKey,
	TypeNodes:     fieldsRequired,
	TypeFindValue: fieldsRequired | fieldKey,
	TypeValue:     fieldsRequired | fieldKey,
	TypeError:     fieldsRequired | fieldErrCode,
}

// CBOR major types (RFC 8949 §3.1).
const (
	majorUint   = 0
	majorNegInt = 1
	majorBytes  = 2
	majorText   = 3
	majorArray  = 4
	majorMap    = 5
	majorTag    = 6
	majorSimple = 7
)

// keyMajor is the major type each key's value must have; key 9 is an array of byte strings.
var keyMajor = [...]byte{
	1: majorUint, 2: majorBytes, 3: majorBytes, 4: majorBytes, 5: majorUint,
	6: majorBytes, 7: majorBytes, 8: majorUint, 9: majorArray, 10: majorUint, 11: majorText,
	12: majorBytes, 13: majorBytes, 14: majorBytes, 15: majorBytes,
}

// Bounds on the CBOR structure that wellformed checks before the schema walk: levels of
// nested arrays and maps (the message's map is the first), and pairs a map. The schema
// allows less (two levels, thirteen pairs); these bound the work hostile input can cause,
// and input within them is well-formed enough for its rpc id to be echoed (PROTOCOL.md,
// "Malformed input").
const (
	maxNesting  = 4
	maxMapPairs = 16
)

// wellformed checks the CBOR syntax of incoming bytes before the schema walk: one item
// and nothing after it, definite lengths only, no tags, nesting and array and map sizes
// within the limits.
var wellformed cbor.DecMode

// decOptions are the CBOR limits of PROTOCOL.md, "What a decoder accepts".
func decOptions() cbor.DecOptions {
	return cbor.DecOptions{
		DupMapKey:        cbor.DupMapKeyEnforcedAPF,
		IndefLength:      cbor.IndefLengthForbidden,
		TagsMd:           cbor.TagsForbidden,
		MaxNestedLevels:  maxNesting,
		MaxArrayElements: MaxContacts,
		MaxMapPairs:      maxMapPairs,
		UTF8:             cbor.UTF8RejectInvalid,
	}
}

func init() {
	var err error
	if wellformed, err = decOptions().DecMode(); err != nil {
		panic(err)
	}
}

var fieldName = [...]string{
	1: "type", 2: "rpc id", 3: "sender", 4: "address", 5: "flags", 6: "key", 7: "value",
	8: "ttl", 9: "contacts", 10: "error code", 11: "error text", 12: "token", 13: "padding",
	14: "nonce", 15: "target",
}

// fieldNames lists the fields in mask, for error messages.
func fieldNames(mask uint16) string {
	var names []string
	for k, name := range fieldName {
		if mask&(1<<k) != 0 {
			names = append(names, fmt.Sprintf("%s (%d)", name, k))
		}
	}
	return strings.Join(names, ", ")
}

func majorName(major byte, arg uint64) string {
	switch major {
	case majorUint:
		return "unsigned integer"
	case majorNegInt:
		return "negative integer"
	case majorBytes:
		return "byte string"
	case majorText:
		return "text string"
	case majorArray:
		return "array"
	case majorMap:
		return "map"
	case majorTag:
		return "tag"
	}
	switch arg {
	case 20, 21:
		return "boolean"
	case 22:
		return "null"
	case 23:
		return "undefined"
	}
	return "simple value or float"
}
