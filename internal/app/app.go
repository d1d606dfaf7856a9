// Package app builds a Twofold server from its configuration: the store,
// the encryption keys, the password hasher, the services and the HTTP
// handlers. It starts the server and stops it gracefully. This is the one
// place where the parts are wired together.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/twofold-id/twofold/internal/admin"
	"github.com/twofold-id/twofold/internal/audit"
	"github.com/twofold-id/twofold/internal/background"
	"github.com/twofold-id/twofold/internal/config"
	"github.com/twofold-id/twofold/internal/directory"
	"github.com/twofold-id/twofold/internal/factor/backup"
	"github.com/twofold-id/twofold/internal/factor/totp"
	"github.com/twofold-id/twofold/internal/metrics"
	"github.com/twofold-id/twofold/internal/password"
	"github.com/twofold-id/twofold/internal/policy"
	"github.com/twofold-id/twofold/internal/ratelimit"
	"github.com/twofold-id/twofold/internal/reqid"
	"github.com/twofold-id/twofold/internal/secretbox"
	"github.com/twofold-id/twofold/internal/signin"
	"github.com/twofold-id/twofold/internal/store"
	"github.com/twofold-id/twofold/internal/store/postgres"
	"github.com/twofold-id/twofold/internal/store/sqlite"
	"github.com/twofold-id/twofold/internal/tracing"
	"github.com/twofold-id/twofold/internal/version"
)

// App is a wired Twofold instance.
type App struct {
	Config config.Config
	Log    *slog.Logger
	Store  store.Store
	Keys   *secretbox.Keyring
	Hasher *password.Hasher
	Audit  *audit.Logger
	Signin *signin.Service
	Admin  *admin.Service
	// Directory checks directory users' passwords (LDAP) and keeps the
	// pooled connections.
	Directory *directory.Service
	Now       func() time.Time
	Backend   string // "sqlite" or "postgres"
	// Background owns work that outlives its request (security notices);
	// Serve's shutdown and Close drain it.
	Background *background.Group
	// Metrics are served by MetricsHandler on --metrics-listen.
	Metrics *metrics.Metrics

	tracer *tracing.Tracer // nil unless --otel-endpoint is set

	// Limits keeps the per-address request limits (limits.go).
	Limits   ratelimit.Backend
	redis    *redis.Client // nil unless --redis-url is set
	draining atomic.Bool   // set when Serve begins to stop; /readyz answers 503

	sealer signin.Keys  // seals secrets at rest (the keys, reloading their file)
	oidc   providerOnce // the OpenID Connect provider, built at first use
}

// Options adjust how Open builds the App.
type Options struct {
	// Now replaces the clock (tests).
	Now func() time.Time
	// PasswordParams replaces the argon2id parameters from the config
	// (tests use cheap ones).
	PasswordParams *password.Params
	// BackupParams likewise for backup-code hashing.
	BackupParams *backup.Params
	// RedisPrefix replaces the prefix of the Redis keys (tests sharing
	// one Redis).
	RedisPrefix string
}

// NewLogger returns the process logger described by cfg. Lines logged with
// a request's context carry its request id.
func NewLogger(cfg config.Config, w *os.File) *slog.Logger {
	var level slog.Level
	level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "text" {
		return slog.New(reqid.Handler(slog.NewTextHandler(w, opts)))
	}
	return slog.New(reqid.Handler(slog.NewJSONHandler(w, opts)))
}

// OpenStore opens (and migrates) the store that cfg selects.
func OpenStore(ctx context.Context, cfg config.Config) (store.Store, string, error) {
	return openStore(ctx, cfg, nil, time.Now)
}

