package console

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// linesByAt returns the history oldest first, read through term.History's methods.
func (h *history) linesByAt() []string {
	var got []string
	for i := h.Len() - 1; i >= 0; i-- {
		got = append(got, h.At(i))
	}
	return got
}

func TestHistoryAdd(t *testing.T) {
	tests := []struct {
		name string
		max  int
		add  []string
		want []string
	}{
		{name: "kept in order", max: 10, add: []string{"put a b", "get a"}, want: []string{"put a b", "get a"}},
		{name: "blank lines dropped", max: 10, add: []string{"", "  ", "\t", "id"}, want: []string{"id"}},
		{name: "repeat dropped", max: 10, add: []string{"id", "id", "table", "id"}, want: []string{"id", "table", "id"}},
		{name: "leading blank dropped", max: 10, add: []string{" put secret x", "\tget secret", "id"}, want: []string{"id"}},
		{name: "bounded", max: 3, add: []string{"1", "2", "3", "4", "5"}, want: []string{"3", "4", "5"}},
		{name: "default bound", max: 0, add: numbered(DefaultHistorySize + 5), want: numbered(DefaultHistorySize + 5)[5:]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHistory(tt.max)
			for _, l := range tt.add {
				h.Add(l)
			}
			if got := h.linesByAt(); !slices.Equal(got, tt.want) {
				t.Errorf("history %q, want %q", got, tt.want)
			}
		})
	}
}

func numbered(n int) []string {
	s := make([]string, n)
	for i := range s {
		s[i] = "get " + strconv.Itoa(i)
	}
	return s
}

func TestHistoryFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "history")

	h := newHistory(3)
	if err := h.load(path); err != nil || h.Len() != 0 {
		t.Fatalf("load of a missing file: %d lines, %v; want none, nil", h.Len(), err)
	}

	// A file longer than the bound gives its last lines; the file's own mode is
	// replaced by 0600 when the history is saved.
	if err := os.WriteFile(path, []byte("one\r\ntwo\n\nthree\nfour\nfive"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := h.load(path); err != nil {
		t.Fatal(err)
	}
	if got, want := h.linesByAt(), []string{"three", "four", "five"}; !slices.Equal(got, want) {
		t.Errorf("loaded %q, want %q", got, want)
	}
	h.Add("six")
	if err := h.save(path); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), "four\nfive\nsix\n"; got != want {
		t.Errorf("saved %q, want %q", got, want)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("%d files in the directory after save, want 1", len(entries))
	}

	// Errors name the file.
	missing := filepath.Join(dir, "no", "history")
	if err := h.save(missing); err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "no")) {
		t.Errorf("save into a missing directory: %v", err)
	}
	long := filepath.Join(dir, "long")
	if err := os.WriteFile(long, []byte(strings.Repeat("x", maxHistoryLine+1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := newHistory(3).load(long); err == nil || !strings.Contains(err.Error(), long) {
		t.Errorf("load of a line too long: %v", err)
	}
}
