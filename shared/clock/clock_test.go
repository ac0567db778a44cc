package clock_test

import (
	"context"
	"testing"
	"time"

	"github.com/watchword/watchword/shared/clock"
)

func TestSleepWaitsForTheDuration(t *testing.T) {
	start := time.Now()
	if !clock.Sleep(context.Background(), 20*time.Millisecond) {
		t.Fatal("Sleep without a cancel reported it was cut short")
	}
	if got := time.Since(start); got < 20*time.Millisecond {
		t.Fatalf("Sleep(20ms) returned after %v", got)
	}
}

func TestSleepEndsWithItsContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(10 * time.Millisecond); cancel() }()
	done := make(chan bool)
	go func() { done <- clock.Sleep(ctx, time.Hour) }()
	select {
	case full := <-done:
		if full {
			t.Fatal("Sleep cut short by its context reported the whole wait")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Sleep(1h) did not end when its context was cancelled")
	}
}

func TestSleepNonPositive(t *testing.T) {
	if !clock.Sleep(context.Background(), 0) {
		t.Fatal("Sleep(0) on a live context reported it was cut short")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if clock.Sleep(ctx, 0) || clock.Sleep(ctx, time.Hour) {
		t.Fatal("Sleep on an ended context reported the whole wait")
	}
}