// openStore is OpenStore with a hook on every PostgreSQL query and the
// store's clock.
func openStore(ctx context.Context, cfg config.Config, hook store.QueryHook, now func() time.Time) (store.Store, string, error) {
	if cfg.DatabaseURL != "" {
		st, err := postgres.OpenWith(ctx, cfg.DatabaseURL, postgres.Options{QueryHook: hook, Now: now, MaxConns: cfg.DBMaxConns})
		if err != nil {
			return nil, "", fmt.Errorf("open PostgreSQL: %w", err)
		}
		if err := st.Migrate(ctx); err != nil {
			st.Close()
			return nil, "", fmt.Errorf("migrate PostgreSQL: %w", err)
		}
		return st, "postgres", nil
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, "", fmt.Errorf("create data directory: %w", err)
	}
	st, err := sqlite.OpenWith(ctx, cfg.SQLitePath(), sqlite.Options{Now: now})
	if err != nil {
		return nil, "", fmt.Errorf("open SQLite: %w", err)
	}
	if err := st.Migrate(ctx); err != nil {
		st.Close()
		return nil, "", fmt.Errorf("migrate SQLite: %w", err)
	}
	return st, "sqlite", nil
}

// LoadKeys returns the encryption keys: from TWOFOLD_SECRET_KEY when set,
// otherwise from the key file, which is created (0600) on first start.
func LoadKeys(cfg config.Config) (*secretbox.Keyring, error) {
	if cfg.SecretKey != "" {
		return secretbox.FromEnv(cfg.SecretKey)
	}
	if cfg.DatabaseURL != "" && cfg.KeyFile == "" {
		if _, err := os.Stat(cfg.KeyFilePath()); errors.Is(err, os.ErrNotExist) {
			// Several instances must share one key: creating a fresh one per
			// instance would make secrets unreadable on the others.
			return nil, errors.New("with PostgreSQL, give every instance the same key: set TWOFOLD_SECRET_KEY or --key-file (create one with `twofold keys init --key-file FILE`)")
		}
	}
	return secretbox.LoadOrCreate(cfg.KeyFilePath())
}

// Open builds an App from cfg: it opens and migrates the store and loads
// the keys.
func Open(ctx context.Context, cfg config.Config, log *slog.Logger, o Options) (*App, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	log = slog.New(reqid.Handler(log.Handler()))
	m := metrics.New(version.String())
	tr, err := tracing.New(cfg.OTelEndpoint, version.String())
	if err != nil {
		return nil, err
	}
	st, backend, err := openStore(ctx, cfg, m.QueryHook(tr.QueryHook()), o.Now)
	if err != nil {
		tr.Shutdown(ctx)
		return nil, err
	}
	if pr, ok := st.(store.PoolReporter); ok {
		m.WatchPools(pr)
	}
	keys, err := LoadKeys(cfg)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("encryption keys: %w", err)
	}
	pp := password.DefaultParams()
	pp.Memory, pp.Time = cfg.ArgonMemoryKiB, cfg.ArgonTime
	if cfg.ArgonThreads > 0 {
		pp.Threads = cfg.ArgonThreads
	}
	if o.PasswordParams != nil {
		pp = *o.PasswordParams
	}
	bp := backup.DefaultParams()
	if o.BackupParams != nil {
		bp = *o.BackupParams
	}
	hasher := password.NewHasher(pp, cfg.HashConcurrency)
	m.WatchHasher(hasher)
	if tr != nil {
		hasher.OnCompute(tr.Hash)
	}
	al := audit.New(st, log, o.Now)
	al.Observe(m.Audit)
	lock := ratelimit.DefaultLockout()
	lock.Threshold, lock.Cooldown, lock.FreeFailures = cfg.LockoutThreshold, cfg.LockoutCooldown, cfg.FreeFailures
	dl, err := newDelivery(cfg, log)
	if err != nil {
		st.Close()
		return nil, err
	}
	codes, _ := st.(store.CodeStore)
	var sealer signin.Keys = keys
	if cfg.SecretKey == "" {
		sealer = &reloadingKeys{path: cfg.KeyFilePath(), ring: keys}
	}
	bg := background.New(log, 30*time.Second)
	dir := directory.New(st, sealer, log, directory.Options{Timeout: cfg.DirectoryTimeout,
		MaxConns: cfg.DirectoryMaxConns, MaxIdle: cfg.DirectoryMaxIdle})
	sg := signin.New(signin.Deps{Background: bg, Store: st, Hasher: hasher, Keys: sealer, Audit: al, Log: log, Lockout: lock,
		TOTP: totp.Default(), Backup: bp, Now: o.Now, Codes: codes, Delivery: dl, Directory: dir},
		signin.Options{SessionIdle: cfg.SessionIdle, SessionAbsolute: cfg.SessionAbsolute, FlowTTL: cfg.FlowTTL, ReauthWindow: cfg.ReauthWindow,
			BaseURL: cfg.BaseURL(), WebAuthnRPID: cfg.WebAuthnRPID, UserSendsPerHour: cfg.UserSendsPerHour, OrgSendsPerHour: cfg.OrgSendsPerHour,
			AdminsNeedMFA: cfg.AdminMFARequired, InvitationTTL: cfg.InvitationTTL})
	adm := admin.New(st, sg, al, log, o.Now)
	adm.UseDirectory(dir)
	limits, rc, err := openLimits(ctx, cfg, st, backend, o)
	if err != nil {
		st.Close()
		return nil, err
	}
	return &App{Config: cfg, Log: log, Store: st, Keys: keys, Hasher: hasher, Audit: al, Signin: sg, Background: bg,
		Admin: adm, Directory: dir, Now: o.Now, Backend: backend, Metrics: m, tracer: tr, sealer: sealer,
		Limits: limits, redis: rc}, nil
}

