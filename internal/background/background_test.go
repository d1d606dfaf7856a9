package background

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

func TestDrainWaitsForRunningTasksAndRefusesNewOnes(t *testing.T) {
	g := New(nil, time.Minute)
	release := make(chan struct{})
	var done atomic.Int32
	for range 3 {
		g.Go(context.Background(), "slow", func(ctx context.Context) { <-release; done.Add(1) })
	}
	drained := make(chan bool)
	go func() { drained <- g.Drain(context.Background()) }()
	select {
	case <-drained:
		t.Fatal("Drain returned while tasks were running")
	case <-time.After(50 * time.Millisecond):
	}
	if g.Go(context.Background(), "late", func(context.Context) { done.Add(100) }) {
		t.Error("a task was accepted after Drain began")
	}
	close(release)
	if !<-drained {
		t.Fatal("Drain reported unfinished tasks")
	}
	if n := done.Load(); n != 3 {
		t.Fatalf("%d tasks done, want 3 (and the late one never run)", n)
	}
}

func TestDrainGivesUpAtItsDeadline(t *testing.T) {
	g := New(nil, time.Minute)
	block := make(chan struct{})
	defer close(block)
	g.Go(context.Background(), "stuck", func(ctx context.Context) { <-block })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if g.Drain(ctx) {
		t.Fatal("Drain reported success with a task still running")
	}
}

func TestTasksOutliveTheRequestButNotTheirTimeout(t *testing.T) {
	g := New(nil, 30*time.Millisecond)
	req, cancel := context.WithCancel(context.Background())
	got := make(chan error, 1)
	g.Go(req, "notice", func(ctx context.Context) {
		cancel() // the request ends while the task runs
		select {
		case <-ctx.Done():
			got <- ctx.Err()
		case <-time.After(time.Second):
			got <- nil
		}
	})
	if err := <-got; err != context.DeadlineExceeded {
		t.Fatalf("task context ended with %v, want the group's deadline (not the request's cancellation)", err)
	}
	g.Drain(context.Background())
}
