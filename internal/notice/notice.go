// Package notice writes what Twofold says to people outside the browser:
// the mails and text messages that carry codes and confirmation links, and
// the security notifications sent when something changes on an account.
//
// It only composes text; package notify delivers it. A security
// notification never contains a code or link; one for an unconfirmed
// address does not say where the change came from either.
package notice

import (
	"fmt"
	"strings"
	"time"
)

// Message is a composed mail (Subject and Text) or text message (Text only).
type Message struct {
	Subject string
	Text    string
}

// CodeEmail is the mail that carries a sign-in or confirmation code.
func CodeEmail(orgName, code string, ttl time.Duration, purpose string) Message {
	what := "sign in to " + orgName
	if purpose == "confirm" {
		what = "confirm this address for two-factor sign-in at " + orgName
	} else if purpose == "reauth" {
		what = "confirm a change to your account at " + orgName
	} else if purpose == "reset" {
		what = "reset your password at " + orgName
	}
	return Message{
		Subject: fmt.Sprintf("Your code: %s", code),
		Text: fmt.Sprintf("Your code to %s is:\n\n    %s\n\nIt works once, for %s. If you did not ask for it, someone may know your password: change it and tell your administrator.\n",
			what, code, human(ttl)),
	}
}

// CodeSMS is the text message that carries a code. The last line follows
// the origin-bound one-time code format, so phones can offer to fill it in.
func CodeSMS(orgName, code string, ttl time.Duration, host string) Message {
	t := fmt.Sprintf("%s: your code is %s (valid %s). Never share it.", orgName, code, human(ttl))
	if host != "" {
		t += fmt.Sprintf("\n\n@%s #%s", host, code)
	}
	return Message{Text: t}
}

// ConfirmEmail is the mail with a link that confirms an address.
func ConfirmEmail(orgName, link string, ttl time.Duration) Message {
	return Message{
		Subject: "Confirm your email address for " + orgName,
		Text: fmt.Sprintf("Please confirm that this is your email address by opening this link:\n\n    %s\n\nThe link works once, for %s. If you did not expect this mail, you can ignore it.\n",
			link, human(ttl)),
	}
}

// ResetEmail is the mail with a "forgot password" link for one account.
// It names the account (an address may belong to several) and says that the
// second factor stays as it is.
func ResetEmail(orgName, username, link string, ttl time.Duration) Message {
	return Message{
		Subject: "Reset your password for " + orgName,
		Text: fmt.Sprintf("Someone asked to reset the password of the account %s at %s. To choose a new password, open this link:\n\n    %s\n\n"+
			"The link works once, for %s. Your two-step sign-in stays as it is: if you have set it up, you will need a current code "+
			"(or a backup code) to reset the password, and again when you next sign in.\n\n"+
			"If you did not ask for this, you can ignore this mail: your password stays the same.\n",
			username, orgName, link, human(ttl)),
	}
}

// InvitationEmail is the mail that invites someone to open an account.
func InvitationEmail(orgName, inviter, name, link string, ttl time.Duration) Message {
	greet := "Hello"
	if name != "" {
		greet += " " + name
	}
	by := ""
	if inviter != "" {
		by = " by " + inviter
	}
	return Message{
		Subject: "You are invited to " + orgName,
		Text: fmt.Sprintf("%s,\n\nyou have been invited%s to open an account at %s. To choose your username and password, open this link:\n\n    %s\n\n"+
			"The link works once, for %s. If you did not expect this mail, you can ignore it.\n",
			greet, by, orgName, link, human(ttl)),
	}
}

// Event is a security-relevant change on an account.
type Event struct {
	Kind      string // one of the Kind constants
	OrgName   string
	Username  string
	Detail    string // e.g. the factor label
	At        time.Time
	IP        string
	UserAgent string
	// Unconfirmed says the mail goes to an address the account holder has
	// not confirmed: it may be mistyped and reach a stranger, so the
	// notice leaves out IP and UserAgent and says why.
	Unconfirmed bool
}

// Kinds of security notifications.
const (
	FactorAdded       = "factor_added"
	FactorRemoved     = "factor_removed"
	MFADisabled       = "mfa_disabled"
	MFAReset          = "mfa_reset"
	BackupRegenerated = "backup_regenerated"
	BackupUsed        = "backup_used"
	Locked            = "locked"
	PasswordLocked    = "password_locked"
	NewDevice         = "new_device"
	PasswordChanged   = "password_changed"
	DeviceRegistered  = "device_registered"
	PasswordReset     = "password_reset"
	FactorCloned      = "factor_cloned"
)

var headlines = map[string]string{
	FactorAdded:       "A two-factor method was added to your account",
	FactorRemoved:     "A two-factor method was removed from your account",
	MFADisabled:       "Two-factor sign-in was turned off for your account",
	MFAReset:          "An administrator reset two-factor sign-in for your account",
	BackupRegenerated: "New backup codes were generated for your account",
	BackupUsed:        "A backup code was used to sign in to your account",
	Locked:            "Two-factor sign-in was locked after too many wrong codes",
	PasswordLocked:    "Sign-in to your account was locked after too many wrong passwords",
	NewDevice:         "New sign-in to your account",
	PasswordChanged:   "Your password was changed",
	DeviceRegistered:  "A new device was registered to your account",
	PasswordReset:     "Your password was reset with a link sent by email",
	FactorCloned:      "A security key of yours was refused: it may have been copied",
}

// Notification composes the security notification for e.
func Notification(e Event) Message {
	head, ok := headlines[e.Kind]
	if !ok {
		head = "Security change on your account"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s.\n\n", head)
	fmt.Fprintf(&b, "Account:  %s (%s)\n", e.Username, e.OrgName)
	if e.Detail != "" {
		fmt.Fprintf(&b, "Details:  %s\n", e.Detail)
	}
	fmt.Fprintf(&b, "When:     %s\n", e.At.UTC().Format("Mon, 2 Jan 2006 15:04:05 UTC"))
	if e.IP != "" && !e.Unconfirmed {
		fmt.Fprintf(&b, "From:     %s\n", e.IP)
	}
	if e.UserAgent != "" && !e.Unconfirmed {
		fmt.Fprintf(&b, "Browser:  %s\n", e.UserAgent)
	}
	b.WriteString("\nIf this was you, there is nothing to do. If it was not, change your password now and tell your administrator.\n")
	if e.Unconfirmed {
		b.WriteString("\nThis address is not confirmed for the account yet, so this notice leaves out where the change came from. " +
			"If the account is not yours, tell the organization's administrator; you can ignore this mail otherwise.\n")
	}
	return Message{Subject: head, Text: b.String()}
}

// human writes a duration the way people say it: "90 seconds", "5 minutes".
func human(d time.Duration) string {
	switch {
	case d < 2*time.Minute || d%time.Minute != 0:
		return fmt.Sprintf("%d seconds", int(d.Seconds()))
	case d < 2*time.Hour:
		return fmt.Sprintf("%d minutes", int(d.Minutes()))
	case d >= 48*time.Hour && d%(24*time.Hour) == 0:
		return fmt.Sprintf("%d days", int(d.Hours()/24))
	}
	return fmt.Sprintf("%d hours", int(d.Hours()))
}
