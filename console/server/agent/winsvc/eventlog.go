package winsvc

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
)

// EventSink is the part of a Windows event log the handler writes to; *eventlog.Log satisfies it.
type EventSink interface {
	Info(eid uint32, msg string) error
	Warning(eid uint32, msg string) error
	Error(eid uint32, msg string) error
}

// Event IDs, one per severity, so an administrator can filter the Application log by them.
const (
	EventInfo    uint32 = 1
	EventWarning uint32 = 2
	EventError   uint32 = 3
)

// NewHandler returns a slog handler that writes each record as one event: the message and its attributes in
// slog's text form (key=value, quoted where needed), without a time, which the event log records itself.
// Debug and Info become Information events, Warn a Warning, Error an Error.
func NewHandler(sink EventSink, opts *slog.HandlerOptions) slog.Handler {
	var o slog.HandlerOptions
	if opts != nil {
		o = *opts
	}
	replace := o.ReplaceAttr
	o.ReplaceAttr = func(groups []string, a slog.Attr) slog.Attr {
		if len(groups) == 0 && a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		if replace != nil {
			return replace(groups, a)
		}
		return a
	}
	buf := new(bytes.Buffer)
	return &eventHandler{sink: sink, mu: new(sync.Mutex), buf: buf, text: slog.NewTextHandler(buf, &o)}
}

// eventHandler formats with a TextHandler into a buffer it shares with its WithAttrs/WithGroup children, under
// one mutex, then hands the line to the sink.
type eventHandler struct {
	sink EventSink
	mu   *sync.Mutex
	buf  *bytes.Buffer
	text slog.Handler
}

var _ slog.Handler = (*eventHandler)(nil)

func (h *eventHandler) Enabled(ctx context.Context, l slog.Level) bool { return h.text.Enabled(ctx, l) }

func (h *eventHandler) Handle(ctx context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.buf.Reset()
	if err := h.text.Handle(ctx, r); err != nil {
		return err
	}
	msg := strings.TrimSuffix(h.buf.String(), "\n")
	switch {
	case r.Level >= slog.LevelError:
		return h.sink.Error(EventError, msg)
	case r.Level >= slog.LevelWarn:
		return h.sink.Warning(EventWarning, msg)
	}
	return h.sink.Info(EventInfo, msg)
}

func (h *eventHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &eventHandler{sink: h.sink, mu: h.mu, buf: h.buf, text: h.text.WithAttrs(as)}
}

func (h *eventHandler) WithGroup(name string) slog.Handler {
	return &eventHandler{sink: h.sink, mu: h.mu, buf: h.buf, text: h.text.WithGroup(name)}
}
