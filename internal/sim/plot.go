package sim

import (
	"errors"
	"fmt"
	"image/color"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"kad/internal/figures"
)

// minPlotMS is where the latency CDF draws what took less, the gets answered from the
// caller's own store, which would stretch the axis by decades.
const minPlotMS = 0.1

// opColors are the colours of the operations.
var opColors = figures.OpColors

// WritePlot writes to path one figure of r in three panels: the histogram of the hops
// of the gets and lookups, the CDF of the latencies of the puts, gets and lookups (log
// scale), and the success rate of the timeline's rounds of gets over the scenario's
// simulated time. The file's extension picks the format (.png, .svg, .pdf, …).
func WritePlot(path string, r *Result) error {
	hops, err := hopsPanel(r)
	if err != nil {
		return err
	}
	cdf, err := latencyPanel(r)
	if err != nil {
		return err
	}
	timeline, err := timelinePanel(r)
	if err != nil {
		return err
	}
	tiles := draw.Tiles{Rows: 1, Cols: 3, PadX: vg.Points(12), PadY: vg.Points(8),
		PadTop: vg.Points(8), PadBottom: vg.Points(8), PadLeft: vg.Points(8), PadRight: vg.Points(8)}
	return figures.WritePlotFile(path, 15*vg.Inch, 5*vg.Inch, func(dc draw.Canvas) {
		for col, p := range []*plot.Plot{hops, cdf, timeline} {
			p.Draw(tiles.At(dc, col, 0))
		}
	})
}

// newPanel makes a panel with a title, axis labels and a legend at its top right.
func newPanel(title, x, y string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text, p.Y.Label.Text = x, y
	p.Legend.Top = true
	p.Add(plotter.NewGrid())
	return p
}

// hopsPanel draws, for gets and lookups, the fraction of successful operations of each
// number of hops, as bars side by side.
func hopsPanel(r *Result) (*plot.Plot, error) {
	p := newPanel(fmt.Sprintf("hops, %d nodes (log2 N = %.1f)", r.Nodes, r.Log2Nodes), "hops", "fraction of successful operations")
	ops := []*Op{&r.Get, &r.Lookup}
	width := vg.Points(10)
	for j, op := range ops {
		if op.OK == 0 {
			continue
		}
		vals := make(plotter.Values, len(op.HopsHistogram))
		for h, c := range op.HopsHistogram {
			vals[h] = float64(c) / float64(op.OK)
		}
		bars, err := plotter.NewBarChart(vals, width)
		if err != nil {
			return nil, fmt.Errorf("plot hops of %s: %w", op.Op, err)
		}
		bars.Color = opColors[op.Op]
		bars.LineStyle.Width = 0
		bars.Offset = width * vg.Length(2*j-1) / 2
		p.Add(bars)
		p.Legend.Add(fmt.Sprintf("%s (%d)", op.Op, op.OK), bars)
	}
	p.Y.Min = 0
	return p, nil
}

// latencyPanel draws the CDF of the latencies of the successful puts, gets and lookups.
func latencyPanel(r *Result) (*plot.Plot, error) {
	p := newPanel("latency CDF", fmt.Sprintf("latency (ms, log scale; local gets at %g)", minPlotMS), "fraction of successful operations")
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = figures.DecadeTicks{}
	p.Y.Min, p.Y.Max = 0, 1
	p.Legend.Left = true // the curves rise on the right
	lines := 0
	for _, op := range []*Op{&r.Put, &r.Get, &r.Lookup} {
		lat := op.latencies
		if len(lat) == 0 {
			continue
		}
		l, err := figures.CDFLine(lat, minPlotMS)
		if err != nil {
			return nil, fmt.Errorf("plot latency of %s: %w", op.Op, err)
		}
		l.Color, l.Width = opColors[op.Op], vg.Points(1.5)
		p.Add(l)
		p.Legend.Add(op.Op, l)
		lines++
	}
	if lines == 0 {
		return nil, errors.New("plot: no successful operation to draw")
	}
	return p, nil
}

// timelinePanel draws the success rate of the rounds of gets over the scenario, in
// simulated hours, with the gets from the side split off and the cross gets apart
// while the network is partitioned.
func timelinePanel(r *Result) (*plot.Plot, error) {
	if len(r.Timeline) == 0 {
		p := newPanel("success over time: no scenario", "simulated time (h)", "success rate of the gets")
		p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = 0, 1, 0, 1
		return p, nil
	}
	p := newPanel(timelineTitle(r), "simulated time (h)", "success rate of the gets")
	p.Y.Min, p.Y.Max = 0, 1.02
	p.X.Min = 0
	var all, split, cross plotter.XYs
	for _, sm := range r.Timeline {
		h := sm.AtS / 3600
		all = append(all, plotter.XY{X: h, Y: sm.SuccessRate})
		if sm.SplitGets > 0 {
			split = append(split, plotter.XY{X: h, Y: float64(sm.SplitOK) / float64(sm.SplitGets)})
		}
		if sm.CrossGets > 0 {
			cross = append(cross, plotter.XY{X: h, Y: float64(sm.CrossOK) / float64(sm.CrossGets)})
		}
	}
	series := []struct {
		name  string
		pts   plotter.XYs
		color color.Color
	}{
		{"all gets", all, opColors[opGet]},
		{"from the side split off", split, color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff}},
		{"cross gets (copies only across the cut)", cross, color.RGBA{R: 0x94, G: 0x67, B: 0xbd, A: 0xff}},
	}
	for _, s := range series {
		if len(s.pts) == 0 {
			continue
		}
		l, pts, err := plotter.NewLinePoints(s.pts)
		if err != nil {
			return nil, fmt.Errorf("plot timeline: %w", err)
		}
		l.Color, l.Width, pts.Color = s.color, vg.Points(1.5), s.color
		p.Add(l, pts)
		p.Legend.Add(s.name, l, pts)
	}
	p.Legend.Top = false // under the rates near 1
	return p, nil
}

func timelineTitle(r *Result) string {
	var parts []string
	if r.Killed > 0 {
		parts = append(parts, fmt.Sprintf("%d killed", r.Killed))
	}
	if r.ChurnMedianS > 0 {
		parts = append(parts, fmt.Sprintf("churn, median session %.3gh", r.ChurnMedianS/3600))
	}
	if r.Split > 0 {
		parts = append(parts, fmt.Sprintf("%d split off for %.3gh", r.Split, r.PartitionForS/3600))
	}
	if len(parts) == 0 {
		return "success over time"
	}
	return "success over time: " + strings.Join(parts, ", ")
}
