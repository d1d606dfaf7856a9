// Package loadtest drives a running Twofold server over real HTTP the way
// its users do, and reports what it achieved: `twofold loadtest`.
//
// It seeds users with confirmed authenticator apps through the admin API's
// bulk import (or reads a seed file of an earlier run), then runs one of
// three modes:
//
//   - signin: C clients in a closed loop sign in completely — the password,
//     then a current TOTP code — with users rotated so that no code is
//     presented twice;
//   - verify: the second-factor step alone, open loop at a fixed rate:
//     flows are prepared with passwords first, then verifications are sent
//     on a schedule, and each latency runs from its scheduled instant, so
//     queueing in the server counts;
//   - flood: C clients send wrong passwords as fast as they are answered.
//
// The report gives throughput, the password-hash bound of this machine
// measured in the same run (cores ÷ one argon2id hash at the server's
// parameters) and the ratio, latency percentiles of every step and of
// /healthz, every answer by status and code, the server's memory and CPU
// when it runs here (--server-pid), and the load client's own CPU.
package loadtest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twofold-id/twofold/internal/factor/totp"
	"github.com/twofold-id/twofold/internal/password"
)

// Config says what to run.
type Config struct {
	URL   string // base URL of the server
	Token string // admin session or API key (tfk_…) for seeding
	// SeedFrom reads users from a seed file instead of seeding; SeedTo
	// writes the seeded users to one.
	SeedFrom, SeedTo string
	Users            int    // users to seed
	ParentOrg        string // org to create the load-test org in (default: the token's own)
	Password         string // password of seeded users (random when empty)
	Mode             string // signin, verify or flood
	Clients          int
	Duration         time.Duration // the measured phase
	Warmup           time.Duration // before it, not measured (signin and flood)
	Rate             float64       // verify: verifications per second
	FlowTTL          time.Duration // verify: the server's --flow-ttl (default 5m)
	ServerPID        int           // server process on this machine, 0 when elsewhere
	// HashParams are the server's argon2id parameters: seeded hashes use
	// them (so a sign-in costs the server exactly one verification, no
	// rehash), and the bound is measured with them.
	HashParams password.Params
	BoundTime  time.Duration // how long each bound measurement takes
	// SpreadAddresses sends X-Forwarded-For with one address per user, as
	// if users came from many places. The server believes it only when the
	// load client is one of its trusted proxies (--trusted-proxies).
	SpreadAddresses bool
	Progress        io.Writer // progress lines; nil for none
}

func (c *Config) defaults() error {
	if c.URL == "" {
		return errors.New("the server's URL is required")
	}
	switch c.Mode {
	case "":
		c.Mode = "signin"
	case "signin", "verify", "flood":
	default:
		return fmt.Errorf("mode %q: want signin, verify or flood", c.Mode)
	}
	if c.Clients <= 0 {
		c.Clients = 16
	}
	if c.Duration <= 0 {
		c.Duration = 30 * time.Second
	}
	if c.Mode == "verify" && c.Rate <= 0 {
		c.Rate = 1000
	}
	if c.FlowTTL <= 0 {
		c.FlowTTL = 5 * time.Minute
	}
	if c.BoundTime <= 0 {
		c.BoundTime = 2 * time.Second
	}
	if c.HashParams == (password.Params{}) {
		c.HashParams = password.DefaultParams()
	}
	if c.SeedFrom == "" {
		if c.Token == "" {
			return errors.New("seeding needs an admin token (an API key or an admin's session); or give a seed file")
		}
		if c.Users <= 0 {
			c.Users = 3000
			if c.Mode == "verify" {
				c.Users = int(math.Ceil(c.Rate * c.Duration.Seconds()))
			}
		}
	}
	return nil
}

func (c Config) progress(format string, args ...any) {
	if c.Progress != nil {
		fmt.Fprintf(c.Progress, format+"\n", args...)
	}
}

// user is a seeded user as its phone and the load client know it.
type user struct {
	index  int
	name   string
	addr   string // X-Forwarded-For, or ""
	secret []byte
	busy   atomic.Bool
	// last is the newest time step this user presented a code for (or the
	// step of its import, which the server also refuses).
	last atomic.Int64
}

// pool hands out users whose next code the server will take.
type pool struct {
	users []*user
	next  atomic.Int64
	v     totp.Verifier
}

