package loadtest

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/twofold-id/twofold/internal/password"
)

// A HashBound is how many password checks per second this machine can do
// at the server's argon2id parameters: the ceiling of full sign-ins,
// which each cost one hash.
type HashBound struct {
	Params string `json:"params"`
	Cores  int    `json:"cores"`
	// OneHashMS is the median time of one hash computed alone.
	OneHashMS float64 `json:"one_hash_ms"`
	// OneHashCPUMS is the CPU time one hash took (this process's CPU time
	// over the hashes computed alone): unlike OneHashMS, it hardly changes
	// when other work shares the machine.
	OneHashCPUMS float64 `json:"one_hash_cpu_ms"`
	// PerSecond is the bound: Cores ÷ one hash time.
	PerSecond float64 `json:"per_second"`
	// ParallelPerSecond is what Cores goroutines hashing at once achieved
	// (lower when the cores share memory bandwidth or other work runs).
	ParallelPerSecond float64 `json:"parallel_per_second"`
}

// measureBound measures the bound for about d: half hashing alone, half on
// every core at once.
func measureBound(ctx context.Context, p password.Params, d time.Duration) HashBound {
	cores := runtime.NumCPU()
	pw, salt := []byte("load-test password"), make([]byte, p.SaltLen)
	rand.Read(salt)
	hash := func() { argon2.IDKey(pw, salt, p.Time, p.Memory, p.Threads, p.KeyLen) }

	var alone []time.Duration
	until := time.Now().Add(d / 2)
	cpu0 := cpuTime()
	for len(alone) < 3 || time.Now().Before(until) && ctx.Err() == nil {
		t := time.Now()
		hash()
		alone = append(alone, time.Since(t))
	}
	cpuEach := (cpuTime() - cpu0) / time.Duration(len(alone))
	slices.Sort(alone)
	one := alone[len(alone)/2]

	var n atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	until = start.Add(d / 2)
	for range cores {
		wg.Go(func() {
			for time.Now().Before(until) && ctx.Err() == nil {
				hash()
				n.Add(1)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	return HashBound{
		Params:            fmt.Sprintf("argon2id m=%d KiB, t=%d, p=%d", p.Memory, p.Time, p.Threads),
		Cores:             cores,
		OneHashMS:         ms(one),
		OneHashCPUMS:      ms(cpuEach),
		PerSecond:         float64(cores) / one.Seconds(),
		ParallelPerSecond: float64(n.Load()) / elapsed.Seconds(),
	}
}

// cpuTime is the CPU time (user and system) this process used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// procStatus returns VmHWM (peak resident memory) and VmRSS of process pid
// in KiB, from /proc/PID/status (Linux).
func procStatus(pid int) (hwm, rss int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		n, _ := strconv.ParseInt(f[0], 10, 64)
		switch k {
		case "VmHWM":
			hwm = n
		case "VmRSS":
			rss = n
		}
	}
	return hwm, rss, nil
}

// clockTicks is USER_HZ, the unit of CPU times in /proc/PID/stat: 100 on
// every Linux architecture Go supports.
const clockTicks = 100

// procCPU returns the CPU time (user and system) process pid used so far,
// from /proc/PID/stat.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may hold spaces.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	f := strings.Fields(s[i+1:])
	// After the name: state is field 3, utime field 14, stime field 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / clockTicks, nil
}

// serverWatch samples the server process's memory while the load runs.
type serverWatch struct {
	pid      int
	cpu0     time.Duration
	maxRSS   atomic.Int64
	samples  atomic.Int64
	stop     chan struct{}
	stopped  chan struct{}
	firstErr error
}

func watchServer(pid int) *serverWatch {
	w := &serverWatch{pid: pid, stop: make(chan struct{}), stopped: make(chan struct{})}
	if pid <= 0 {
		close(w.stopped)
		return w
	}
	w.cpu0, w.firstErr = procCPU(pid)
	go func() {
		defer close(w.stopped)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			if _, rss, err := procStatus(pid); err == nil {
				w.samples.Add(1)
				if rss > w.maxRSS.Load() {
					w.maxRSS.Store(rss)
				}
			}
			select {
			case <-w.stop:
				return
			case <-t.C:
			}
		}
	}()
	return w
}

// finish stops sampling and returns what was seen; ops is the number of
// completed operations, for the CPU time per operation.
func (w *serverWatch) finish(ops int) *ServerStats {
	if w.pid <= 0 {
		return nil
	}
	close(w.stop)
	<-w.stopped
	s := &ServerStats{PID: w.pid}
	if w.firstErr != nil {
		s.Error = w.firstErr.Error()
		return s
	}
	hwm, _, err := procStatus(w.pid)
	if err != nil {
		s.Error = err.Error()
		return s
	}
	cpu, _ := procCPU(w.pid)
	s.PeakRSSMiB = float64(hwm) / 1024
	s.MaxSampledRSSMiB = float64(w.maxRSS.Load()) / 1024
	s.Samples = int(w.samples.Load())
	s.CPUSeconds = (cpu - w.cpu0).Seconds()
	if ops > 0 {
		s.CPUMSPerOp = s.CPUSeconds * 1000 / float64(ops)
	}
	return s
}

// loadAverage returns /proc/loadavg's three averages, or nil.
func loadAverage() []float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return nil
	}
	f := strings.Fields(string(b))
	var out []float64
	for i := 0; i < 3 && i < len(f); i++ {
		v, _ := strconv.ParseFloat(f[i], 64)
		out = append(out, v)
	}
	return out
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
