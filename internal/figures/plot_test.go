package figures

import "testing"

// TestCheckPlot: the formats gonum writes are accepted, whatever their case, and others
// refused.
func TestCheckPlot(t *testing.T) {
	for _, path := range []string{"a.png", "b.SVG", "dir/c.pdf"} {
		if err := CheckPlot(path); err != nil {
			t.Errorf("CheckPlot(%q) = %v", path, err)
		}
	}
	for _, path := range []string{"a.gif", "noext", ""} {
		if err := CheckPlot(path); err == nil {
			t.Errorf("CheckPlot(%q) accepted it", path)
		}
	}
}
