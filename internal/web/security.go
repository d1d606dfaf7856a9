package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/twofold-id/twofold/internal/factor/totp"
	"github.com/twofold-id/twofold/internal/oidc"
	"github.com/twofold-id/twofold/internal/policy"
	"github.com/twofold-id/twofold/internal/problem"
	"github.com/twofold-id/twofold/internal/signin"
	"github.com/twofold-id/twofold/internal/store"
)

// securityPage is the user's security settings. It holds several forms;
// Err names the one that failed.
type securityPage struct {
	User     *signin.Principal
	Overview signin.Overview
	Policy   policy.Effective
	Sessions []store.Session
	Apps     []oidc.App     // apps the user signed in to (nil without a provider)
	Devices  []store.Device // registered agents, add-ins and mobile apps (devices.go)
	Notice   string
	Err      *formErr
	Label    string // kept input of the add form
	Phone    string // kept input of the text-message form
	// SendMethods are the methods the user can ask a current code by
	// (email, sms); Sent is the code just sent for the form SentFor.
	SendMethods []string
	SentFor     string
	Sent        *sentView
	// DisableReason says why two-step sign-in cannot be turned off.
	DisableReason string
	// DirectoryUser is set for users whose password the org's directory
	// keeps: the page says where to change it instead of offering a form.
	DirectoryUser bool
}

func (securityPage) title() string                   { return "Security" }
func (pg securityPage) principal() *signin.Principal { return pg.User }

// Current reports whether s is the session of this browser.
func (pg securityPage) Current(s store.Session) bool { return s.ID == pg.User.Session.ID }

func (h *handler) securityPageFor(r *http.Request, p *signin.Principal) (securityPage, error) {
	ctx := r.Context()
	ov, err := h.Signin.Overview(ctx, p.User)
	if err != nil {
		return securityPage{}, err
	}
	pol, err := h.Signin.Policy(ctx, p.User)
	if err != nil {
		return securityPage{}, err
	}
	sess, err := h.Signin.Sessions(ctx, *p)
	if err != nil {
		return securityPage{}, err
	}
	dir, err := h.Signin.IsDirectoryUser(ctx, p.User)
	if err != nil {
		return securityPage{}, err
	}
	pg := securityPage{User: p, Overview: ov, Policy: pol, Sessions: sess, SendMethods: sendMethods(ov), DirectoryUser: dir}
	if pg.Devices, err = h.Signin.Devices(ctx, p.User.ID); err != nil {
		return securityPage{}, err
	}
	if h.Apps != nil {
		if pg.Apps, err = h.Apps.Apps(ctx, p.User.ID); err != nil {
			return securityPage{}, err
		}
	}
	if !ov.CanDisable {
		pg.DisableReason = signin.ErrPolicyRequiresMFA.Message
	}
	return pg, nil
}

func (h *handler) security(w http.ResponseWriter, r *http.Request, p signin.Principal) {
	pg, err := h.securityPageFor(r, &p)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	pg.Notice = notice(r)
	h.render(w, r, "security", pg)
}

// securityFailed re-renders the security page with err on one form.
func (h *handler) securityFailed(w http.ResponseWriter, r *http.Request, p signin.Principal, form string, err error, fields ...string) {
	pe := h.public(r, err)
	pg, lerr := h.securityPageFor(r, &p)
	if lerr != nil {
		h.fail(w, r, lerr)
		return
	}
	pg.Err = newFormErr(form, pe, h.Now(), fields...)
	pg.Label = r.PostForm.Get("label")
	pg.Phone = r.PostForm.Get("phone")
	h.renderStatus(w, r, pe.HTTPStatus(), "security", pg)
}

// done sends the browser back to the security page with a notice.
func done(w http.ResponseWriter, r *http.Request, msg string) {
	http.Redirect(w, r, "/security?msg="+msg, http.StatusSeeOther)
}

// form parses the form of an authenticated action; on failure it answers
// and reports false.
func (h *handler) form(w http.ResponseWriter, r *http.Request) bool {
	if err := parseForm(r); err != nil {
		h.fail(w, r, err)
		return false
	}
	return true
}

