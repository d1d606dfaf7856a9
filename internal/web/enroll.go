package web

import (
	"encoding/base64"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/twofold-id/twofold/internal/factor/methods"
	"github.com/twofold-id/twofold/internal/factor/totp"
	"github.com/twofold-id/twofold/internal/normalize"
	"github.com/twofold-id/twofold/internal/signin"
	"github.com/twofold-id/twofold/internal/store"
)

// authenticatorApps are apps known to work with Twofold's codes (SHA1, six
// digits, 30 seconds).
var authenticatorApps = []string{"Google Authenticator", "Microsoft Authenticator", "Authy", "1Password", "Bitwarden", "FreeOTP", "Aegis", "2FAS"}

// enrollPage is the first page of the forced setup wizard: pick a method.
type enrollPage struct {
	Username string
	OrgName  string
	Methods  []string // methods allowed by policy that can be set up now
	EmailTo  string   // the confirmed address codes by email would go to
	// EmailWhy says why email, allowed by policy, is not offered: the
	// account has no address, or it is not confirmed yet.
	EmailWhy     string
	CanReconfirm bool   // a confirmation mail can be sent again
	Phone        string // kept input of the text-message form
	Notice       string
	Deadline     *time.Time
	Err          *formErr
}

func (enrollPage) title() string { return "Set up two-step sign-in" }

// enrollable are the methods the portal can set up.
var enrollable = methods.Default.Kinds(portalMethod)

func enrollPageFor(info signin.FlowInfo) enrollPage {
	pg := enrollPage{Username: info.User.Username, OrgName: info.Org.Name, Deadline: info.Deadline}
	for _, m := range info.Methods {
		if !slices.Contains(enrollable, m) {
			continue
		}
		if byEmail(m) {
			u := info.User
			switch {
			case u.Email == "":
				pg.EmailWhy = "Email is not offered because your account has no email address. An admin can add one."
				continue
			case u.EmailConfirmedAt == nil:
				pg.EmailWhy = "Email is not offered yet because your address " + normalize.MaskEmail(u.Email) +
					" is not confirmed. Open the link in the confirmation mail we sent you, then sign in again."
				pg.CanReconfirm = true
				continue
			}
			pg.EmailTo = normalize.MaskEmail(u.Email)
		}
		pg.Methods = append(pg.Methods, m)
	}
	return pg
}

// enrollFlow returns the flow of the cookie when it is an enrollment flow;
// otherwise it sends the browser where it belongs.
func (h *handler) enrollFlow(w http.ResponseWriter, r *http.Request) (string, signin.FlowInfo, bool) {
	tok, info, ok := h.flow(w, r)
	if !ok {
		return "", info, false
	}
	if info.Kind != store.FlowEnroll {
		http.Redirect(w, r, "/login/verify", http.StatusSeeOther)
		return "", info, false
	}
	return tok, info, true
}

func (h *handler) enrollStart(w http.ResponseWriter, r *http.Request) {
	_, info, ok := h.enrollFlow(w, r)
	if !ok {
		return
	}
	h.render(w, r, "enroll", enrollPageFor(info))
}

// totpPage shows a new authenticator's QR code and secret and asks for a
// current code. It serves the wizard and the security settings.
type totpPage struct {
	User          *signin.Principal // nil in the wizard
	Action        string            // where the confirmation goes
	Cancel        string            // where "cancel" leads
	FactorID      string
	Secret        string // base32, carried back to redisplay after a wrong code
	SecretGrouped string
	QR            template.URL // data:image/png;base64,…
	Apps          []string
	Err           *formErr
}

func (totpPage) title() string                   { return "Add an authenticator app" }
func (pg totpPage) principal() *signin.Principal { return pg.User }

func newTOTPPage(e signin.TOTPEnrollment) totpPage {
	return totpPage{FactorID: e.FactorID, Secret: e.Secret, SecretGrouped: e.SecretGrouped,
		QR: qrURL(e.QRPNG), Apps: authenticatorApps}
}

// qrURL admits the service's own PNG data URI into an <img src>; anything
// else is dropped.
func qrURL(s string) template.URL {
	if !strings.HasPrefix(s, "data:image/png;base64,") {
		return ""
	}
	return template.URL(s)
}

// redisplayTOTP rebuilds the page after a wrong code from the secret the
// form carried back. The secret is only displayed again: the code is always
// checked against the stored factor, so a tampered field harms no one.
func redisplayTOTP(factorID, secret string, org store.Org, u store.User) totpPage {
	pg := totpPage{FactorID: factorID, Apps: authenticatorApps}
	raw, err := totp.DecodeSecret(secret)
	if err != nil || len(raw) != totp.SecretSize {
		return pg
	}
	pg.Secret, pg.SecretGrouped = totp.EncodeSecret(raw), totp.FormatSecret(raw)
	if png, err := totp.QRPNG(totp.URI(org.Name, u.Username, raw), 256); err == nil {
		pg.QR = qrURL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png))
	}
	return pg
}

