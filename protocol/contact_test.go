package protocol

import (
	"errors"
	"math/big"
	"net/netip"
	"sort"
	"testing"
)

func TestParseAddr(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    netip.AddrPort
		wantErr bool
	}{
		{name: "IPv4", in: "192.0.2.7:4000", want: netip.MustParseAddrPort("192.0.2.7:4000")},
		{name: "IPv4 loopback", in: "127.0.0.1:1", want: netip.MustParseAddrPort("127.0.0.1:1")},
		{name: "IPv4 highest port", in: "10.1.2.3:65535", want: netip.MustParseAddrPort("10.1.2.3:65535")},
		{name: "IPv6 in brackets", in: "[2001:db8::1]:4000", want: netip.MustParseAddrPort("[2001:db8::1]:4000")},
		{name: "IPv6 loopback", in: "[::1]:9", want: netip.MustParseAddrPort("[::1]:9")},
		{name: "IPv6 without brackets", in: "2001:db8::1:4000", wantErr: true},
		{name: "port 0", in: "192.0.2.7:0", wantErr: true},
		{name: "IPv6 port 0", in: "[2001:db8::1]:0", wantErr: true},
		{name: "unspecified IPv4", in: "0.0.0.0:4000", wantErr: true},
		{name: "unspecified IPv6", in: "[::]:4000", wantErr: true},
		{name: "IPv4-mapped unspecified", in: "[::ffff:0.0.0.0]:4000", wantErr: true},
		{name: "multicast", in: "224.0.0.1:4000", wantErr: true},
		{name: "IPv6 multicast", in: "[ff02::1]:4000", wantErr: true},
		{name: "no port", in: "192.0.2.7", wantErr: true},
		{name: "port out of range", in: "192.0.2.7:65536", wantErr: true},
		{name: "negative port", in: "192.0.2.7:-1", wantErr: true},
		{name: "host name", in: "localhost:4000", wantErr: true},
		{name: "empty", in: "", wantErr: true},
		{name: "garbage", in: "not an address", wantErr: true},
		{name: "trailing garbage", in: "192.0.2.7:4000x", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseAddr(tt.in)
			if tt.wantErr {
				if !errors.Is(err, ErrBadAddr) {
					t.Fatalf("ParseAddr(%q) = %v, %v; want an error wrapping ErrBadAddr", tt.in, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseAddr(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestCheckAddr(t *testing.T) {
	tests := []struct {
		name string
		in   netip.AddrPort
		ok   bool
	}{
		{name: "IPv4", in: netip.MustParseAddrPort("198.51.100.1:53"), ok: true},
		{name: "IPv6", in: netip.MustParseAddrPort("[2001:db8::2]:53"), ok: true},
		{name: "IPv4-mapped", in: netip.MustParseAddrPort("[::ffff:198.51.100.1]:53"), ok: true},
		{name: "zero value", in: netip.AddrPort{}},
		{name: "port 0", in: netip.MustParseAddrPort("198.51.100.1:0")},
		{name: "unspecified", in: netip.MustParseAddrPort("0.0.0.0:53")},
		{name: "IPv4-mapped unspecified", in: netip.MustParseAddrPort("[::ffff:0.0.0.0]:53")},
		{name: "IPv4-mapped multicast", in: netip.MustParseAddrPort("[::ffff:239.1.1.1]:53")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckAddr(tt.in)
			if tt.ok && err != nil {
				t.Fatalf("CheckAddr(%v) = %v", tt.in, err)
			}
			if !tt.ok && !errors.Is(err, ErrBadAddr) {
				t.Fatalf("CheckAddr(%v) = %v, want ErrBadAddr", tt.in, err)
			}
		})
	}
}

func TestParseContact(t *testing.T) {
	const id = "0123456789abcdef0123456789abcdef01234567"
	tests := []struct {
		name    string
		in      string
		want    string // netip form of the address
		wantErr error
	}{
		{name: "IPv4", in: id + "@192.0.2.1:4000", want: "192.0.2.1:4000"},
		{name: "IPv6", in: id + "@[2001:db8::7]:4000", want: "[2001:db8::7]:4000"},
		{name: "upper-case ID", in: "0123456789ABCDEF0123456789ABCDEF01234567@192.0.2.1:4000", want: "192.0.2.1:4000"},
		{name: "no @", in: id + "192.0.2.1:4000", wantErr: errAny},
		{name: "empty", in: "", wantErr: errAny},
		{name: "short ID", in: id[:39] + "@192.0.2.1:4000", wantErr: ErrBadID},
		{name: "non-hex ID", in: "x" + id[1:] + "@192.0.2.1:4000", wantErr: ErrBadID},
		{name: "port 0", in: id + "@192.0.2.1:0", wantErr: ErrBadAddr},
		{name: "unspecified", in: id + "@0.0.0.0:4000", wantErr: ErrBadAddr},
		{name: "unspecified IPv6", in: id + "@[::]:4000", wantErr: ErrBadAddr},
		{name: "garbage address", in: id + "@garbage", wantErr: ErrBadAddr},
		{name: "two @", in: id + "@192.0.2.1:4000@x", wantErr: ErrBadAddr},
		{name: "host name", in: id + "@example.com:4000", wantErr: ErrBadAddr},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseContact(tt.in)
			if tt.wantErr != nil {
				if err == nil || (tt.wantErr != errAny && !errors.Is(err, tt.wantErr)) {
					t.Fatalf("ParseContact(%q) = %v, %v; want error %v", tt.in, c, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseContact(%q): %v", tt.in, err)
			}
			if c.ID != MustParseID(id) || c.Addr != netip.MustParseAddrPort(tt.want) {
				t.Fatalf("ParseContact(%q) = %v", tt.in, c)
			}
			back, err := ParseContact(c.String())
			if err != nil || back != c {
				t.Fatalf("ParseContact(String()) = %v, %v; want %v", back, err, c)
			}
		})
	}
}

// errAny stands for "some error" in tables of cases.
var errAny = errors.New("any error")

func TestSortByDistance(t *testing.T) {
	addr := netip.MustParseAddrPort("192.0.2.1:4000")
	t.Run("small cases", func(t *testing.T) {
		target := ID{}
		ids := []ID{flipBit(target, 0), flipBit(target, 159), target, flipBit(target, 80)}
		cs := make([]Contact, len(ids))
		for i, id := range ids {
			cs[i] = Contact{ID: id, Addr: addr}
		}
		SortByDistance(target, cs)
		want := []ID{target, flipBit(target, 159), flipBit(target, 80), flipBit(target, 0)}
		for i := range want {
			if cs[i].ID != want[i] {
				t.Fatalf("position %d: %v, want %v", i, cs[i].ID, want[i])
			}
		}
		SortByDistance(target, nil) // must not panic
		SortByDistance(target, cs[:1])
	})
	t.Run("property: matches sort.Slice on big.Int distances", func(t *testing.T) {
		r := testRand(6)
		for round := range 300 {
			target := RandomID(r)
			n := int(r.Uint64() % 80)
			cs := make([]Contact, n)
			for i := range cs {
				switch {
				case i > 0 && i%7 == 0: // duplicate IDs with other addresses
					cs[i] = Contact{ID: cs[i-1].ID, Addr: netip.AddrPortFrom(addr.Addr(), uint16(i+1))}
				case i%3 == 0: // IDs near the target
					cs[i] = Contact{ID: target.RandomInBucket(int(r.Uint64()%IDBits), r), Addr: addr}
				default:
					cs[i] = Contact{ID: RandomID(r), Addr: addr}
				}
			}
			want := append([]Contact(nil), cs...)
			sort.SliceStable(want, func(i, j int) bool {
				return bigDist(target, want[i].ID).Cmp(bigDist(target, want[j].ID)) < 0
			})
			count := make(map[Contact]int)
			for _, c := range cs {
				count[c]++
			}
			SortByDistance(target, cs)
			for i := range cs {
				if cs[i].ID != want[i].ID {
					t.Fatalf("round %d, %d contacts: position %d is %v, want %v", round, n, i, cs[i].ID, want[i].ID)
				}
				count[cs[i]]--
			}
			for c, n := range count {
				if n != 0 {
					t.Fatalf("round %d: contact %v count changed by %d", round, c, -n)
				}
			}
			var prev *big.Int
			for _, c := range cs {
				d := bigDist(target, c.ID)
				if prev != nil && prev.Cmp(d) > 0 {
					t.Fatalf("round %d: not sorted", round)
				}
				prev = d
			}
		}
	})
}
