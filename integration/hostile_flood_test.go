package integration

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"kad/protocol"
)

// The attack of TestHostile: sockets on 127.0.0.1, each sending one kind of hostile
// datagram to one node as fast as it can, until it has sent its count or its time is up.
// Every socket is a sender of its own to the node (over loopback a sender is an IP and a
// port), so the sockets of one kind stand in for forged source addresses: over loopback
// the kernel writes the socket's own address as the source. To the node, an attacker who
// forges addresses looks like many senders; unlike these sockets, it never sees the
// replies, which they count.

// hostileAttack is one kind of hostile traffic.
type hostileAttack struct {
	name    string
	sockets int // senders of this kind, each with its own port
	max     int // the most datagrams one socket sends
	// stores says the kind sends valid STOREs, some or all of which the node may keep,
	// charged to the socket's address.
	stores bool
	// datagram returns the next datagram to send, framing included.
	datagram func(g *hostileAttacker) []byte
}

// hostileVictim is what the attackers know of the network: the target's contact, the
// honest nodes' contacts and some keys they store. All of it is public: anyone who takes
// part in a Kademlia network learns it.
type hostileVictim struct {
	target protocol.Contact
	honest []protocol.Contact
	keys   []protocol.ID
}

// hostileAttacker is one socket of an attack, with what it needs to make its datagrams.
type hostileAttacker struct {
	kind *hostileAttack
	idx  int // kind's index among the attacks
	conn *net.UDPConn
	self netip.AddrPort
	rng  *rand.Rand
	v    hostileVictim
	big  []byte // random bytes to cut values from, shared read-only by all attackers

	// Counted by the attacker's own goroutines: sent by the sender, received by the
	// reader (the node's replies, and its own requests to the addresses it was given).
	sent, sentBytes, sendErrors uint64
	recv, recvBytes             uint64
}

// hostileResult is what one kind of attack did, summed over its sockets.
type hostileResult struct {
	name                        string
	sockets                     int
	sent, sentBytes, sendErrors uint64
	recv, recvBytes             uint64
}

// hostileFlood is the attack's sockets, open and not yet sending.
type hostileFlood struct {
	attacks []hostileAttack
	all     []*hostileAttacker
}

// newHostileFlood opens the sockets of attacks at v.target. The test's cleanup closes them
// should run never be called.
func newHostileFlood(t *testing.T, v hostileVictim, attacks []hostileAttack, seed uint64) *hostileFlood {
	t.Helper()
	big := make([]byte, protocol.MaxMessageSize+1024)
	hostileFill(rand.New(rand.NewPCG(seed, 0)), big)
	f := &hostileFlood{attacks: attacks}
	t.Cleanup(func() {
		for _, a := range f.all {
			a.conn.Close()
		}
	})
	for i := range attacks {
		for j := range attacks[i].sockets {
			conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
			if err != nil {
				t.Fatalf("attack %s: socket %d: %v", attacks[i].name, j, err)
			}
			f.all = append(f.all, &hostileAttacker{
				kind: &attacks[i],
				idx:  i,
				conn: conn,
				self: conn.LocalAddr().(*net.UDPAddr).AddrPort(),
				rng:  rand.New(rand.NewPCG(seed, uint64(len(f.all)+1))),
				v:    v,
				big:  big,
			})
		}
	}
	return f
}

// run floods until each socket has sent its count, until is reached, or ctx ends,
// whichever comes first, and returns what each kind did and how long the flood lasted.
// Every socket is closed, and every goroutine run started has ended, when it returns.
func (f *hostileFlood) run(ctx context.Context, until time.Time) ([]hostileResult, time.Duration) {
	start := time.Now()
	var senders, readers sync.WaitGroup
	for _, a := range f.all {
		// The reader ends when the sender closes the socket, or at its deadline should
		// anything keep the sender from it.
		a.conn.SetReadDeadline(until.Add(5 * time.Second))
		readers.Go(a.read)
		senders.Go(func() {
			defer a.conn.Close()
			a.send(ctx, until)
		})
	}
	senders.Wait()
	took := time.Since(start)
	readers.Wait()

	results := make([]hostileResult, len(f.attacks))
	for _, a := range f.all {
		r := &results[a.idx]
		r.name, r.sockets = a.kind.name, r.sockets+1
		r.sent += a.sent
		r.sentBytes += a.sentBytes
		r.sendErrors += a.sendErrors
		r.recv += a.recv
		r.recvBytes += a.recvBytes
	}
	return results, took
}

