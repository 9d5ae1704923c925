package figures

import (
	"math"
	"strconv"

	"gonum.org/v1/plot"
)

// DecadeTicks marks a log axis of gonum.org/v1/plot at 1, 2 and 5 times each power of
// ten, with labels, and at the other multiples without. Over more than three decades
// only the powers of ten are labelled, so that the labels do not run together.
type DecadeTicks struct{}

var _ plot.Ticker = DecadeTicks{}

// Ticks returns the marks of the axis from lo to hi; none unless 0 < lo < hi.
func (DecadeTicks) Ticks(lo, hi float64) []plot.Tick {
	if lo <= 0 || hi <= lo {
		return nil
	}
	wide := math.Log10(hi/lo) > 3
	var ticks []plot.Tick
	for e := math.Floor(math.Log10(lo)); e <= math.Ceil(math.Log10(hi)); e++ {
		pow := math.Pow(10, e)
		for m := 1; m <= 9; m++ {
			v := float64(m) * pow
			if v < lo || v > hi {
				continue
			}
			t := plot.Tick{Value: v}
			if m == 1 || !wide && (m == 2 || m == 5) {
				t.Label = strconv.FormatFloat(v, 'g', -1, 64)
			}
			ticks = append(ticks, t)
		}
	}
	return ticks
}