// claim returns a user that is not signing in and can present a fresh code
// now, marked busy; nil when none can (all used their codes of this step).
func (p *pool) claim() *user {
	now := p.v.Step(time.Now())
	for range len(p.users) {
		u := p.users[int(p.next.Add(1)-1)%len(p.users)]
		if u.last.Load() > now || !u.busy.CompareAndSwap(false, true) {
			continue
		}
		if u.last.Load() > now {
			u.busy.Store(false)
			continue
		}
		return u
	}
	return nil
}

// code returns the code of the earliest time step the server accepts that
// is newer than any this user presented — the current one, or the next
// (the server takes ±1 step, as for a phone whose clock runs ahead) — and
// records that step.
func (u *user) code(v totp.Verifier) string {
	step := max(u.last.Load()+1, v.Step(time.Now()))
	u.last.Store(step)
	return v.Code(u.secret, step)
}

// Run seeds (or reads the seed file), measures the bound, runs the mode and
// returns the report.
func Run(ctx context.Context, cfg Config) (r Report, err error) {
	if err := cfg.defaults(); err != nil {
		return Report{}, err
	}
	c := newClient(cfg.URL, cfg.Token, max(cfg.Clients*2, 64))
	r = Report{Mode: cfg.Mode, Target: c.base, StartedAt: time.Now().UTC(), Clients: cfg.Clients, DurationS: cfg.Duration.Seconds(),
		LoadBefore: loadAverage()}

	var sf SeedFile
	if cfg.SeedFrom != "" {
		if sf, err = readSeed(cfg.SeedFrom); err != nil {
			return r, err
		}
		r.Seeding = SeedStats{FromFile: cfg.SeedFrom, Users: len(sf.Users)}
	} else {
		cfg.progress("seeding %d users through %s/api/v1/users/import …", cfg.Users, c.base)
		if sf, r.Seeding, err = seed(ctx, c, cfg); err != nil {
			return r, err
		}
		cfg.progress("seeded %d users in %.1fs (%.0f/s) into org %s", r.Seeding.Users, r.Seeding.Seconds, r.Seeding.PerSecond, sf.Org)
	}
	r.Org, r.Users = sf.Org, len(sf.Users)
	p := &pool{v: totp.Default()}
	// The server refuses codes of the step of the import (a fresh seed
	// starts after the current step) and of steps a user already
	// presented (the seed file says which).
	now := p.v.Step(time.Now())
	for i, su := range sf.Users {
		secret, err := totp.DecodeSecret(su.Secret)
		if err != nil {
			return r, fmt.Errorf("seed user %s: %w", su.Username, err)
		}
		u := &user{index: i, name: su.Username, secret: secret}
		if cfg.SpreadAddresses {
			u.addr = addressOf(i + 1)
		}
		last := su.LastStep
		if cfg.SeedFrom == "" {
			last = now
		}
		u.last.Store(last)
		p.users = append(p.users, u)
	}
	// Whatever happens, the next run learns which steps this one used.
	if path := cmp.Or(cfg.SeedFrom, cfg.SeedTo); path != "" {
		defer func() {
			for i, u := range p.users {
				sf.Users[i].LastStep = u.last.Load()
			}
			if werr := writeSeed(path, sf); werr != nil && err == nil {
				err = werr
			}
		}()
	}

	cfg.progress("measuring the password-hash bound (%s) …", cfg.BoundTime)
	r.Bound = measureBound(ctx, cfg.HashParams, cfg.BoundTime)

	rec := newRecorder()
	var ops int
	var (
		watch    *serverWatch
		cpu0     time.Duration
		measured time.Duration
		started  = make(chan struct{})
	)
	hz := startHealthz(ctx, cfg.URL)
	defer hz.stop()
	// begin opens the measured window; the server's and the client's
	// costs are taken from its start.
	begin := func(from, to time.Time) {
		rec.window(from, to)
		hz.window(from, to)
		go func() {
			defer close(started)
			time.Sleep(time.Until(from))
			watch, cpu0 = watchServer(cfg.ServerPID), cpuTime()
		}()
	}
	switch cfg.Mode {
	case "signin":
		cfg.progress("signing in with %d clients for %s after %s of warm-up …", cfg.Clients, cfg.Duration, cfg.Warmup)
		r.WarmupS = cfg.Warmup.Seconds()
		r.UserWaits = runSignin(ctx, c, sf.Org, sf.Password, p, cfg, rec, begin)
		ops = rec.done
		measured = cfg.Duration
		r.ExpectedAns = []string{"login 200 mfa_required", "verify 200 authenticated"}
	case "flood":
		cfg.progress("sending wrong passwords with %d clients for %s after %s of warm-up …", cfg.Clients, cfg.Duration, cfg.Warmup)
		r.WarmupS = cfg.Warmup.Seconds()
		runFlood(ctx, c, sf.Org, p, cfg, rec, begin)
		ops = rec.done
		measured = cfg.Duration
		r.ExpectedAns = []string{"login 401 invalid_credentials", "login 429 (a limit)"}
	case "verify":
		r.Rate = cfg.Rate
		var prep time.Duration
		prep, measured, err = runVerify(ctx, c, sf.Org, sf.Password, p, cfg, rec, begin, &r.Notes)
		if err != nil {
			return r, err
		}
		r.PrepSeconds = prep.Seconds()
		ops = rec.done
		r.ExpectedAns = []string{"verify 200 authenticated"}
	}
	hz.stop()
	<-started
	if watch != nil {
		r.Server = watch.finish(ops)
		cpu := cpuTime() - cpu0
		r.Client = ClientStats{CPUSeconds: cpu.Seconds(), PercentOfOneCore: 100 * cpu.Seconds() / measured.Seconds()}
		if ops > 0 {
			r.Client.CPUMSPerOp = cpu.Seconds() * 1000 / float64(ops)
		}
	}
	cfg.progress("measuring the password-hash bound again …")
	r.BoundAfter = measureBound(ctx, cfg.HashParams, cfg.BoundTime)
	r.LoadAfter = loadAverage()

	r.Completed = rec.done
	r.DurationS = measured.Seconds()
	if measured > 0 {
		r.PerSecond = float64(rec.done) / measured.Seconds()
	}
	if bound := (r.Bound.PerSecond + r.BoundAfter.PerSecond) / 2; r.Mode == "signin" && bound > 0 {
		r.RatioToBound = r.PerSecond / bound
	}
	if par := (r.Bound.ParallelPerSecond + r.BoundAfter.ParallelPerSecond) / 2; r.Mode == "signin" && par > 0 {
		r.RatioToParallel = r.PerSecond / par
	}
	if r.Mode == "signin" && r.Server != nil && r.Server.CPUMSPerOp > 0 {
		r.CPURatio = (r.Bound.OneHashCPUMS + r.BoundAfter.OneHashCPUMS) / 2 / r.Server.CPUMSPerOp
	}
	for _, step := range []string{"login", "verify", "sign-in"} {
		if ds, ok := rec.lat[step]; ok {
			r.Steps = append(r.Steps, stats(step, ds))
		}
	}
	r.Healthz = stats("/healthz", hz.lat)
	if hz.failed > 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("/healthz failed %d times", hz.failed))
	}
	r.Answers, r.Errors = outcomes(rec.answers), outcomes(rec.errors)
	for _, e := range r.Errors {
		r.ErrorCount += e.Count
		if e.Code == "rate_limited" && cfg.Mode != "flood" {
			r.Notes = append(r.Notes, "rate_limited: the server limits requests per client address; run it with --trusted-proxies naming this machine so that each simulated user has its own address (X-Forwarded-For)")
		}
	}
	if r.Server == nil && cfg.ServerPID == 0 {
		r.Notes = append(r.Notes, "no --server-pid: the server's memory and CPU were not measured")
	}
	return r, nil
}

