// Package cliptest is the clipboard of tests: an in-memory one a test can read and overwrite as a user would, safe
// for the timers that clear a copied secret from another goroutine. It has the Content and SetContent methods of
// secretclip.Clipboard and fyne.Clipboard, so that no test touches the desktop's real clipboard.
//
//	clip := &cliptest.Memory{}
//	app := vm.New(vm.Options{Clipboard: clip})
//	clip.SetContent("meeting notes") // the user copies something else
package cliptest

import "sync"

// Memory is an in-memory clipboard, safe for concurrent use; its zero value is empty and ready.
type Memory struct {
	mu sync.Mutex
	s  string
}

// Content returns what the clipboard holds.
func (m *Memory) Content() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.s
}

// SetContent replaces what the clipboard holds.
func (m *Memory) SetContent(s string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.s = s
}
