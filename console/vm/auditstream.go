package vm

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/watchword/watchword/shared/reltime"
	"github.com/watchword/watchword/shared/wire"
)

// Collectors is the audit streaming screen: the syslog collectors the hub streams the audit log to, each with the
// state of its stream, and the alerts of those whose backlog grew.
type Collectors struct {
	List   []wire.Collector
	Alerts []string
	At     time.Time
}

// LoadCollectors reads the collectors and their state.
func (a *App) LoadCollectors(ctx context.Context) (*Collectors, error) {
	api, err := a.client()
	if err != nil {
		return nil, err
	}
	list, err := api.Collectors(ctx)
	if err != nil {
		return nil, fmt.Errorf("audit collectors: %w", err)
	}
	out := &Collectors{List: list, At: time.Now()}
	for _, c := range list {
		if c.Alert != "" {
			out.Alerts = append(out.Alerts, c.Alert)
		}
	}
	return out, nil
}

// AddCollector asks the hub to stream the audit log to a syslog-over-TLS collector at address (host:port) whose
// certificate chains to caPEM, in format (wire.CollectorJSON or wire.CollectorCEF). Only the owner may.
func (a *App) AddCollector(ctx context.Context, name, address, caPEM, format string) error {
	req := wire.CollectorRequest{Name: strings.TrimSpace(name), Address: strings.TrimSpace(address), CAPEM: strings.TrimSpace(caPEM) + "\n", Format: format}
	switch {
	case req.Name == "":
		return errors.New("add audit collector: a name is required")
	case req.Address == "":
		return errors.New("add audit collector: an address (host:port) is required")
	case !strings.Contains(req.CAPEM, "BEGIN CERTIFICATE"):
		return errors.New("add audit collector: paste the collector's CA certificate (PEM)")
	}
	api, err := a.client()
	if err != nil {
		return err
	}
	if _, err := api.CreateCollector(ctx, req); err != nil {
		return fmt.Errorf("add audit collector %q: %w", req.Name, err)
	}
	return nil
}

// DeleteCollector stops streaming to a collector. Only the owner may.
func (a *App) DeleteCollector(ctx context.Context, c wire.Collector) error {
	api, err := a.client()
	if err != nil {
		return err
	}
	if err := api.DeleteCollector(ctx, c.ID); err != nil {
		return fmt.Errorf("delete audit collector %q: %w", c.Name, err)
	}
	return nil
}

// CollectorState is a collector's connection in words.
func CollectorState(c wire.Collector) string {
	switch {
	case c.Connected:
		return "Connected"
	case c.Error != "":
		return "Not connected: " + c.Error
	}
	return "Connecting…"
}

// CollectorSent is the newest event a collector took and how long ago, as of now.
func CollectorSent(c wire.Collector, now time.Time) string {
	if c.SentSeq == 0 {
		return "none yet"
	}
	s := fmt.Sprintf("#%d", c.SentSeq)
	if ago, ok := reltime.Recent(now, c.SentAt); ok {
		s += ", " + ago
	} else if !c.SentAt.IsZero() {
		s += ", " + c.SentAt.Local().Format("2006-01-02 15:04")
	}
	return s
}

// CollectorBacklog is the events waiting for a collector, with a warning from wire.CollectorBacklogAlert on.
func CollectorBacklog(c wire.Collector) string {
	if c.Backlog >= wire.CollectorBacklogAlert {
		return fmt.Sprintf("%d events ⚠", c.Backlog)
	}
	return fmt.Sprintf("%d events", c.Backlog)
}
