// Package background owns work that outlives the request that started it —
// security notices, today — so that shutdown can wait for it instead of
// losing it. A Group runs each task in its own goroutine with a deadline;
// Drain stops new work and waits for what runs, up to a deadline of its own.
package background

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Group runs background tasks. The zero value is not usable; use New.
type Group struct {
	log     *slog.Logger
	timeout time.Duration

	mu       sync.Mutex
	draining bool
	wg       sync.WaitGroup
}

// New returns a Group whose tasks each get at most timeout (30 s when 0).
func New(log *slog.Logger, timeout time.Duration) *Group {
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Group{log: log, timeout: timeout}
}

// Go runs task in the background with a context that carries the values of
// ctx but not its cancellation (the request may be over), bounded by the
// group's timeout. After Drain has begun, Go runs nothing and reports false;
// the task is logged as dropped.
func (g *Group) Go(ctx context.Context, name string, task func(ctx context.Context)) bool {
	g.mu.Lock()
	if g.draining {
		g.mu.Unlock()
		g.log.Warn("background: shutting down, task dropped", "task", name)
		return false
	}
	g.wg.Add(1)
	g.mu.Unlock()
	ctx = context.WithoutCancel(ctx)
	go func() {
		defer g.wg.Done()
		ctx, cancel := context.WithTimeout(ctx, g.timeout)
		defer cancel()
		task(ctx)
	}()
	return true
}

// Drain stops accepting tasks and waits until the running ones end or ctx
// is done; it reports whether every task ended.
func (g *Group) Drain(ctx context.Context) bool {
	g.mu.Lock()
	g.draining = true
	g.mu.Unlock()
	done := make(chan struct{})
	go func() { g.wg.Wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-ctx.Done():
		g.log.Warn("background: tasks still running at the shutdown deadline")
		return false
	}
}
