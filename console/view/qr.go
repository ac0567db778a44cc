package view

import (
	"image"
	"image/color"
	"image/draw"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"rsc.io/qr"
)

// inviteQR renders the invite as a QR code, so a technician can take it from the admin's screen with a phone
// or a webcam instead of retyping it. It returns nothing when the text does not fit a QR code.
func inviteQR(text string) []fyne.CanvasObject {
	img := qrImage(text)
	if img == nil {
		return nil
	}
	// Enlarged here by a whole factor, so the canvas's own scaling to 220 units blurs no module edge.
	c := canvas.NewImageFromImage(enlarge(img, 8))
	c.FillMode = canvas.ImageFillContain
	c.ScaleMode = canvas.ImageScalePixels // crisp modules, no blur between black and white
	c.SetMinSize(fyne.NewSquareSize(220))
	return []fyne.CanvasObject{c}
}

// qrImage is the QR code of text at medium error correction, one pixel a module, with the four-module white
// quiet zone scanners need around it.
func qrImage(text string) image.Image {
	code, err := qr.Encode(text, qr.M)
	if err != nil {
		return nil
	}
	const quiet = 4
	n := code.Size + 2*quiet
	img := image.NewGray(image.Rect(0, 0, n, n))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	for y := 0; y < code.Size; y++ {
		for x := 0; x < code.Size; x++ {
			if code.Black(x, y) {
				img.SetGray(x+quiet, y+quiet, color.Gray{})
			}
		}
	}
	return img
}

// enlarge scales img up by a whole factor, each pixel to a k×k block.
func enlarge(img image.Image, k int) image.Image {
	b := img.Bounds()
	out := image.NewGray(image.Rect(0, 0, b.Dx()*k, b.Dy()*k))
	for y := 0; y < out.Rect.Dy(); y++ {
		for x := 0; x < out.Rect.Dx(); x++ {
			out.Set(x, y, img.At(b.Min.X+x/k, b.Min.Y+y/k))
		}
	}
	return out
}