// reauthPage asks for a current code before a sensitive change.
type reauthPage struct {
	User  *signin.Principal
	Label string // carried on to adding the method
	Kind  string // the method being added: totp, email or sms
	Phone string // carried on to adding a text-message method
	// SendMethods are the methods the user can ask a code by; Sent is
	// the code just sent.
	SendMethods []string
	Sent        *sentView
	Err         *formErr
}

func (reauthPage) title() string                   { return "Confirm it is you" }
func (pg reauthPage) principal() *signin.Principal { return pg.User }

func (h *handler) addTOTP(w http.ResponseWriter, r *http.Request, p signin.Principal) {
	if !h.form(w, r) {
		return
	}
	h.startTOTP(w, r, p, r.PostForm.Get("label"))
}

// startTOTP creates a pending authenticator and shows its QR code; when the
// session's last code check is too old it asks for a current code first.
func (h *handler) startTOTP(w http.ResponseWriter, r *http.Request, p signin.Principal, label string) {
	e, err := h.Signin.StartTOTP(r.Context(), p, label, h.Client(r))
	if errors.Is(err, signin.ErrReauthRequired) {
		h.render(w, r, "reauth", h.reauthPageFor(r, p, reauthPage{Label: label, Kind: totp.Kind}))
		return
	}
	if err != nil {
		h.securityFailed(w, r, p, "add", err, "label")
		return
	}
	pg := newTOTPPage(e)
	pg.User, pg.Action, pg.Cancel = &p, "/security/totp/confirm", "/security"
	h.render(w, r, "totp", pg)
}

// reauth checks a current code, replaces the session cookie with the new,
// freshly checked session, and goes on with adding the method.
func (h *handler) reauth(w http.ResponseWriter, r *http.Request, p signin.Principal) {
	if !h.form(w, r) {
		return
	}
	carried := reauthPageFrom(r)
	fail := func(err error) {
		pe := h.public(r, err)
		pg := h.reauthPageFor(r, p, carried)
		pg.Sent = sentFromForm(r.PostForm, h.Now())
		pg.Err = newFormErr("reauth", pe, h.Now(), "code")
		h.renderStatus(w, r, pe.HTTPStatus(), "reauth", pg)
	}
	if err := h.limit(h.codeIP, r); err != nil {
		fail(err)
		return
	}
	res, err := h.Signin.Reauthenticate(r.Context(), p, signin.MethodAny, r.PostForm.Get("code"), h.Client(r))
	if err != nil {
		fail(err)
		return
	}
	h.setSession(w, res.SessionToken)
	fresh := signin.Principal{Session: res.Session, User: res.User, Org: res.Org}
	if isSent(carried.Kind) {
		h.startSent(w, r, fresh, carried.Kind, carried.Phone, carried.Label)
		return
	}
	h.startTOTP(w, r, fresh, carried.Label)
}

func (h *handler) confirmTOTP(w http.ResponseWriter, r *http.Request, p signin.Principal) {
	if !h.form(w, r) {
		return
	}
	factorID := r.PostForm.Get("factor_id")
	redisplay := func(err error) {
		pg := redisplayTOTP(factorID, r.PostForm.Get("secret"), p.Org, p.User)
		pg.User = &p
		h.totpFailed(w, r, pg, "/security/totp/confirm", "/security", err)
	}
	if err := h.limit(h.codeIP, r); err != nil {
		redisplay(err)
		return
	}
	codes, err := h.Signin.ConfirmTOTP(r.Context(), p, factorID, r.PostForm.Get("code"), h.Client(r))
	if err != nil {
		redisplay(err)
		return
	}
	if len(codes) == 0 {
		done(w, r, "added")
		return
	}
	h.render(w, r, "codes", newCodesPage(&p, codes, "/security"))
}

func (h *handler) renameFactor(w http.ResponseWriter, r *http.Request, p signin.Principal) {
	if !h.form(w, r) {
		return
	}
	id := r.PathValue("id")
	if err := h.Signin.RenameFactor(r.Context(), p, id, r.PostForm.Get("label"), h.Client(r)); err != nil {
		h.securityFailed(w, r, p, "rename-"+id, err, "label")
		return
	}
	done(w, r, "renamed")
}