// send sends the attacker's datagrams: at most kind.max, and none after until or the end
// of ctx. A failed send (the socket's buffer full, say) is counted and the next one
// tried: the count and the time bound the loop all the same.
func (a *hostileAttacker) send(ctx context.Context, until time.Time) {
	to := a.v.target.Addr
	for i := 0; i < a.kind.max; i++ {
		// Reading the clock on every datagram would cost more than some of the datagrams.
		if i%64 == 0 && (ctx.Err() != nil || !time.Now().Before(until)) {
			return
		}
		b := a.kind.datagram(a)
		if _, err := a.conn.WriteToUDPAddrPort(b, to); err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			a.sendErrors++
			continue
		}
		a.sent++
		a.sentBytes += uint64(len(b))
	}
}

// read counts what arrives at the attacker's socket until it is closed, or until its
// deadline, or after a run of failed reads.
func (a *hostileAttacker) read() {
	buf := make([]byte, 1<<16)
	for failed := 0; failed < 100; {
		n, _, err := a.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, net.ErrClosed) {
				return
			}
			failed++ // an ICMP error reported on the socket, say
			continue
		}
		failed = 0
		a.recv++
		a.recvBytes += uint64(n)
	}
}

// hostileAttacks are the kinds of TestHostile's flood. perSocket bounds the datagrams of
// each socket of the small kinds; the STORE flood, whose datagrams are up to 60 KB,
// sends a tenth of that.
func hostileAttacks(perSocket int) []hostileAttack {
	return []hostileAttack{
		{name: "random bytes", sockets: 1, max: perSocket, datagram: hostileRandomBytes},
		// Bits flipped in a STORE's value leave a valid STORE.
		{name: "truncated and malformed CBOR", sockets: 1, max: perSocket, stores: true, datagram: hostileMalformedCBOR},
		{name: "huge declared lengths", sockets: 1, max: perSocket, datagram: hostileHugeLengths},
		{name: "deep nesting", sockets: 1, max: perSocket, datagram: hostileDeepNesting},
		{name: "replies nobody asked for", sockets: 1, max: perSocket, datagram: hostileUnsolicited},
		{name: "forged sender IDs and addresses", sockets: 3, max: perSocket, datagram: hostileForged},
		{name: "STORE flood", sockets: 2, max: perSocket / 10, stores: true, datagram: hostileStoreFlood},
	}
}

// The UDP framing of PROTOCOL.md, "Transports" (transports/udp/wire.go): version 1 (the
// public network) and the kind in the first byte, then the 8-byte tag.
const (
	hostileHeaderLen    = 9
	hostileVersion      = 1
	hostileKindRequest  = 1
	hostileKindResponse = 2
	hostileKindError    = 3
	// maxUDPPayload is the largest datagram IPv4 carries.
	hostileMaxDatagram = 65507
)

// hostileFrame returns payload behind a header of the given kind and tag.
func hostileFrame(kind byte, tag uint64, payload []byte) []byte {
	b := make([]byte, hostileHeaderLen, hostileHeaderLen+len(payload))
	b[0] = hostileVersion<<4 | kind
	binary.BigEndian.PutUint64(b[1:hostileHeaderLen], tag)
	return append(b, payload...)
}

// request frames payload as a request with a random tag.
func (a *hostileAttacker) request(payload []byte) []byte {
	return hostileFrame(hostileKindRequest, a.rng.Uint64(), payload)
}

// hostileRandomBytes: datagrams of random bytes, of random lengths up to the largest UDP
// payload; half have a valid request header, so that the node's decoder sees the rest.
func hostileRandomBytes(a *hostileAttacker) []byte {
	var n int
	switch r := a.rng.IntN(100); {
	case r < 40:
		n = a.rng.IntN(24)
	case r < 90:
		n = a.rng.IntN(1500)
	default:
		n = a.rng.IntN(hostileMaxDatagram + 1)
	}
	b := a.cut(n)
	if a.rng.IntN(2) == 0 && n >= hostileHeaderLen {
		b[0] = hostileVersion<<4 | hostileKindRequest
	}
	return b
}