// runSignin runs the signin mode and returns how often a client found no
// user with a fresh code.
func runSignin(ctx context.Context, c *client, org, pw string, p *pool, cfg Config, rec *recorder, begin func(from, to time.Time)) int {
	start := time.Now()
	from := start.Add(cfg.Warmup)
	end := from.Add(cfg.Duration)
	begin(from, end)
	var waits atomic.Int64
	var wg sync.WaitGroup
	for range cfg.Clients {
		wg.Go(func() {
			for ctx.Err() == nil && time.Now().Before(end) {
				u := p.claim()
				if u == nil {
					waits.Add(1)
					sleepUntilNextStep(ctx, p.v, end)
					continue
				}
				signIn(ctx, c, org, pw, u, p.v, rec)
				u.busy.Store(false)
			}
		})
	}
	wg.Wait()
	return int(waits.Load())
}

// signIn signs u in completely and records both steps.
func signIn(ctx context.Context, c *client, org, pw string, u *user, v totp.Verifier, rec *recorder) {
	t0 := time.Now()
	a := c.call(ctx, http.MethodPost, "/api/v1/auth/login", "", u.addr, map[string]string{"org": org, "username": u.name, "password": pw})
	t1 := time.Now()
	ok := a.status == http.StatusOK && a.code == "mfa_required"
	rec.record("login", t1, t1.Sub(t0), a, ok)
	if !ok {
		return
	}
	b := c.call(ctx, http.MethodPost, "/api/v1/auth/verify", "", u.addr, map[string]string{"flow_token": a.str("flow_token"), "method": "totp", "code": u.code(v)})
	t2 := time.Now()
	ok = b.status == http.StatusOK && b.code == "authenticated"
	rec.record("verify", t2, t2.Sub(t1), b, ok)
	if ok {
		rec.complete("sign-in", t2, t2.Sub(t0))
	}
}

