package bench

import (
	"errors"
	"fmt"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"kad/internal/figures"
)

// opColors are the colours of the operations; the parallel phase of each is dashed.
var opColors = figures.OpColors

// WritePlot writes to path the latency CDF of every phase of r: x is the latency in
// milliseconds on a log scale, y the fraction of successful operations at most that
// slow. The file's extension picks the format (.png, .svg, .pdf, …).
func WritePlot(path string, r *Result) error {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("kad bench: %d nodes over %s, %d ops per phase, %d parallel callers",
		r.Nodes, r.Transport, r.Ops, r.Parallel)
	p.X.Label.Text = "latency (ms, log scale)"
	p.Y.Label.Text = "fraction of operations"
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = figures.DecadeTicks{}
	p.Y.Min, p.Y.Max = 0, 1
	p.Add(plotter.NewGrid())
	// The legend goes to the right of the plot, where it hides no line.
	legend := plot.NewLegend()
	legend.Top, legend.Left = true, true
	legend.XOffs = vg.Points(8)
	legend.YOffs = -vg.Points(24)

	lines := 0
	for _, ph := range r.Phases() {
		lat := ph.Latencies()
		if len(lat) == 0 {
			continue
		}
		l, err := figures.CDFLine(lat, 1e-3)
		if err != nil {
			return fmt.Errorf("plot %s: %w", ph.Name(), err)
		}
		l.Color = opColors[ph.Op]
		l.Width = vg.Points(1.5)
		if ph.Mode == parallel {
			l.Dashes = []vg.Length{vg.Points(6), vg.Points(3)}
		}
		p.Add(l)
		label := ph.Name()
		if ph.Mode == parallel {
			label = fmt.Sprintf("%s (%d callers)", label, ph.Callers)
		}
		legend.Add(label, l)
		lines++
	}
	if lines == 0 {
		return errors.New("plot: no successful operation to draw")
	}
	const legendWidth = 2.2 * vg.Inch
	return figures.WritePlotFile(path, 10*vg.Inch, 5*vg.Inch, func(dc draw.Canvas) {
		p.Draw(draw.Crop(dc, 0, -legendWidth, 0, 0))
		legend.Draw(draw.Crop(dc, dc.Max.X-dc.Min.X-legendWidth, 0, 0, 0))
	})
}
