package web_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/twofold-id/twofold/internal/admin"
	"github.com/twofold-id/twofold/internal/factor/totp"
	"github.com/twofold-id/twofold/internal/signin"
	"github.com/twofold-id/twofold/internal/store"
)

// registerDevice registers a mobile app for user through the JSON sign-in
// path of the service (password, then a code from secret) and returns it.
func (p *portal) registerDevice(org, user, name string, secret []byte) signin.DeviceResult {
	p.t.Helper()
	ctx := context.Background()
	sys, err := p.app.Admin.System(ctx)
	if err != nil {
		p.t.Fatal(err)
	}
	row, _, err := p.app.Admin.CreateClient(ctx, sys, admin.NewClient{OrgSlug: org, Name: "App " + name, Kind: store.ClientMobile}, signin.Client{})
	if err != nil {
		p.t.Fatal(err)
	}
	res, err := p.app.Signin.LoginDevice(ctx, signin.LoginRequest{Org: org, Username: user, Password: pw},
		signin.DeviceRequest{ClientID: row.Client.ID, Name: name, Platform: "iOS 18"}, signin.Client{IP: "192.0.2.44"})
	if err != nil || res.Status != signin.StatusMFARequired {
		p.t.Fatalf("LoginDevice = %+v, %v", res.Status, err)
	}
	d, err := p.app.Signin.VerifyDevice(ctx, res.FlowToken, totp.Kind, p.code(secret), nil, signin.Client{IP: "192.0.2.44"})
	if err != nil || d.Device.ID == "" {
		p.t.Fatalf("VerifyDevice = %+v, %v", d.Device, err)
	}
	return d
}

func TestUsersAndAdminsSeeAndRemoveDevicesInThePortal(t *testing.T) {
	p := newConsole(t)
	mia := p.browser()
	expect(t, mia.login("reseller", "mia", pw), 200, "/")
	secret := mia.addTOTP()
	expect(t, mia.get("/security"), 200, "/security", `id="no-devices"`)

	phone := p.registerDevice("reseller", "mia", "Mia's iPhone", secret)
	tablet := p.registerDevice("reseller", "mia", "Mia's iPad", secret)
	sec := mia.get("/security")
	expect(t, sec, 200, "/security", "Mia&#39;s iPhone", "Mia&#39;s iPad", "iOS 18", "192.0.2.44", `id="remove-device-`+phone.Device.ID+`"`)
	checkPage(t, sec)

	// The user removes the phone: it goes from the list, and its token is refused.
	expect(t, mia.post("/security/devices/"+phone.Device.ID+"/remove", nil), 200, "/security", "The device was removed")
	lacks(t, mia.get("/security"), "Mia&#39;s iPhone")
	_, err := p.app.Signin.OpenDeviceSession(context.Background(), signin.OpenSessionRequest{DeviceID: phone.Device.ID, DeviceToken: phone.DeviceToken}, signin.Client{})
	if err == nil {
		t.Fatal("a removed device opened a session")
	}
	// Another user cannot remove mia's device.
	olga := p.browser()
	expect(t, olga.login("other", "olga", pw), 200, "/")
	expect(t, olga.post("/security/devices/"+tablet.Device.ID+"/remove", nil), http.StatusNotFound, "/security/devices/"+tablet.Device.ID+"/remove")

	// The admin sees the tablet on mia's page and removes it.
	ria := p.browser()
	expect(t, ria.login("reseller", "ria", pw), 200, "/")
	ria.addTOTP()
	page := ria.get("/admin/users/" + p.userID("reseller", "mia"))
	expect(t, page, 200, "/admin/users/"+p.userID("reseller", "mia"), "Mia&#39;s iPad", `id="remove-device-`+tablet.Device.ID+`"`)
	checkPage(t, page)
	expect(t, ria.post("/admin/users/"+p.userID("reseller", "mia")+"/devices/"+tablet.Device.ID+"/remove", url.Values{}), 200,
		"/admin/users/"+p.userID("reseller", "mia"), "The device was removed")
	expect(t, mia.get("/security"), 200, "/security", `id="no-devices"`)
}
