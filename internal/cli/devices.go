package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/twofold-id/twofold/internal/access"
	"github.com/twofold-id/twofold/internal/app"
	"github.com/twofold-id/twofold/internal/store"
)

// userDevices lists a user's registered devices (agents, add-ins, mobile
// apps), newest first.
func userDevices(ctx context.Context, env Env, args []string) error {
	return withUser(ctx, env, "user devices", args, nil, func(a *app.App, sys access.Actor, u store.User) error {
		ds, err := a.Admin.UserDevices(ctx, sys, u.ID)
		if err != nil {
			return err
		}
		if len(ds) == 0 {
			fmt.Fprintf(env.Stdout, "%s has no registered devices\n", u.Username)
			return nil
		}
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tKIND\tNAME\tPLATFORM\tREGISTERED\tLAST USED\tFROM")
		for _, d := range ds {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", d.ID, d.Kind, d.Name, d.Platform, when(d.RegisteredAt), when(d.LastUsedAt), d.LastIP)
		}
		return tw.Flush()
	})
}

func when(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// userRemoveDevice removes one of a user's devices and ends its sessions.
func userRemoveDevice(ctx context.Context, env Env, args []string) error {
	var id *string
	return withUser(ctx, env, "user remove-device", args, func(fs *flag.FlagSet) {
		id = fs.String("device", "", "the device id (from user devices)")
	}, func(a *app.App, sys access.Actor, u store.User) error {
		if *id == "" {
			return errors.New("--device is required")
		}
		if err := a.Admin.RemoveUserDevice(ctx, sys, u.ID, *id, cliClient); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "device %s of %s removed; its sessions are signed out\n", *id, u.Username)
		return nil
	})
}