// hostileMalformedCBOR: valid requests and replies cut short, with bits flipped, with bytes
// after them, and maps that break the schema (a key twice, unknown keys, values of the
// wrong type, indefinite lengths, tags), all framed as requests.
func hostileMalformedCBOR(a *hostileAttacker) []byte {
	valid := a.anyMessage()
	var p []byte
	switch a.rng.IntN(8) {
	case 0, 1, 2:
		p = valid[:a.rng.IntN(len(valid))]
	case 3:
		p = append([]byte(nil), valid...)
		for range 1 + a.rng.IntN(3) {
			p[a.rng.IntN(len(p))] ^= 1 << a.rng.IntN(8)
		}
	case 4:
		p = append(append([]byte(nil), valid...), a.cut(1+a.rng.IntN(32))...)
	case 5: // rpc id twice
		p = a.envelope(nil, 4, protocol.TypePing)
		p = hostileHead(p, hostileMajorUint, 2)
		p = a.byteString(p, 8)
	case 6: // an unknown key, a negative key, a text key, or a key of the wrong type
		p = a.envelope(nil, 4, protocol.TypePing)
		switch a.rng.IntN(3) {
		case 0:
			p = hostileHead(p, hostileMajorUint, 20+uint64(a.rng.IntN(1000)))
		case 1:
			p = hostileHead(p, hostileMajorNegative, uint64(a.rng.IntN(10)))
		default:
			p = hostileHead(p, hostileMajorText, 1)
			p = append(p, 'k')
		}
		p = hostileHead(p, hostileMajorUint, 0)
	default: // indefinite lengths, tags, floats and simple values where fields belong
		p = a.envelope(nil, 4, protocol.TypeStore)
		p = hostileHead(p, hostileMajorUint, 6)
		switch a.rng.IntN(5) {
		case 0:
			p = append(p, 0x5f, 0x54) // indefinite byte string, one 20-byte chunk
			p = append(p, a.cut(20)...)
			p = append(p, 0xff)
		case 1:
			p = append(p, 0xd9, 0xd9, 0xf7) // self-describe tag 55799
			p = a.byteString(p, 20)
		case 2:
			p = append(p, 0xfb) // float64
			p = append(p, a.cut(8)...)
		case 3:
			p = append(p, 0xf6) // null
		default:
			p = append(p, 0xbf, 0x01, 0x01, 0xff) // indefinite map
		}
	}
	return a.request(p)
}

