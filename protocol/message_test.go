package protocol

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestTypes(t *testing.T) {
	tests := []struct {
		t       Type
		name    string
		request bool
		reply   Type
	}{
		{TypePing, "PING", true, TypePong},
		{TypePong, "PONG", false, 0},
		{TypeStore, "STORE", true, TypeStored},
		{TypeStored, "STORED", false, 0},
		{TypeFindNode, "FIND_NODE", true, TypeNodes},
		{TypeNodes, "NODES", false, 0},
		{TypeFindValue, "FIND_VALUE", true, TypeValue},
		{TypeValue, "VALUE", false, 0},
		{TypeError, "ERROR", false, 0},
		{0, "Type(0)", false, 0},
		{10, "Type(10)", false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.t.String(); got != tt.name {
				t.Errorf("String = %q", got)
			}
			if got := tt.t.IsRequest(); got != tt.request {
				t.Errorf("IsRequest = %v", got)
			}
			if tt.request {
				if got := tt.t.ReplyType(); got != tt.reply {
					t.Errorf("ReplyType = %v, want %v", got, tt.reply)
				}
			}
		})
	}
}

func TestReply(t *testing.T) {
	req := &Message{Type: TypeFindNode, RPCID: NewRPCID(), Sender: nodeA, SenderAddr: addrA, Key: nodeD}
	rep := req.Reply(TypeNodes, nodeB, addrB)
	if rep.RPCID != req.RPCID || rep.Sender != nodeB || rep.SenderAddr != addrB || rep.Type != TypeNodes {
		t.Fatalf("Reply = %+v", rep)
	}
	if first, second := NewRPCID(), NewRPCID(); first == second {
		t.Fatal("NewRPCID repeated itself")
	}
	var err error = &RemoteError{Code: CodeRefused, Text: "quota"}
	if err.Error() != "remote error 3: quota" {
		t.Fatalf("RemoteError = %q", err)
	}
}

func TestErrorText(t *testing.T) {
	long := strings.Repeat("x", MaxErrorText)
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"short", "no such key", "no such key"},
		{"exactly the limit", long, long},
		{"cut ASCII", long + "yz", long},
		{"cut before a split rune", long[:MaxErrorText-2] + "€", long[:MaxErrorText-2]},
		{"rune ending at the limit", long[:MaxErrorText-3] + "€x", long[:MaxErrorText-3] + "€"},
		{"two-byte runes", strings.Repeat("é", 200), strings.Repeat("é", MaxErrorText/2)},
		{"invalid byte replaced", "a\xffb", "a\uFFFDb"},
		{"run of invalid bytes replaced once", "a\xff\xfe\xfdb", "a\uFFFDb"},
		{"truncated sequence replaced", "a\xe2\x82", "a\uFFFD"},
		{"replacement cut like any rune", long[:MaxErrorText-1] + "\xff", long[:MaxErrorText-1]},
		{"invalid bytes beyond the limit", long + "\xff\xfe", long},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ErrorText(tt.in)
			if got != tt.want {
				t.Errorf("ErrorText(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if len(got) > MaxErrorText || !utf8.ValidString(got) {
				t.Errorf("ErrorText(%q) = %d bytes, valid UTF-8 %v", tt.in, len(got), utf8.ValidString(got))
			}
		})
	}
	// Each invalid byte grows into a three-byte U+FFFD, past the limit: cut after that.
	grown := strings.Repeat("a\xff", MaxErrorText/2)
	if got, want := ErrorText(grown), strings.Repeat("a\uFFFD", MaxErrorText/4); got != want {
		t.Errorf("ErrorText(%q) = %q, want %q", grown, got, want)
	}
}
