package figures

import (
	"strings"
	"testing"
)

func TestDecadeTicks(t *testing.T) {
	ticks := DecadeTicks{}.Ticks(0.15, 30)
	var labels []string
	for _, tk := range ticks {
		if tk.Value < 0.15 || tk.Value > 30 {
			t.Errorf("tick %v outside [0.15, 30]", tk.Value)
		}
		if tk.Label != "" {
			labels = append(labels, tk.Label)
		}
	}
	if got, want := strings.Join(labels, " "), "0.2 0.5 1 2 5 10 20"; got != want {
		t.Errorf("labels %q, want %q", got, want)
	}
	labels = nil
	for _, tk := range (DecadeTicks{}).Ticks(0.01, 5000) {
		if tk.Label != "" {
			labels = append(labels, tk.Label)
		}
	}
	if got, want := strings.Join(labels, " "), "0.01 0.1 1 10 100 1000"; got != want {
		t.Errorf("labels over six decades %q, want %q", got, want)
	}
	if ticks := (DecadeTicks{}).Ticks(0, 1); ticks != nil {
		t.Errorf("ticks from 0: %v, want none", ticks)
	}
}
