package loadtest

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
)

// A Report is the outcome of one load-test run. Its JSON form (--json) is
// stable; its text form is for people.
type Report struct {
	Mode      string    `json:"mode"` // signin, verify or flood
	Target    string    `json:"target"`
	StartedAt time.Time `json:"started_at"`
	Clients   int       `json:"clients"`
	// Rate is the scheduled rate of the verify mode (requests/s).
	Rate      float64 `json:"rate,omitempty"`
	WarmupS   float64 `json:"warmup_s"`
	DurationS float64 `json:"duration_s"` // the measured phase
	Users     int     `json:"users"`
	Org       string  `json:"org"`
	// LoadBefore and LoadAfter are the machine's load averages (1, 5,
	// 15 min): other work on the machine shows here.
	LoadBefore []float64 `json:"load_average_before"`
	LoadAfter  []float64 `json:"load_average_after"`
	Seeding    SeedStats `json:"seeding"`
	// Bound is measured before the load, BoundAfter after it; the ratio
	// uses their mean.
	Bound      HashBound `json:"hash_bound"`
	BoundAfter HashBound `json:"hash_bound_after"`
	// Completed counts the operations that succeeded in the measured phase
	// (sign-ins, verifications, or refused wrong passwords); PerSecond is
	// Completed over its duration.
	Completed    int     `json:"completed"`
	PerSecond    float64 `json:"per_second"`
	RatioToBound float64 `json:"ratio_to_bound"`
	// RatioToParallel compares with what all cores hashing at once
	// achieved: on a machine shared with other work, which takes its share
	// of the cores from the server and the measurement alike, it is the
	// fairer comparison.
	RatioToParallel float64 `json:"ratio_to_parallel"`
	// CPURatio is the CPU time of one hash over the server's CPU time per
	// sign-in (with --server-pid): the share of the server's work that is
	// the password hash, whatever else runs on the machine. At 1.0 the
	// server spends nothing beside the hash; its throughput on idle cores
	// would be the bound times this ratio.
	CPURatio float64 `json:"cpu_ratio,omitempty"`
	// PrepSeconds is how long the verify mode took to sign users in with
	// their passwords before the timed verifications.
	PrepSeconds float64      `json:"prep_s,omitempty"`
	Steps       []StepStats  `json:"steps"`
	Answers     []Outcome    `json:"answers"`
	Errors      []Outcome    `json:"errors"`
	ErrorCount  int          `json:"error_count"`
	Healthz     StepStats    `json:"healthz"`
	Server      *ServerStats `json:"server,omitempty"`
	Client      ClientStats  `json:"client"`
	UserWaits   int          `json:"user_pool_waits"`
	Notes       []string     `json:"notes,omitempty"`
	ExpectedAns []string     `json:"expected_answers"`
}

// StepStats are the latencies of one step, in milliseconds.
type StepStats struct {
	Name   string  `json:"name"`
	Count  int     `json:"count"`
	MeanMS float64 `json:"mean_ms"`
	P50MS  float64 `json:"p50_ms"`
	P95MS  float64 `json:"p95_ms"`
	P99MS  float64 `json:"p99_ms"`
	MaxMS  float64 `json:"max_ms"`
}

// An Outcome counts the answers of one kind: a step, an HTTP status (0 when
// no answer came) and the API's error code or sign-in status.
type Outcome struct {
	Step   string `json:"step"`
	Status int    `json:"status"`
	Code   string `json:"code"`
	Count  int    `json:"count"`
}

// ServerStats describe the server process when it runs on this machine
// (--server-pid).
type ServerStats struct {
	PID int `json:"pid"`
	// PeakRSSMiB is VmHWM: the most resident memory the process ever had,
	// seeding included. MaxSampledRSSMiB is the most seen while the load
	// ran (VmRSS sampled every 100 ms).
	PeakRSSMiB       float64 `json:"peak_rss_mib"`
	MaxSampledRSSMiB float64 `json:"max_sampled_rss_mib"`
	Samples          int     `json:"samples"`
	CPUSeconds       float64 `json:"cpu_s"`
	CPUMSPerOp       float64 `json:"cpu_ms_per_op"`
	Error            string  `json:"error,omitempty"`
}