// hostileHugeLengths: CBOR items whose heads declare byte strings, texts, arrays and maps
// far longer than the datagram, up to 2⁶⁴−1, alone and inside a request; well-formed
// items just over a limit (contacts, map pairs, error text, value size); and datagrams
// just over the message limit.
func hostileHugeLengths(a *hostileAttacker) []byte {
	huge := []uint64{1<<64 - 1, 1 << 63, 1<<32 - 1, 1 << 31, protocol.MaxMessageSize + 1, 65535}[a.rng.IntN(6)]
	major := []byte{hostileMajorBytes, hostileMajorText, hostileMajorArray, hostileMajorMap}[a.rng.IntN(4)]
	var p []byte
	switch a.rng.IntN(8) {
	case 6: // counts just over the limits: more contacts than MaxContacts, as a NODES
		// framed as a request and as a FIND_NODE, every element a well-formed contact
		n := protocol.MaxContacts + 1 + a.rng.IntN(200)
		p = a.envelope(nil, 4, []protocol.Type{protocol.TypeFindNode, protocol.TypeNodes}[a.rng.IntN(2)])
		p = hostileHead(p, hostileMajorUint, 9)
		p = hostileHead(p, hostileMajorArray, uint64(n))
		for range n {
			id := a.forgedID()
			p = hostileHead(p, hostileMajorBytes, 26)
			p = append(p, id[:]...)
			p = append(p, 127, 0, 0, 1, byte(a.self.Port()>>8), byte(a.self.Port()))
		}
	case 7: // more pairs than a map may have, or an error text over MaxErrorText
		if a.rng.IntN(2) == 0 {
			n := 17 + a.rng.IntN(100)
			p = a.envelope(nil, n, protocol.TypePing)
			for i := range n - 3 {
				p = hostileHead(p, hostileMajorUint, uint64(4+i))
				p = hostileHead(p, hostileMajorUint, 0)
			}
		} else {
			p = a.envelope(nil, 5, protocol.TypeError)
			p = hostileHead(p, hostileMajorUint, 10)
			p = hostileHead(p, hostileMajorUint, 1)
			p = hostileHead(p, hostileMajorUint, 11)
			text := bytes.Repeat([]byte("x"), protocol.MaxErrorText+1+a.rng.IntN(1000))
			p = hostileHead(p, hostileMajorText, uint64(len(text)))
			p = append(p, text...)
		}
	case 0: // the item alone, followed by a little of what it promises
		p = hostileHead(nil, major, huge)
		p = append(p, a.cut(a.rng.IntN(64))...)
	case 1: // as the value of a STORE
		p = a.envelope(nil, 5, protocol.TypeStore)
		p = hostileHead(p, hostileMajorUint, 6)
		p = a.byteString(p, 20)
		p = hostileHead(p, hostileMajorUint, 7)
		p = hostileHead(p, major, huge)
		p = append(p, a.cut(a.rng.IntN(256))...)
	case 2: // the message's own map declares a huge number of pairs
		p = hostileHead(nil, hostileMajorMap, huge)
		p = a.envelopePairs(p, protocol.TypePing)
	case 3: // contacts: a huge array, as a request and as a NODES
		p = a.envelope(nil, 4, []protocol.Type{protocol.TypeFindNode, protocol.TypeNodes}[a.rng.IntN(2)])
		p = hostileHead(p, hostileMajorUint, 9)
		p = hostileHead(p, hostileMajorArray, huge)
		p = a.byteString(p, 26)
	case 4: // a STORE whose value is over MaxValueSize, within MaxMessageSize
		p = a.envelope(nil, 5, protocol.TypeStore)
		p = hostileHead(p, hostileMajorUint, 6)
		p = a.byteString(p, 20)
		p = hostileHead(p, hostileMajorUint, 7)
		p = a.byteString(p, protocol.MaxValueSize+1+a.rng.IntN(900))
	default: // a datagram over the largest message
		return a.request(a.cut(protocol.MaxMessageSize + 1 + a.rng.IntN(hostileMaxDatagram-hostileHeaderLen-protocol.MaxMessageSize)))
	}
	return a.request(p)
}

// hostileDeepNesting: arrays and maps nested up to tens of thousands deep, definite and
// indefinite, tags wrapped around tags, alone and as the contacts of a request.
func hostileDeepNesting(a *hostileAttacker) []byte {
	// Up to what fits in one message: the deepest units are 3 bytes.
	depth := 5 + a.rng.IntN(100)
	if a.rng.IntN(3) == 0 {
		depth = 1000 + a.rng.IntN((protocol.MaxMessageSize-64)/3-1000)
	}
	var p []byte
	switch a.rng.IntN(6) {
	case 0:
		p = hostileRepeat(nil, []byte{0x81}, depth) // [[[[…0…]]]]
		p = append(p, 0x00)
	case 1:
		p = hostileRepeat(nil, []byte{0xa1, 0x01}, depth) // {1: {1: …0…}}
		p = append(p, 0x00)
	case 2:
		p = hostileRepeat(nil, []byte{0x9f}, depth) // indefinite arrays
		p = append(p, 0x00)
		p = hostileRepeat(p, []byte{0xff}, depth)
	case 3:
		p = hostileRepeat(nil, []byte{0xc6}, depth) // tag 6 around tag 6 …
		p = append(p, 0x00)
	case 4: // inside a well-formed envelope, as its contacts
		p = a.envelope(nil, 4, protocol.TypeFindNode)
		p = hostileHead(p, hostileMajorUint, 9)
		p = hostileRepeat(p, []byte{0x81}, depth)
		p = append(p, 0x40)
	default: // maps and arrays alternating, the innermost cut short
		p = a.envelope(nil, 4, protocol.TypePing)
		p = hostileHead(p, hostileMajorUint, 11)
		p = hostileRepeat(p, []byte{0x82, 0xa1, 0x02}, depth)
	}
	return a.request(p)
}

