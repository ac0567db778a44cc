package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// limit is one goal of a row as data: the named figure must be at most max. A row's goal column is written from
// its limits and its verdict checks every one of them, so a goal cannot name a figure the verdict ignores.
type limit struct {
	figure string  // as the goal column names it, e.g. "p99"; also the key of the row's figures
	max    float64 // in unit
	unit   string  // "ms", "×", "MiB" or "" (a count)
}

// String is the limit as the goal column writes it.
func (l limit) String() string {
	if l.max == 0 && l.unit == "" {
		return "no " + l.figure
	}
	num := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	v := num(l.max)
	switch l.unit {
	case "ms":
		if l.max >= 1000 {
			v = num(l.max/1000) + " s"
		} else {
			v += " ms"
		}
	case "×":
		v += "×"
	case "":
	default:
		v += " " + l.unit
	}
	return l.figure + " ≤ " + v
}

// met reports whether figure v keeps the limit; a figure that is missing (NaN) keeps none.
func (l limit) met(v float64) bool { return !math.IsNaN(v) && v <= l.max }

// goalText is a row's goal column: its limits, then a note.
func goalText(limits []limit, note string) string {
	var parts []string
	for _, l := range limits {
		parts = append(parts, l.String())
	}
	s := strings.Join(parts, "; ")
	switch {
	case s == "" && note == "":
		return "report"
	case s == "":
		return note
	case note != "":
		return s + " " + note
	}
	return s
}

// verdict judges figures against every limit: "**failed to run**" when the row's runs failed, "**missed**"
// naming each figure over its limit or missing, "met", or "reported" for a row without a goal.
func verdict(limits []limit, figures map[string]float64, err error) string {
	if err != nil {
		return "**failed to run**"
	}
	if len(limits) == 0 {
		return "reported"
	}
	var missed []string
	for _, l := range limits {
		v, ok := figures[l.figure]
		if !ok {
			v = math.NaN()
		}
		if !l.met(v) {
			missed = append(missed, l.figure)
		}
	}
	if len(missed) > 0 {
		return fmt.Sprintf("**missed** (%s)", strings.Join(missed, ", "))
	}
	return "met"
}