// ClientStats are the load client's own costs during the measured phase.
type ClientStats struct {
	CPUSeconds       float64 `json:"cpu_s"`
	PercentOfOneCore float64 `json:"percent_of_one_core"`
	CPUMSPerOp       float64 `json:"cpu_ms_per_op"`
}

// SeedStats say how the users came to be.
type SeedStats struct {
	FromFile  string  `json:"from_file,omitempty"`
	Users     int     `json:"users"`
	Seconds   float64 `json:"seconds"`
	PerSecond float64 `json:"per_second"`
	Hashes    int     `json:"hashes"` // argon2id hashes the load client computed
}

// recorder collects latencies and answers from many goroutines; only
// requests that end inside the measured window [from, to) count.
type recorder struct {
	mu       sync.Mutex
	from, to time.Time
	lat      map[string][]time.Duration
	answers  map[Outcome]int
	errors   map[Outcome]int
	done     int
}

func newRecorder() *recorder {
	return &recorder{lat: map[string][]time.Duration{}, answers: map[Outcome]int{}, errors: map[Outcome]int{}}
}

func (r *recorder) window(from, to time.Time) {
	r.mu.Lock()
	r.from, r.to = from, to
	r.mu.Unlock()
}

// in reports whether t is inside the measured window.
func (r *recorder) in(t time.Time) bool {
	return !t.Before(r.from) && t.Before(r.to)
}

// record counts one answer of step that took d and ended at end; expected
// says whether it is the answer this mode wants.
func (r *recorder) record(step string, end time.Time, d time.Duration, a answer, expected bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.in(end) {
		return
	}
	r.lat[step] = append(r.lat[step], d)
	k := Outcome{Step: step, Status: a.status, Code: a.code}
	if a.err != nil {
		k.Status, k.Code = 0, "transport: "+shortErr(a.err)
	}
	r.answers[k]++
	if !expected {
		r.errors[k]++
	}
}

// complete counts one finished operation (a whole sign-in) that took d.
func (r *recorder) complete(step string, end time.Time, d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.in(end) {
		return
	}
	r.done++
	if step != "" {
		r.lat[step] = append(r.lat[step], d)
	}
}

// stats returns the latency statistics of a list of durations.
func stats(name string, ds []time.Duration) StepStats {
	s := StepStats{Name: name, Count: len(ds)}
	if len(ds) == 0 {
		return s
	}
	ds = slices.Clone(ds)
	slices.Sort(ds)
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	at := func(q float64) float64 {
		i := int(q*float64(len(ds))+0.5) - 1
		return ms(ds[max(0, min(i, len(ds)-1))])
	}
	s.MeanMS = ms(sum / time.Duration(len(ds)))
	s.P50MS, s.P95MS, s.P99MS, s.MaxMS = at(0.50), at(0.95), at(0.99), ms(ds[len(ds)-1])
	return s
}

// outcomes lists counted outcomes, most frequent first.
func outcomes(m map[Outcome]int) []Outcome {
	out := make([]Outcome, 0, len(m))
	for k, n := range m {
		k.Count = n
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b Outcome) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Step, b.Step), cmp.Compare(a.Status, b.Status), cmp.Compare(a.Code, b.Code))
	})
	return out
}

var modeTitles = map[string]string{
	"signin": "full sign-in (password, then a current TOTP code)",
	"verify": "second-factor step alone, open loop at a fixed rate",
	"flood":  "flood of wrong passwords",
}