// hostileUnsolicited: responses and error responses with tags nobody is waiting for,
// carrying valid replies (a NODES full of contacts at the attacker's address, under the
// honest nodes' IDs too) or garbage; and valid replies framed as requests.
func hostileUnsolicited(a *hostileAttacker) []byte {
	tag := a.rng.Uint64()
	switch a.rng.IntN(6) {
	case 0, 1:
		return hostileFrame(hostileKindResponse, tag, a.reply())
	case 2:
		return hostileFrame(hostileKindResponse, tag, a.cut(a.rng.IntN(512)))
	case 3:
		// An error response's text is cut to 256 bytes of UTF-8 by the caller; here it
		// is longer, and not UTF-8.
		return hostileFrame(hostileKindError, tag, a.cut(a.rng.IntN(2048)))
	default:
		return hostileFrame(hostileKindRequest, tag, a.reply())
	}
}

// hostileForged: PING, FIND_NODE and FIND_VALUE whose sender field is the target's own
// ID, an honest node's ID or a random one, and whose advertised address is the target's,
// an honest node's, the attacker's or none; some claim to be clients.
func hostileForged(a *hostileAttacker) []byte {
	m := protocol.Message{
		Type:   []protocol.Type{protocol.TypePing, protocol.TypeFindNode, protocol.TypeFindValue}[a.rng.IntN(3)],
		RPCID:  a.rpcID(),
		Sender: a.forgedID(),
	}
	switch a.rng.IntN(4) {
	case 0:
		m.SenderAddr = a.v.target.Addr
	case 1:
		m.SenderAddr = a.v.honest[a.rng.IntN(len(a.v.honest))].Addr
	case 2:
		m.SenderAddr = a.self
	}
	if a.rng.IntN(8) == 0 {
		m.Flags = protocol.FlagClient
	}
	if m.Type != protocol.TypePing {
		switch a.rng.IntN(3) {
		case 0:
			m.Key = a.v.keys[a.rng.IntN(len(a.v.keys))]
		case 1:
			m.Key = a.v.target.ID
		default:
			m.Key = a.randomID()
		}
	}
	return a.request(hostileEncode(&m))
}

// hostileStoreFlood: STOREs of distinct random keys, most with values of 16 to 60 KB, under
// random sender IDs, asking for random lifetimes. They never name a key an honest node
// stored: values are not signed in kad, so anyone may replace any value, and that is
// not what this attack is about.
func hostileStoreFlood(a *hostileAttacker) []byte {
	n := 16<<10 + a.rng.IntN(44<<10)
	if a.rng.IntN(10) < 3 {
		n = a.rng.IntN(1024)
	}
	m := protocol.Message{
		Type:       protocol.TypeStore,
		RPCID:      a.rpcID(),
		Sender:     a.randomID(),
		SenderAddr: a.self,
		Key:        a.randomID(),
		Value:      a.cut(n),
		TTL:        a.rng.Uint32(),
	}
	return a.request(hostileEncode(&m))
}

// anyMessage returns the encoding of a valid message of a random type.
func (a *hostileAttacker) anyMessage() []byte {
	if a.rng.IntN(2) == 0 {
		return a.reply()
	}
	m := protocol.Message{Type: protocol.TypePing, RPCID: a.rpcID(), Sender: a.forgedID(), SenderAddr: a.self}
	switch a.rng.IntN(4) {
	case 0:
		m.Type, m.Key, m.Value, m.TTL = protocol.TypeStore, a.randomID(), a.cut(a.rng.IntN(2048)), a.rng.Uint32()
	case 1:
		m.Type, m.Key = protocol.TypeFindNode, a.randomID()
	case 2:
		m.Type, m.Key = protocol.TypeFindValue, a.v.keys[a.rng.IntN(len(a.v.keys))]
	}
	return hostileEncode(&m)
}

// reply returns the encoding of a valid reply of a random type, as if from a random
// node, an honest node or the target.
func (a *hostileAttacker) reply() []byte {
	m := protocol.Message{RPCID: a.rpcID(), Sender: a.forgedID(), SenderAddr: a.self}
	switch a.rng.IntN(5) {
	case 0:
		m.Type = protocol.TypePong
	case 1:
		m.Type = protocol.TypeStored
	case 2:
		m.Type = protocol.TypeNodes
		for range a.rng.IntN(protocol.MaxContacts + 1) {
			m.Contacts = append(m.Contacts, protocol.Contact{ID: a.forgedID(), Addr: a.self})
		}
	case 3:
		m.Type, m.Key, m.Value = protocol.TypeValue, a.v.keys[a.rng.IntN(len(a.v.keys))], a.cut(a.rng.IntN(1024))
	default:
		m.Type, m.ErrCode, m.ErrText = protocol.TypeError, uint16(1+a.rng.IntN(65535)), "no"
	}
	return hostileEncode(&m)
}

