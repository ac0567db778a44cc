//go:build windows

package secretclip

import (
	"errors"
	"fmt"
	"runtime"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
)

const excludes = true

var (
	user32   = windows.NewLazySystemDLL("user32.dll")
	kernel32 = windows.NewLazySystemDLL("kernel32.dll")

	procOpenClipboard           = user32.NewProc("OpenClipboard")
	procCloseClipboard          = user32.NewProc("CloseClipboard")
	procEmptyClipboard          = user32.NewProc("EmptyClipboard")
	procSetClipboardData        = user32.NewProc("SetClipboardData")
	procRegisterClipboardFormat = user32.NewProc("RegisterClipboardFormatW")
	procGlobalAlloc             = kernel32.NewProc("GlobalAlloc")
	procGlobalLock              = kernel32.NewProc("GlobalLock")
	procGlobalUnlock            = kernel32.NewProc("GlobalUnlock")
	procGlobalFree              = kernel32.NewProc("GlobalFree")
	procMoveMemory              = kernel32.NewProc("RtlMoveMemory")
)

const (
	cfUnicodeText = 13
	gmemMoveable  = 0x0002
)

// The registered formats Windows' clipboard history, cloud clipboard and well-behaved clipboard monitors look for
// (learn.microsoft.com, "Clipboard Formats", Cloud Clipboard and Clipboard History Formats).
const (
	formatExcludeFromMonitors = "ExcludeClipboardContentFromMonitorProcessing"
	formatHistory             = "CanIncludeInClipboardHistory"
	formatCloud               = "CanUploadToCloudClipboard"
)

// setExcluded replaces the clipboard with s (nothing when s is empty) and the exclusion formats, in one
// transaction.
func setExcluded(s string) error {
	text, err := windows.UTF16FromString(s)
	if err != nil {
		return err
	}
	// The clipboard is opened and closed by a thread: keep this goroutine on one.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := openClipboard(); err != nil {
		return err
	}
	defer procCloseClipboard.Call()
	if r, _, err := procEmptyClipboard.Call(); r == 0 {
		return fmt.Errorf("empty clipboard: %w", err)
	}
	if s == "" {
		return nil
	}
	zero := []byte{0, 0, 0, 0} // a DWORD 0: "no" for the history and the cloud
	for _, f := range []struct {
		name string
		data []byte
	}{{formatExcludeFromMonitors, zero}, {formatHistory, zero}, {formatCloud, zero}} {
		id, err := registerFormat(f.name)
		if err != nil {
			return err
		}
		if err := setData(id, f.data); err != nil {
			return fmt.Errorf("clipboard format %s: %w", f.name, err)
		}
	}
	b := unsafe.Slice((*byte)(unsafe.Pointer(&text[0])), len(text)*2)
	err = setData(cfUnicodeText, b)
	wipe(b)
	return err
}

// openClipboard opens the clipboard for this thread, retrying briefly while another program holds it.
func openClipboard() error {
	var err error
	for range 5 {
		var r uintptr
		if r, _, err = procOpenClipboard.Call(0); r != 0 {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("open clipboard: %w", err)
}

func registerFormat(name string) (uintptr, error) {
	p, err := windows.UTF16PtrFromString(name)
	if err != nil {
		return 0, err
	}
	id, _, err := procRegisterClipboardFormat.Call(uintptr(unsafe.Pointer(p)))
	if id == 0 {
		return 0, fmt.Errorf("register clipboard format %s: %w", name, err)
	}
	return id, nil
}

// setData hands a global copy of data to the clipboard, which owns it once SetClipboardData succeeds.
func setData(format uintptr, data []byte) error {
	h, _, err := procGlobalAlloc.Call(gmemMoveable, uintptr(len(data)))
	if h == 0 {
		return fmt.Errorf("global alloc: %w", err)
	}
	p, _, err := procGlobalLock.Call(h)
	if p == 0 {
		procGlobalFree.Call(h)
		return fmt.Errorf("global lock: %w", err)
	}
	// The global block is the system's memory, not Go's: copy into it by address.
	procMoveMemory.Call(p, uintptr(unsafe.Pointer(&data[0])), uintptr(len(data)))
	procGlobalUnlock.Call(h)
	if r, _, err := procSetClipboardData.Call(format, h); r == 0 {
		procGlobalFree.Call(h)
		if err == nil || errors.Is(err, windows.ERROR_SUCCESS) {
			err = errors.New("refused")
		}
		return fmt.Errorf("set clipboard data: %w", err)
	}
	return nil
}