// Print writes the report for people.
func (r Report) Print(w io.Writer) {
	fmt.Fprintf(w, "Twofold load test: %s\n", modeTitles[r.Mode])
	fmt.Fprintf(w, "  target %s, org %s, %d users (%s)\n", r.Target, r.Org, r.Users, seedText(r.Seeding))
	switch r.Mode {
	case "verify":
		fmt.Fprintf(w, "  %.0f verifications/s scheduled for %.1fs (%.1fs of password sign-ins before, to get the flows)\n", r.Rate, r.DurationS, r.PrepSeconds)
	default:
		fmt.Fprintf(w, "  %d clients for %.1fs after a %.1fs warm-up\n", r.Clients, r.DurationS, r.WarmupS)
	}
	fmt.Fprintf(w, "  machine: %d cores; load average %s before, %s after\n\n", r.Bound.Cores, loadText(r.LoadBefore), loadText(r.LoadAfter))

	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	unit := map[string]string{"signin": "sign-ins/s", "verify": "verifications/s", "flood": "refused sign-ins/s"}[r.Mode]
	fmt.Fprintf(tw, "throughput\t%.1f %s (%d in %.1fs)\n", r.PerSecond, unit, r.Completed, r.DurationS)
	fmt.Fprintf(tw, "hash bound\t%.1f/s before, %.1f/s after: %d cores ÷ one hash (%.1f ms, %.1f ms; %s); all cores at once did %.1f/s, %.1f/s\n",
		r.Bound.PerSecond, r.BoundAfter.PerSecond, r.Bound.Cores, r.Bound.OneHashMS, r.BoundAfter.OneHashMS, r.Bound.Params,
		r.Bound.ParallelPerSecond, r.BoundAfter.ParallelPerSecond)
	if r.Mode == "signin" {
		fmt.Fprintf(tw, "ratio\t%.2f of the bound (%.2f of what all cores hashing at once achieved)\n", r.RatioToBound, r.RatioToParallel)
		if r.CPURatio > 0 {
			fmt.Fprintf(tw, "CPU ratio\t%.2f: one hash takes %.1f ms of CPU, the server spent %.1f ms of CPU per sign-in\n",
				r.CPURatio, (r.Bound.OneHashCPUMS+r.BoundAfter.OneHashCPUMS)/2, r.Server.CPUMSPerOp)
		}
	}
	tw.Flush()
	fmt.Fprintln(w)

	tw = tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "step\tcount\tmean\tp50\tp95\tp99\tmax\t")
	for _, s := range append(slices.Clone(r.Steps), r.Healthz) {
		fmt.Fprintf(tw, "%s\t%d\t%.1fms\t%.1fms\t%.1fms\t%.1fms\t%.1fms\t\n", s.Name, s.Count, s.MeanMS, s.P50MS, s.P95MS, s.P99MS, s.MaxMS)
	}
	tw.Flush()
	fmt.Fprintln(w)

	fmt.Fprintf(w, "answers (expected: %s)\n", strings.Join(r.ExpectedAns, ", "))
	for _, o := range r.Answers {
		fmt.Fprintf(w, "  %-8s %3d %-28s %d\n", o.Step, o.Status, o.Code, o.Count)
	}
	if r.ErrorCount == 0 {
		fmt.Fprintln(w, "errors: none")
	} else {
		fmt.Fprintf(w, "errors: %d\n", r.ErrorCount)
		for _, o := range r.Errors {
			fmt.Fprintf(w, "  %-8s %3d %-28s %d\n", o.Step, o.Status, o.Code, o.Count)
		}
	}
	if s := r.Server; s != nil {
		if s.Error != "" {
			fmt.Fprintf(w, "server pid %d: %s\n", s.PID, s.Error)
		} else {
			fmt.Fprintf(w, "server pid %d: peak RSS %.1f MiB (VmHWM, whole life), %.1f MiB at most while loaded; CPU %.1fs (%.2f ms per operation)\n",
				s.PID, s.PeakRSSMiB, s.MaxSampledRSSMiB, s.CPUSeconds, s.CPUMSPerOp)
		}
	}
	fmt.Fprintf(w, "load client: CPU %.1fs (%.0f%% of one core, %.2f ms per operation)\n", r.Client.CPUSeconds, r.Client.PercentOfOneCore, r.Client.CPUMSPerOp)
	if r.UserWaits > 0 {
		fmt.Fprintf(w, "user pool: clients waited %d times for a user with a fresh code (seed more users)\n", r.UserWaits)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
}

func seedText(s SeedStats) string {
	if s.FromFile != "" {
		return "from " + s.FromFile
	}
	return fmt.Sprintf("seeded in %.1fs, %.0f/s, %d hashes", s.Seconds, s.PerSecond, s.Hashes)
}

func loadText(l []float64) string {
	var parts []string
	for _, v := range l {
		parts = append(parts, fmt.Sprintf("%.2f", v))
	}
	return strings.Join(parts, " ")
}
