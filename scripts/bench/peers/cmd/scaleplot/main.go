// Command scaleplot draws the scaling section's figure of docs/performance.md from the figures `make bench`
// measured: a rotation pass of one agent against its number of accounts, and the hub's resident memory against
// its number of long-polling TechClients, each beside the straight line through its two smallest sizes, so that a
// reader sees at a glance whether the cost grows linearly or worse. It lives in the peers module so that the
// plotting library stays out of the product's go.mod.
//
//	go run ./cmd/scaleplot -rotation 100=1.1,1000=6.8,10000=70 -idle 200=60,2000=190,10000=700 -peak ... -out scaling.png
package main

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"image/color"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// series parses "size=value,size=value" into points sorted by size.
func series(flagName, s string) (plotter.XYs, error) {
	var xys plotter.XYs
	if s == "" {
		return nil, nil
	}
	for f := range strings.SplitSeq(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(f), "=")
		x, err1 := strconv.ParseFloat(k, 64)
		y, err2 := strconv.ParseFloat(v, 64)
		if !ok || err1 != nil || err2 != nil || x <= 0 || y <= 0 {
			return nil, fmt.Errorf("-%s %q: %q is not size=value with both positive", flagName, s, f)
		}
		xys = append(xys, plotter.XY{X: x, Y: y})
	}
	slices.SortFunc(xys, func(a, b plotter.XY) int { return cmp.Compare(a.X, b.X) })
	return xys, nil
}

// straight is the line through the two smallest sizes of xys, over xys's range.
func straight(xys plotter.XYs) plotter.XYs {
	if len(xys) < 2 {
		return nil
	}
	a, b := xys[0], xys[1]
	slope := (b.Y - a.Y) / (b.X - a.X)
	var out plotter.XYs
	for _, p := range xys {
		out = append(out, plotter.XY{X: p.X, Y: a.Y + slope*(p.X-a.X)})
	}
	return out
}

var (
	blue   = color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}
	orange = color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff}
	grey   = color.RGBA{R: 0x88, G: 0x88, B: 0x88, A: 0xff}
)

// panel is one plot: measured series with points, and the straight line through the first series' two smallest
// sizes, dashed.
func panel(title, xLabel, yLabel string, named []namedXYs) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text, p.Y.Label.Text = xLabel, yLabel
	// Both axes logarithmic: growth in proportion is a line of slope one, worse is steeper.
	p.X.Scale, p.Y.Scale = plot.LogScale{}, plot.LogScale{}
	p.Y.Tick.Marker = logTicks{}
	var sizes []float64
	for _, s := range named {
		for _, xy := range s.xys {
			if !slices.Contains(sizes, xy.X) {
				sizes = append(sizes, xy.X)
			}
		}
	}
	p.X.Tick.Marker = sizeTicks(sizes)
	p.Add(plotter.NewGrid())
	p.Legend.Top, p.Legend.Left = true, true
	for i, s := range named {
		if len(s.xys) == 0 {
			continue
		}
		l, pts, err := plotter.NewLinePoints(s.xys)
		if err != nil {
			return nil, err
		}
		c := []color.Color{blue, orange}[i%2]
		l.Color, pts.Color, l.Width = c, c, vg.Points(1.5)
		pts.Shape = draw.CircleGlyph{}
		p.Add(l, pts)
		p.Legend.Add(s.name, l, pts)
		if i == 0 {
			if ref := straight(s.xys); ref != nil {
				rl, err := plotter.NewLine(ref)
				if err != nil {
					return nil, err
				}
				rl.Color, rl.Dashes = grey, []vg.Length{vg.Points(4), vg.Points(3)}
				p.Add(rl)
				p.Legend.Add("linear (through the two smallest sizes)", rl)
			}
		}
	}
	return p, nil
}

// sizeTicks labels the sizes measured, and only those.
type sizeTicks []float64

func (t sizeTicks) Ticks(min, max float64) []plot.Tick {
	var out []plot.Tick
	for _, v := range t {
		if v >= min && v <= max {
			out = append(out, plot.Tick{Value: v, Label: thousands(v)})
		}
	}
	return out
}

// logTicks labels 1, 2 and 5 times the powers of ten in range.
type logTicks struct{}

func (logTicks) Ticks(min, max float64) []plot.Tick {
	var out []plot.Tick
	for p := math.Pow(10, math.Floor(math.Log10(min))); p <= max; p *= 10 {
		for _, m := range []float64{1, 2, 5} {
			if v := p * m; v >= min && v <= max {
				out = append(out, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'f', -1, 64)})
			}
		}
	}
	return out
}

// thousands prints a whole number with commas: 10,000.
func thousands(v float64) string {
	s := strconv.FormatFloat(math.Round(v), 'f', 0, 64)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

type namedXYs struct {
	name string
	xys  plotter.XYs
}

func main() {
	rot := flag.String("rotation", "", "seconds of one rotation pass by number of accounts: 100=1.1,1000=6.8,…")
	idle := flag.String("idle", "", "hub RSS in MiB with the TechClients idle in their long polls, by number of clients")
	peak := flag.String("peak", "", "hub peak RSS in MiB during the run, by number of clients")
	out := flag.String("out", "scaling.png", "the PNG to write")
	flag.Parse()
	if err := run(*rot, *idle, *peak, *out); err != nil {
		fmt.Fprintln(os.Stderr, "scaleplot:", err)
		os.Exit(1)
	}
}

func run(rot, idle, peak, out string) error {
	r, err := series("rotation", rot)
	if err != nil {
		return err
	}
	i, err := series("idle", idle)
	if err != nil {
		return err
	}
	pk, err := series("peak", peak)
	if err != nil {
		return err
	}
	if len(r) == 0 && len(i) == 0 {
		return errors.New("no figures: give -rotation, -idle or both")
	}
	left, err := panel("Rotation pass, one agent (OpenLDAP)", "accounts on the agent", "seconds for one pass",
		[]namedXYs{{"measured", r}})
	if err != nil {
		return err
	}
	right, err := panel("Hub memory, long-polling TechClients", "TechClients", "hub RSS (MiB)",
		[]namedXYs{{"idle, all polling", i}, {"peak during the run", pk}})
	if err != nil {
		return err
	}
	const w, h = 11 * vg.Inch, 4.2 * vg.Inch
	img := vgimg.New(w, h)
	dc := draw.New(img)
	t := draw.Tiles{Rows: 1, Cols: 2, PadX: vg.Millimeter * 6, PadY: vg.Millimeter * 3,
		PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2}
	canvases := plot.Align([][]*plot.Plot{{left, right}}, t, dc)
	left.Draw(canvases[0][0])
	right.Draw(canvases[0][1])
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", out, err)
	}
	return f.Close()
}
