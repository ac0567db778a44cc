// Package uitest gives view tests a Fyne test app that behaves like a real one in the way that matters for data
// races: UI work runs one function at a time.
//
// Fyne's own test driver runs fyne.Do and fyne.DoAndWait at once on the calling goroutine. A view-model that
// refreshes from a background goroutine (a long poll, a finished action) then lays widgets out while the test
// goroutine does the same through a binding, and Fyne's widgets, which rely on the single UI goroutine, fail with
// "concurrent map writes". The app from NewApp routes both through one lock, re-entered freely by the goroutine
// that holds it (fyne.Do inside fyne.Do, as a binding listener does). Tests reading or tapping widgets while a
// background refresh may run do it inside fyne.DoAndWait, as the real app's code would.
package uitest

import (
	"bytes"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
)

// NewApp is test.NewTempApp with serialized UI work; it is the current app until tb ends.
func NewApp(tb testing.TB) fyne.App {
	a := test.NewTempApp(tb)
	s := &app{App: a, drv: &driver{Driver: a.Driver()}}
	fyne.SetCurrentApp(s)
	return s
}

type app struct {
	fyne.App
	drv *driver
}

func (a *app) Driver() fyne.Driver { return a.drv }

type driver struct {
	fyne.Driver
	mu    sync.Mutex
	owner atomic.Uint64 // the goroutine inside mu, 0 when none
}

// DoFromGoroutine runs f now, as the test driver does, but never beside another UI function.
func (d *driver) DoFromGoroutine(f func(), _ bool) {
	id := goid()
	if d.owner.Load() == id {
		f()
		return
	}
	d.mu.Lock()
	d.owner.Store(id)
	defer func() {
		d.owner.Store(0)
		d.mu.Unlock()
	}()
	f()
}

// goid is the calling goroutine's number, from the first line of its stack ("goroutine 42 [running]:").
func goid() uint64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	b = bytes.TrimPrefix(b, []byte("goroutine "))
	if i := bytes.IndexByte(b, ' '); i > 0 {
		b = b[:i]
	}
	n, err := strconv.ParseUint(string(b), 10, 64)
	if err != nil {
		panic("uitest: cannot read the goroutine id: " + err.Error())
	}
	return n
}
