package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/twofold-id/twofold/internal/admin"
	"github.com/twofold-id/twofold/internal/signin"
	"github.com/twofold-id/twofold/internal/store"
)

// The console's invitations: /admin/invitations?org=slug lists an org's
// open invitations with Resend and Revoke, and has the forms that invite
// one address or the lines of a CSV. Every action goes through
// internal/admin (scope, role, step-up for admin invitations, audit).

// adminInvitationsPage is the invitations of one org.
type adminInvitationsPage struct {
	adminBase
	Org         string
	OrgName     string
	Orgs        []orgOption
	Roles       []choice
	Invitations []invitationRow
	Email, Name string
	CSV         string
	CSVResult   string // what a CSV did or would do
	LineErrors  []admin.LineError
	Err         *formErr
}

func (adminInvitationsPage) title() string { return "Admin · Invitations" }

// invitationRow is one line of the list.
type invitationRow struct {
	store.Invitation
	Expired bool
}

var invitationNotices = map[string]string{
	"invited":  "The invitation was mailed.",
	"resent":   "The invitation was mailed again with a new link; the old link no longer works.",
	"revoked":  "The invitation was withdrawn; its link no longer works.",
	"imported": "The invitations were mailed.",
}

func (h *handler) adminInvitations(w http.ResponseWriter, r *http.Request, p signin.Principal) {
	org := r.URL.Query().Get("org")
	if org == "" {
		org = p.Org.Slug
	}
	pg := adminInvitationsPage{Org: org}
	pg.Notice = invitationNotices[r.URL.Query().Get("msg")]
	h.renderInvitations(w, r, p, http.StatusOK, pg)
}

func (h *handler) renderInvitations(w http.ResponseWriter, r *http.Request, p signin.Principal, status int, pg adminInvitationsPage) {
	o, err := h.Admin.Org(r.Context(), actorOf(p), pg.Org)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	list, err := h.Admin.Invitations(r.Context(), actorOf(p), o.Slug)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	orgs, _, err := h.visibleOrgs(r, p)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	notice := pg.Notice
	pg.adminBase = adminBase{User: &p, Section: "invitations", Notice: notice}
	pg.Org, pg.OrgName, pg.Orgs, pg.Roles = o.Slug, o.Name, orgOptions(orgs, o.Slug), grantable(p, store.RoleMember)
	now := h.Now()
	pg.Invitations = nil
	for _, i := range list {
		pg.Invitations = append(pg.Invitations, invitationRow{Invitation: i, Expired: !i.Pending(now)})
	}
	h.renderStatus(w, r, status, "admin_invitations", pg)
}

func invitationsURL(org, msg string) string {
	return "/admin/invitations?org=" + url.QueryEscape(org) + "&msg=" + msg
}

func (h *handler) adminInvite(w http.ResponseWriter, r *http.Request, p signin.Principal) {
	if !h.form(w, r) {
		return
	}
	f := r.PostForm
	n := admin.NewInvitation{OrgSlug: f.Get("org"), Email: strings.TrimSpace(f.Get("email")), Name: strings.TrimSpace(f.Get("name")),
		Role: store.Role(f.Get("role"))}
	handled, err := h.adminSensitive(w, r, p, "Invite "+n.Email+" as "+roleName(n.Role), "/admin/invitations?org="+url.QueryEscape(n.OrgSlug),
		func(np signin.Principal) error {
			p = np
			_, err := h.Admin.Invite(r.Context(), actorOf(np), n, h.Client(r))
			return err
		})
	if handled {
		return
	}
	if err != nil {
		pe := h.public(r, err)
		pg := adminInvitationsPage{Org: n.OrgSlug, Email: n.Email, Name: n.Name,
			Err: newFormErr("invite", pe, h.Now(), "email", "name", "role")}
		h.renderInvitations(w, r, p, pe.HTTPStatus(), pg)
		return
	}
	http.Redirect(w, r, invitationsURL(n.OrgSlug, "invited"), http.StatusSeeOther)
}

func (h *handler) adminInviteCSV(w http.ResponseWriter, r *http.Request, p signin.Principal) {
	if !h.form(w, r) {
		return
	}
	f := r.PostForm
	org, csvText, dry := f.Get("org"), f.Get("csv"), f.Get("dry_run") == "yes"
	var res admin.InviteResult
	handled, err := h.adminSensitive(w, r, p, "Invite the lines of a CSV", "/admin/invitations?org="+url.QueryEscape(org),
		func(np signin.Principal) error {
			p = np
			var err error
			res, err = h.Admin.InviteCSV(r.Context(), actorOf(np), org, strings.NewReader(csvText), dry, h.Client(r))
			return err
		})
	if handled {
		return
	}
	pg := adminInvitationsPage{Org: org, CSV: csvText, LineErrors: res.Errors}
	if err != nil {
		pe := h.public(r, err)
		pg.Err = newFormErr("csv", pe, h.Now(), "csv")
		h.renderInvitations(w, r, p, pe.HTTPStatus(), pg)
		return
	}
	if dry {
		pg.CSVResult = fmt.Sprintf("All %d lines can be invited. Nothing was sent yet.", res.Checked)
		h.renderInvitations(w, r, p, http.StatusOK, pg)
		return
	}
	if len(res.Errors) > 0 {
		pg.CSV = ""
		pg.CSVResult = fmt.Sprintf("%d invitations were stored; the mails listed below failed. Resend those.", len(res.Invited))
		h.renderInvitations(w, r, p, http.StatusOK, pg)
		return
	}
	http.Redirect(w, r, invitationsURL(org, "imported"), http.StatusSeeOther)
}

// invitationAction resends or revokes the invitation of the path.
func (h *handler) invitationAction(w http.ResponseWriter, r *http.Request, p signin.Principal, msg string,
	act func(id string) error) {
	if !h.form(w, r) {
		return
	}
	org := r.PostForm.Get("org")
	if err := act(r.PathValue("id")); err != nil {
		pe := h.public(r, err)
		h.renderInvitations(w, r, p, pe.HTTPStatus(), adminInvitationsPage{Org: org, Err: newFormErr("list", pe, h.Now())})
		return
	}
	http.Redirect(w, r, invitationsURL(org, msg), http.StatusSeeOther)
}

func (h *handler) adminResendInvitation(w http.ResponseWriter, r *http.Request, p signin.Principal) {
	h.invitationAction(w, r, p, "resent", func(id string) error {
		_, err := h.Admin.ResendInvitation(r.Context(), actorOf(p), id, h.Client(r))
		return err
	})
}

func (h *handler) adminRevokeInvitation(w http.ResponseWriter, r *http.Request, p signin.Principal) {
	h.invitationAction(w, r, p, "revoked", func(id string) error {
		return h.Admin.RevokeInvitation(r.Context(), actorOf(p), id, h.Client(r))
	})
}
