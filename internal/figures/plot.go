package figures

import (
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// plotFormats are the extensions WritePlotFile can write, as gonum's draw names them.
var plotFormats = []string{"eps", "jpeg", "jpg", "pdf", "png", "svg", "tex", "tif", "tiff"}

// OpColors are the colours of the operations in every plot: put, get and lookup.
var OpColors = map[string]color.Color{
	"put":    color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff},
	"get":    color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff},
	"lookup": color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff},
}

// CheckPlot reports whether WritePlotFile can write a file of path's format, so that a
// long run does not find out at its end.
func CheckPlot(path string) error {
	if !slices.Contains(plotFormats, plotFormat(path)) {
		return fmt.Errorf("want a file name ending in .png, .svg, .pdf or another of %s", strings.Join(plotFormats, ", "))
	}
	return nil
}

func plotFormat(path string) string {
	return strings.TrimPrefix(strings.ToLower(filepath.Ext(path)), ".")
}

// WritePlotFile draws a width × height figure with drawFig on a canvas of the format
// path's extension names, and writes it to path.
func WritePlotFile(path string, width, height vg.Length, drawFig func(draw.Canvas)) error {
	if err := CheckPlot(path); err != nil {
		return fmt.Errorf("plot %s: %w", path, err)
	}
	canvas, err := draw.NewFormattedCanvas(width, height, plotFormat(path))
	if err != nil {
		return fmt.Errorf("plot %s: %w", path, err)
	}
	drawFig(draw.New(canvas))
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	if _, err := canvas.WriteTo(f); err != nil {
		f.Close()
		return fmt.Errorf("plot %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	return nil
}

// CDFLine returns the empirical CDF of sorted latencies as a step line: x in
// milliseconds, at least minMS (a log axis cannot show 0), y the fraction at most that
// slow.
func CDFLine(sorted []time.Duration, minMS float64) (*plotter.Line, error) {
	pts := make(plotter.XYs, 0, 2*len(sorted))
	for i, d := range sorted {
		x := math.Max(float64(d)/float64(time.Millisecond), minMS)
		pts = append(pts, plotter.XY{X: x, Y: float64(i) / float64(len(sorted))},
			plotter.XY{X: x, Y: float64(i+1) / float64(len(sorted))})
	}
	return plotter.NewLine(pts)
}