// codeAction runs one of the actions that ask for a current code and
// re-renders the page with the error on form when it fails.
func (h *handler) codeAction(w http.ResponseWriter, r *http.Request, p signin.Principal, form string, act func(code string) error) bool {
	if !h.form(w, r) {
		return false
	}
	if err := h.limit(h.codeIP, r); err != nil {
		h.securityFailed(w, r, p, form, err, "code")
		return false
	}
	if err := act(r.PostForm.Get("code")); err != nil {
		h.securityFailed(w, r, p, form, err, "code")
		return false
	}
	return true
}

func (h *handler) removeFactor(w http.ResponseWriter, r *http.Request, p signin.Principal) {
	id := r.PathValue("id")
	if h.codeAction(w, r, p, "remove-"+id, func(code string) error {
		return h.Signin.RemoveFactor(r.Context(), p, id, code, h.Client(r))
	}) {
		done(w, r, "removed")
	}
}

func (h *handler) regenerateCodes(w http.ResponseWriter, r *http.Request, p signin.Principal) {
	var codes []string
	if h.codeAction(w, r, p, "regenerate", func(code string) error {
		var err error
		codes, err = h.Signin.RegenerateBackupCodes(r.Context(), p, code, h.Client(r))
		return err
	}) {
		h.render(w, r, "codes", newCodesPage(&p, codes, "/security"))
	}
}

func (h *handler) disableMFA(w http.ResponseWriter, r *http.Request, p signin.Principal) {
	if h.codeAction(w, r, p, "disable", func(code string) error {
		return h.Signin.DisableMFA(r.Context(), p, code, h.Client(r))
	}) {
		done(w, r, "disabled")
	}
}

func (h *handler) revokeSession(w http.ResponseWriter, r *http.Request, p signin.Principal) {
	id := r.PathValue("id")
	if err := h.Signin.RevokeSession(r.Context(), p, id, h.Client(r)); err != nil {
		h.securityFailed(w, r, p, "sessions", err)
		return
	}
	if id == p.Session.ID {
		h.clearCookie(w, h.cookies.session)
		http.Redirect(w, r, "/login?msg=signedout", http.StatusSeeOther)
		return
	}
	done(w, r, "revoked")
}

func (h *handler) revokeOthers(w http.ResponseWriter, r *http.Request, p signin.Principal) {
	if _, err := h.Signin.RevokeOtherSessions(r.Context(), p, h.Client(r)); err != nil {
		h.securityFailed(w, r, p, "sessions", err)
		return
	}
	done(w, r, "revokedothers")
}

// errPasswordsDiffer is the portal's own check that the new password was
// typed the same twice.
var errPasswordsDiffer = problem.Define(http.StatusBadRequest, "invalid_password", "The two new passwords are not the same.").WithField("new_password_again")

func (h *handler) changePassword(w http.ResponseWriter, r *http.Request, p signin.Principal) {
	if !h.form(w, r) {
		return
	}
	fields := []string{"current_password", "new_password", "new_password_again", "code"}
	next := r.PostForm.Get("new_password")
	if next != r.PostForm.Get("new_password_again") {
		h.securityFailed(w, r, p, "password", errPasswordsDiffer, fields...)
		return
	}
	err := h.Signin.ChangePassword(r.Context(), p, r.PostForm.Get("current_password"), next, r.PostForm.Get("code"), h.Client(r))
	if err != nil {
		if pe := problem.As(err); pe != nil && pe.Field == "password" {
			err = pe.WithField("new_password")
		}
		h.securityFailed(w, r, p, "password", err, fields...)
		return
	}
	done(w, r, "password")
}

// policyText says in words what the org's policy asks of the user.
func policyText(pol policy.Effective, u store.User) string {
	switch {
	case u.MFARequired:
		return "An admin requires two-step sign-in for your account."
	case pol.MFA == store.MFARequired:
		s := "Your organization requires two-step sign-in."
		if pol.MFALockedBy != nil {
			s += " This is set by " + pol.MFALockedBy.Name + "."
		}
		return s
	case pol.MFA == store.MFAOff:
		return "Your organization has turned two-step sign-in off: new authenticators cannot be added. Any you already have keep working."
	}
	return "Two-step sign-in is optional in your organization. We recommend turning it on."
}

// allowedText lists the methods policy allows.
func allowedText(methods []string) string {
	names := make([]string, len(methods))
	for i, m := range methods {
		names[i] = methodName(m)
	}
	return strings.Join(names, ", ")
}
