package console

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// DefaultHistorySize bounds the history unless Console.HistorySize says otherwise.
const DefaultHistorySize = 1000

// maxHistoryLine bounds a line of the history file; the line editor takes at most 4096
// characters on a line.
const maxHistoryLine = 64 << 10

// history holds the lines typed at the prompt, oldest first, at most max of them. It is
// the line editor's term.History and the content of the history file. It is used by
// one goroutine at a time.
type history struct {
	lines []string
	max   int
}

func newHistory(max int) *history {
	if max <= 0 {
		max = DefaultHistorySize
	}
	return &history{max: max}
}

// Add keeps line unless it is blank, repeats the line before it, or starts with a
// space: as shells do with ignorespace, a leading space keeps a line out of the history.
func (h *history) Add(line string) {
	if strings.TrimSpace(line) == "" || line[0] == ' ' || line[0] == '\t' {
		return
	}
	if n := len(h.lines); n > 0 && h.lines[n-1] == line {
		return
	}
	if len(h.lines) == h.max {
		copy(h.lines, h.lines[1:])
		h.lines = h.lines[:h.max-1]
	}
	h.lines = append(h.lines, line)
}

// Len returns the number of lines held.
func (h *history) Len() int { return len(h.lines) }

// At returns the line i places before the last one: At(0) is the last line added. It
// panics if i is out of range, as term.History allows.
func (h *history) At(i int) string { return h.lines[len(h.lines)-1-i] }

// load adds the lines of the history file at path, keeping the last h.max of them. A
// missing file is an empty history.
func (h *history) load(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 4096), maxHistoryLine)
	for sc.Scan() {
		h.Add(strings.TrimSuffix(sc.Text(), "\r"))
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	return nil
}

// save writes the history to the file at path, one line each, oldest first. It writes
// a new file, readable by its owner only, and renames it over the old one, so that the
// file is never seen half written.
func (h *history) save(path string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*") // mode 0600
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	w := bufio.NewWriter(tmp)
	for _, l := range h.lines {
		w.WriteString(l)
		w.WriteByte('\n')
	}
	err = w.Flush()
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
