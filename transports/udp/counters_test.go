package udp

import (
	"reflect"
	"testing"
)

// TestCounters: Counters reports the Stats under their names, and moves with them.
func TestCounters(t *testing.T) {
	tr := listen(t, Options{}, echo)
	r := newRaw(t)
	r.send(tr.LocalAddr(), []byte{0xff})
	r.send(tr.LocalAddr(), framingFor("alpha").frame(kindRequest, 1, "elsewhere"))
	waitFor(t, "the datagrams counted", func() bool { s := tr.Stats(); return s.Malformed == 1 && s.WrongNetwork == 1 })
	got := map[string]float64{}
	for _, c := range tr.Counters() {
		got[c.Name] = c.Value
	}
	s := tr.Stats()
	want := map[string]float64{"dropped": float64(s.Dropped), "malformed": 1, "wrong_network": 1,
		"unmatched": float64(s.Unmatched), "read_errors": float64(s.ReadErrors), "workers": float64(s.Workers)}
	// Every field of Stats is a counter, so that a new one is not left out.
	if len(got) != len(want) || len(got) != reflect.TypeFor[Stats]().NumField() {
		t.Fatalf("counters %v, want %v", got, want)
	}
	for name, v := range want {
		if got[name] != v {
			t.Errorf("%s = %v, want %v", name, got[name], v)
		}
	}
}