// Close waits (up to 10 s) for background work such as security notices
// — a command-line reset must not exit before its notice is sent —, sends
// the spans still buffered, and then releases the directory connections
// and the store.
func (a *App) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a.Background.Drain(ctx)
	a.Directory.Close()
	var rerr error
	if a.redis != nil {
		rerr = a.redis.Close()
	}
	return errors.Join(a.tracer.Shutdown(ctx), rerr, a.Store.Close())
}

// RootSlug is the slug of the platform org created on first start.
const RootSlug = "platform"

// EnsureRoot creates the root org on first start. It reports whether it did.
func (a *App) EnsureRoot(ctx context.Context) (store.Org, bool, error) {
	root, err := a.Store.RootOrg(ctx)
	if err == nil {
		return root, false, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return store.Org{}, false, err
	}
	now := a.Now().UTC()
	root, err = a.Store.CreateOrg(ctx, store.Org{Slug: RootSlug, Name: "Platform", CreatedAt: now, UpdatedAt: now,
		Policy: store.OrgPolicy{MFA: store.MFAOptional, AllowedMethods: policy.AllMethods}})
	if errors.Is(err, store.ErrConflict) {
		// Another instance created it at the same moment.
		root, err = a.Store.RootOrg(ctx)
		return root, false, err
	}
	return root, err == nil, err
}

// NeedsSetup reports whether no platform admin exists yet.
func (a *App) NeedsSetup(ctx context.Context) (bool, error) {
	us, err := a.Store.ListUsers(ctx, store.UserFilter{Role: store.RoleSuperadmin, Limit: 1})
	return len(us) == 0, err
}

// SetupNotice is printed at start while no platform admin exists. command
// is how to run twofold, such as "go run ./cmd/twofold" or
// "/usr/local/bin/twofold"; flags (e.g. "--data-dir /srv/twofold") follow
// the subcommand so that it acts on the server's data.
func SetupNotice(link, command, flags string) string {
	var b strings.Builder
	b.WriteString("No platform admin exists yet. Create the first one either way:\n")
	fmt.Fprintf(&b, "  in the browser (one-time link, valid 24 h): %s\n", link)
	b.WriteString("  or at the command line:\n")
	fmt.Fprintf(&b, "    %s user create --org %s --username admin --email you@example.com --role superadmin --password-stdin", command, RootSlug)
	if flags != "" {
		b.WriteString(" " + flags)
	}
	b.WriteString("\n")
	return b.String()
}