// runFlood sends wrong passwords for the seeded users, in turn.
func runFlood(ctx context.Context, c *client, org string, p *pool, cfg Config, rec *recorder, begin func(from, to time.Time)) {
	from := time.Now().Add(cfg.Warmup)
	end := from.Add(cfg.Duration)
	begin(from, end)
	var wg sync.WaitGroup
	for range cfg.Clients {
		wg.Go(func() {
			for ctx.Err() == nil && time.Now().Before(end) {
				u := p.users[int(p.next.Add(1)-1)%len(p.users)]
				t0 := time.Now()
				a := c.call(ctx, http.MethodPost, "/api/v1/auth/login", "", u.addr,
					map[string]string{"org": org, "username": u.name, "password": "not the password " + u.name})
				t1 := time.Now()
				ok := a.err == nil && (a.status == http.StatusUnauthorized && a.code == "invalid_credentials" || a.status == http.StatusTooManyRequests)
				rec.record("login", t1, t1.Sub(t0), a, ok)
				if ok {
					rec.complete("", t1, 0)
				}
			}
		})
	}
	wg.Wait()
}

// runVerify prepares one flow per verification with passwords (C clients,
// not measured), then sends the verifications at cfg.Rate, each at its
// scheduled instant whatever the server's pace (open loop), and measures
// each from that instant. It returns how long the preparation and the
// measured phase took.
func runVerify(ctx context.Context, c *client, org, pw string, p *pool, cfg Config, rec *recorder, begin func(from, to time.Time), notes *[]string) (time.Duration, time.Duration, error) {
	n := int(math.Ceil(cfg.Rate * cfg.Duration.Seconds()))
	if n > len(p.users) {
		return 0, 0, fmt.Errorf("the verify mode sends %d verifications (rate × duration), each for a user of its own; there are %d users (seed more with --users)", n, len(p.users))
	}
	// The users whose codes are usable soonest; wait until the step from
	// which all of them are (only after a run that just used them).
	users := slices.Clone(p.users)
	slices.SortStableFunc(users, func(a, b *user) int { return cmp.Compare(a.last.Load(), b.last.Load()) })
	users = users[:n]
	if ready := users[n-1].last.Load(); p.v.Step(time.Now()) < ready {
		at := time.Unix(ready*30, 0)
		cfg.progress("waiting %s for the users' next time step (an earlier run used their codes) …", time.Until(at).Round(time.Second))
		select {
		case <-ctx.Done():
			return 0, 0, ctx.Err()
		case <-time.After(time.Until(at)):
		}
	}
	type flow struct {
		u     *user
		token string
	}
	flows := make([]flow, n)
	prepStart := time.Now()
	cfg.progress("signing %d users in with their passwords, to verify them later …", n)
	// Flows expire (--flow-ttl on the server): preparation stops in time
	// for the first flow to be verified before it does.
	prepUntil := prepStart.Add(cfg.FlowTTL * 3 / 4)
	var next atomic.Int64
	var failed atomic.Int64
	var wg sync.WaitGroup
	for range cfg.Clients {
		wg.Go(func() {
			for ctx.Err() == nil && time.Now().Before(prepUntil) {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				u := users[i]
				for try := 0; ; try++ {
					a := c.call(ctx, http.MethodPost, "/api/v1/auth/login", "", u.addr, map[string]string{"org": org, "username": u.name, "password": pw})
					if a.status == http.StatusOK && a.code == "mfa_required" {
						flows[i] = flow{u: u, token: a.str("flow_token")}
						break
					}
					if try == 2 {
						failed.Add(1)
						break
					}
				}
			}
		})
	}
	wg.Wait()
	prep := time.Since(prepStart)
	if f := failed.Load(); f > 0 {
		return prep, 0, fmt.Errorf("%d of %d password sign-ins failed while preparing flows", f, n)
	}
	if ctx.Err() != nil {
		return prep, 0, ctx.Err()
	}
	ready := flows[:0]
	for _, f := range flows {
		if f.token != "" {
			ready = append(ready, f)
		}
	}
	if flows = ready; len(flows) < n {
		*notes = append(*notes, fmt.Sprintf("only %d of %d flows could be prepared within 3/4 of the flow lifetime (%s); the schedule was cut to %.1fs",
			len(flows), n, cfg.FlowTTL, float64(len(flows))/cfg.Rate))
		n = len(flows)
	}
	cfg.progress("sending %d verifications at %.0f/s …", n, cfg.Rate)
	start := time.Now().Add(100 * time.Millisecond)
	// Every answer counts, however late: the window closes long after the
	// schedule.
	begin(start, start.Add(time.Hour))
	interval := time.Duration(float64(time.Second) / cfg.Rate)
	var lastEnd atomic.Int64
	for k, f := range flows {
		at := start.Add(time.Duration(k) * interval)
		if d := time.Until(at); d > 0 {
			time.Sleep(d)
		}
		wg.Go(func() {
			b := c.call(ctx, http.MethodPost, "/api/v1/auth/verify", "", f.u.addr,
				map[string]string{"flow_token": f.token, "method": "totp", "code": f.u.code(p.v)})
			end := time.Now()
			ok := b.status == http.StatusOK && b.code == "authenticated"
			rec.record("verify", end, end.Sub(at), b, ok)
			if ok {
				rec.complete("", end, 0)
			}
			for {
				old := lastEnd.Load()
				if end.UnixNano() <= old || lastEnd.CompareAndSwap(old, end.UnixNano()) {
					break
				}
			}
		})
	}
	wg.Wait()
	return prep, time.Unix(0, lastEnd.Load()).Sub(start), nil
}

