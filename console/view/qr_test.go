package view

import (
	"image/color"
	"strings"
	"testing"
)

func TestQRImageHasFinderPatternsAndQuietZone(t *testing.T) {
	img := qrImage("watchword-invite:" + strings.Repeat("eyJ1IjoiaHR0cHM6Ly8xMjcuMC4wLjE6ODQ0MyJ9", 4))
	if img == nil {
		t.Fatal("no QR code for an invite-sized text")
	}
	black := func(x, y int) bool { return color.GrayModel.Convert(img.At(x, y)).(color.Gray).Y < 128 }
	n := img.Bounds().Dx()
	for i := 0; i < n; i++ { // the quiet zone: the outer four modules are white on every side
		for q := 0; q < 4; q++ {
			if black(i, q) || black(q, i) || black(i, n-1-q) || black(n-1-q, i) {
				t.Fatalf("quiet zone not white at module %d,%d", i, q)
			}
		}
	}
	// The three 7×7 finder patterns: a black ring, a white ring, a black 3×3 centre.
	for _, o := range [][2]int{{4, 4}, {n - 11, 4}, {4, n - 11}} {
		for d := 0; d < 7; d++ {
			if !black(o[0]+d, o[1]) || !black(o[0], o[1]+d) || !black(o[0]+d, o[1]+6) || !black(o[0]+6, o[1]+d) {
				t.Fatalf("finder pattern at %v has no black ring", o)
			}
		}
		if black(o[0]+1, o[1]+1) || !black(o[0]+3, o[1]+3) {
			t.Fatalf("finder pattern at %v has the wrong inside", o)
		}
	}
}

func TestQRImageRefusesTooMuch(t *testing.T) {
	if qrImage(strings.Repeat("x", 5000)) != nil {
		t.Fatal("a 5,000-byte text cannot be a QR code")
	}
}