func (h *handler) enrollTOTP(w http.ResponseWriter, r *http.Request) {
	tok, info, ok := h.enrollFlow(w, r)
	if !ok {
		return
	}
	e, err := h.Signin.EnrollTOTP(r.Context(), tok, "", h.Client(r))
	if err != nil {
		if errors.Is(err, signin.ErrInvalidFlow) {
			h.flowFailed(w, r, err)
			return
		}
		p := h.public(r, err)
		pg := enrollPageFor(info)
		pg.Err = newFormErr("enroll", p, h.Now())
		h.renderStatus(w, r, p.HTTPStatus(), "enroll", pg)
		return
	}
	pg := newTOTPPage(e)
	pg.Action, pg.Cancel = "/login/enroll/confirm", "/login/enroll"
	h.render(w, r, "totp", pg)
}

func (h *handler) enrollConfirm(w http.ResponseWriter, r *http.Request) {
	tok, info, ok := h.enrollFlow(w, r)
	if !ok {
		return
	}
	if err := parseForm(r); err != nil {
		h.fail(w, r, err)
		return
	}
	factorID := r.PostForm.Get("factor_id")
	if err := h.limit(h.codeIP, r); err != nil {
		h.totpFailed(w, r, redisplayTOTP(factorID, r.PostForm.Get("secret"), info.Org, info.User), "/login/enroll/confirm", "/login/enroll", err)
		return
	}
	res, err := h.Signin.EnrollConfirm(r.Context(), tok, factorID, r.PostForm.Get("code"), h.Client(r))
	if err != nil {
		if errors.Is(err, signin.ErrInvalidFlow) {
			h.flowFailed(w, r, err)
			return
		}
		h.totpFailed(w, r, redisplayTOTP(factorID, r.PostForm.Get("secret"), info.Org, info.User), "/login/enroll/confirm", "/login/enroll", err)
		return
	}
	h.enrolled(w, r, res)
}

// enrolled ends the wizard: the session starts and the backup codes are
// shown.
func (h *handler) enrolled(w http.ResponseWriter, r *http.Request, res signin.Result) {
	h.clearCookie(w, h.cookies.flow)
	h.setSession(w, res.SessionToken)
	p := signin.Principal{Session: res.Session, User: res.User, Org: res.Org}
	if len(res.BackupCodes) == 0 {
		http.Redirect(w, r, h.landing(r), http.StatusSeeOther)
		return
	}
	h.render(w, r, "codes", newCodesPage(&p, res.BackupCodes, "/"))
}

// totpFailed re-renders the QR page with the error next to the code field.
func (h *handler) totpFailed(w http.ResponseWriter, r *http.Request, pg totpPage, action, cancel string, err error) {
	p := h.public(r, err)
	pg.Action, pg.Cancel = action, cancel
	pg.Err = newFormErr("totp", p, h.Now(), "code")
	h.renderStatus(w, r, p.HTTPStatus(), "totp", pg)
}

func (h *handler) enrollSkip(w http.ResponseWriter, r *http.Request) {
	tok, info, ok := h.enrollFlow(w, r)
	if !ok {
		return
	}
	res, err := h.Signin.SkipEnrollment(r.Context(), tok, h.Client(r))
	if err != nil {
		if errors.Is(err, signin.ErrInvalidFlow) {
			h.flowFailed(w, r, err)
			return
		}
		p := h.public(r, err)
		pg := enrollPageFor(info)
		pg.Deadline = nil
		pg.Err = newFormErr("enroll", p, h.Now())
		h.renderStatus(w, r, p.HTTPStatus(), "enroll", pg)
		return
	}
	h.clearCookie(w, h.cookies.flow)
	h.setSession(w, res.SessionToken)
	if next := h.landing(r); next != "/" {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/?msg=skipped", http.StatusSeeOther)
}

// codesPage shows new backup codes, once. Nothing on the server can show
// them again: download and print work on the page itself.
type codesPage struct {
	User     *signin.Principal
	Codes    []string
	Download template.URL // data:text/plain with the codes
	Next     string       // where "Continue" leads
}

func (codesPage) title() string                   { return "Your backup codes" }
func (pg codesPage) principal() *signin.Principal { return pg.User }

func newCodesPage(p *signin.Principal, codes []string, next string) codesPage {
	var b strings.Builder
	b.WriteString("Twofold backup codes")
	if p != nil {
		b.WriteString(" for " + p.User.Username + " (" + p.Org.Name + ")")
	}
	b.WriteString("\nEach code works once. Keep them somewhere safe.\n\n")
	for _, c := range codes {
		b.WriteString(c + "\n")
	}
	// The text is ours (codes, username, org name), percent-encoded, so it
	// is safe as a data: URL.
	dl := template.URL("data:text/plain;charset=utf-8," + url.PathEscape(b.String()))
	return codesPage{User: p, Codes: codes, Download: dl, Next: next}
}

// continueAfterCodes leaves the backup codes page once the user confirmed
// they saved the codes (S8). The checkbox is required in the form, and the
// server checks it too: the codes cannot be shown again, so a missing
// confirmation is answered with the way to a new set rather than passed by.
func (h *handler) continueAfterCodes(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		h.fail(w, r, err)
		return
	}
	if r.PostForm.Get("saved") != "yes" {
		h.renderStatus(w, r, http.StatusBadRequest, "error", errorPage{Title: "Backup codes not confirmed",
			Message: "You did not confirm that you saved your backup codes. For your safety they are never shown twice: open Security settings and generate a new set, then save it."})
		return
	}
	next := h.landing(r)
	if r.PostForm.Get("next") == "/security" {
		next = "/security"
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}