// sleepUntilNextStep waits for the next TOTP time step (or end).
func sleepUntilNextStep(ctx context.Context, v totp.Verifier, end time.Time) {
	now := time.Now()
	next := time.Unix((v.Step(now)+1)*30, 0)
	if next.After(end) {
		next = end
	}
	select {
	case <-ctx.Done():
	case <-time.After(time.Until(next)):
	}
}

// healthProbe asks /healthz every 100 ms on a connection of its own.
type healthProbe struct {
	mu       sync.Mutex
	from, to time.Time
	lat      []time.Duration
	failed   int
	cancel   context.CancelFunc
	done     chan struct{}
	once     sync.Once
}

func startHealthz(ctx context.Context, url string) *healthProbe {
	ctx, cancel := context.WithCancel(ctx)
	h := &healthProbe{cancel: cancel, done: make(chan struct{})}
	c := newClient(url, "", 2)
	go func() {
		defer close(h.done)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			d, ok := c.healthz(ctx)
			now := time.Now()
			h.mu.Lock()
			if !h.from.IsZero() && !now.Before(h.from) && now.Before(h.to) {
				if ok {
					h.lat = append(h.lat, d)
				} else if ctx.Err() == nil {
					h.failed++
				}
			}
			h.mu.Unlock()
		}
	}()
	return h
}

func (h *healthProbe) window(from, to time.Time) {
	h.mu.Lock()
	h.from, h.to = from, to
	h.mu.Unlock()
}

// stop ends the probing; it may be called more than once.
func (h *healthProbe) stop() {
	h.once.Do(func() {
		h.cancel()
		<-h.done
	})
}