// forgedID returns the target's ID, an honest node's ID, or a random one.
func (a *hostileAttacker) forgedID() protocol.ID {
	switch r := a.rng.IntN(10); {
	case r < 2:
		return a.v.target.ID
	case r < 5:
		return a.v.honest[a.rng.IntN(len(a.v.honest))].ID
	}
	return a.randomID()
}

func (a *hostileAttacker) randomID() protocol.ID {
	var id protocol.ID
	hostileFill(a.rng, id[:])
	return id
}

func (a *hostileAttacker) rpcID() protocol.RPCID {
	var id protocol.RPCID
	binary.BigEndian.PutUint64(id[:], a.rng.Uint64())
	return id
}

// cut returns a fresh copy of n random bytes from the shared ones (n ≤ len(a.big)).
func (a *hostileAttacker) cut(n int) []byte {
	off := a.rng.IntN(len(a.big) - n + 1)
	return append([]byte(nil), a.big[off:off+n]...)
}

// The CBOR major types (RFC 8949, section 3.1).
const (
	hostileMajorUint     = 0
	hostileMajorNegative = 1
	hostileMajorBytes    = 2
	hostileMajorText     = 3
	hostileMajorArray    = 4
	hostileMajorMap      = 5
)

// hostileHead appends the head of an item of the given major type and argument, in its
// shortest form.
func hostileHead(b []byte, major byte, n uint64) []byte {
	m := major << 5
	switch {
	case n < 24:
		return append(b, m|byte(n))
	case n <= 0xff:
		return append(b, m|24, byte(n))
	case n <= 0xffff:
		return binary.BigEndian.AppendUint16(append(b, m|25), uint16(n))
	case n <= 0xffffffff:
		return binary.BigEndian.AppendUint32(append(b, m|26), uint32(n))
	}
	return binary.BigEndian.AppendUint64(append(b, m|27), n)
}

// byteString appends a byte string of n random bytes.
func (a *hostileAttacker) byteString(b []byte, n int) []byte {
	return append(hostileHead(b, hostileMajorBytes, uint64(n)), a.cut(n)...)
}

// envelope appends the head of a map of pairs pairs and its first three: type, a random
// rpc id and a forged sender. The caller appends the other pairs.
func (a *hostileAttacker) envelope(b []byte, pairs int, t protocol.Type) []byte {
	return a.envelopePairs(hostileHead(b, hostileMajorMap, uint64(pairs)), t)
}

// envelopePairs appends the pairs of keys 1, 2 and 3.
func (a *hostileAttacker) envelopePairs(b []byte, t protocol.Type) []byte {
	b = hostileHead(b, hostileMajorUint, 1)
	b = hostileHead(b, hostileMajorUint, uint64(t))
	b = hostileHead(b, hostileMajorUint, 2)
	b = a.byteString(b, 8)
	id := a.forgedID()
	b = hostileHead(b, hostileMajorUint, 3)
	b = hostileHead(b, hostileMajorBytes, uint64(len(id)))
	return append(b, id[:]...)
}

// hostileRepeat appends n copies of unit.
func hostileRepeat(b, unit []byte, n int) []byte {
	for range n {
		b = append(b, unit...)
	}
	return b
}

// hostileEncode encodes a message the attack built within the rules; an error is a bug in
// the attack.
func hostileEncode(m *protocol.Message) []byte {
	b, err := m.Encode()
	if err != nil {
		panic("hostile: encoding " + m.Type.String() + ": " + err.Error())
	}
	return b
}

// hostileFill fills b from rng.
func hostileFill(rng *rand.Rand, b []byte) {
	for i := 0; i < len(b); i += 8 {
		v := rng.Uint64()
		for j := i; j < min(i+8, len(b)); j++ {
			b[j] = byte(v)
			v >>= 8
		}
	}
}
