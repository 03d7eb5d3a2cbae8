package main

import (
	"encoding/xml"
	"io"
	"math"
	"strings"
)

// The chart's geometry, in SVG user units.
const (
	chartLabelW = 330 // the row names, left of the bars
	chartPlotW  = 520 // the bars' area
	chartBarH   = 9   // one run's bar
	chartRowGap = 8
	chartTop    = 40
)

// palette colours the runs, in order.
var palette = []string{"#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd"}

// SVG draws ns per call of every row of the peers table, one bar per run,
// on a log scale (a decade per gridline).
func SVG(w io.Writer, runs []*Run) error {
	rows := Rows(runs)
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, r := range rows {
		for _, v := range r.NS {
			if v > 0 && !math.IsNaN(v) {
				lo, hi = min(lo, v), max(hi, v)
			}
		}
	}
	if math.IsInf(lo, 1) {
		lo, hi = 1, 10
	}
	dlo, dhi := math.Floor(math.Log10(lo)), math.Ceil(math.Log10(hi))
	if dhi == dlo {
		dhi++
	}
	x := func(v float64) float64 { return chartLabelW + chartPlotW*(math.Log10(v)-dlo)/(dhi-dlo) }

	rowH := float64(len(runs)*chartBarH + chartRowGap)
	height := chartTop + rowH*float64(len(rows)) + 40
	width := float64(chartLabelW + chartPlotW + 90)
	p := &printer{w: w}
	p.f(`<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" font-family="sans-serif" font-size="11">`+"\n", width, height, width, height)
	p.f(`<rect width="100%%" height="100%%" fill="white"/>` + "\n")
	p.f(`<text x="%d" y="16" font-size="13" font-weight="bold">ns per tool call (log scale)</text>`+"\n", chartLabelW)
	for i, run := range runs {
		lx := chartLabelW + 240 + i*90
		p.f(`<rect x="%d" y="8" width="10" height="10" fill="%s"/><text x="%d" y="17">%s</text>`+"\n", lx, palette[i%len(palette)], lx+14, esc(run.Label))
	}
	bottom := chartTop + rowH*float64(len(rows))
	for d := dlo; d <= dhi; d++ {
		gx := x(math.Pow(10, d))
		p.f(`<line x1="%.1f" y1="%d" x2="%.1f" y2="%.1f" stroke="#ccc"/>`+"\n", gx, chartTop-4, gx, bottom)
		p.f(`<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n", gx, bottom+14, esc(decade(d)))
	}
	for i, r := range rows {
		y := chartTop + rowH*float64(i)
		name := r.Key
		if a, ok := about[r.Key]; ok {
			name = a
		}
		if len(name) > 58 {
			name = name[:55] + "..."
		}
		p.f(`<text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", chartLabelW-6, y+float64(len(runs)*chartBarH)/2+4, esc(name))
		for j, run := range runs {
			v, ok := r.NS[run.Label]
			if !ok || math.IsNaN(v) || v <= 0 {
				continue
			}
			by := y + float64(j*chartBarH)
			bw := max(x(v)-chartLabelW, 1)
			p.f(`<rect x="%d" y="%.1f" width="%.1f" height="%d" fill="%s"><title>%s %s: %s ns</title></rect>`+"\n",
				chartLabelW, by, bw, chartBarH-1, palette[j%len(palette)], esc(r.Key), esc(run.Label), num(v, 3))
			p.f(`<text x="%.1f" y="%.1f" font-size="9">%s</text>`+"\n", chartLabelW+bw+3, by+chartBarH-1, esc(num(v, 3)))
		}
	}
	p.f("</svg>\n")
	return p.err
}

// decade labels 10^d ns in the unit that reads best.
func decade(d float64) string {
	switch {
	case d < 3:
		return num(math.Pow(10, d), 1) + " ns"
	case d < 6:
		return num(math.Pow(10, d-3), 1) + " us"
	case d < 9:
		return num(math.Pow(10, d-6), 1) + " ms"
	}
	return num(math.Pow(10, d-9), 1) + " s"
}

func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}
