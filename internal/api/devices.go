package api

import (
	"net/http"
	"time"

	"github.com/twofold-id/twofold/internal/access"
	"github.com/twofold-id/twofold/internal/problem"
	"github.com/twofold-id/twofold/internal/signin"
	"github.com/twofold-id/twofold/internal/store"
)

// errDeviceSession refuses a session opened with a device credential on a
// route it may not use: a device credential never adds a factor, changes a
// password or acts as an admin.
var errDeviceSession = problem.Define(http.StatusForbidden, "device_session_not_allowed",
	"A device's session cannot do this. Sign in to the portal with your password and second factor.")

// deviceAllowed is everything a session opened with a device credential
// (signin.IsDeviceSession) may do: read who it is and its sessions and
// devices, remove a device, set its passcode, confirm a current code, and
// sign out. A new route is refused to it unless it is added here.
var deviceAllowed = map[string]bool{
	"GET /api/v1/me":                         true,
	"GET /api/v1/me/sessions":                true,
	"GET /api/v1/me/factors":                 true,
	"GET /api/v1/me/devices":                 true,
	"DELETE /api/v1/me/devices/{id}":         true,
	"PUT /api/v1/devices/{id}/passcode":      true,
	"POST /api/v1/auth/logout":               true,
	"POST /api/v1/auth/reauthenticate":       true,
	"POST /api/v1/me/codes":                  true,
	"DELETE /api/v1/me/sessions/{id}":        true,
	"POST /api/v1/me/sessions/revoke-others": true,
}

func (h *Handler) deviceRoutes() {
	h.handle("POST /api/v1/devices/{id}/sessions", h.openDeviceSession)
	h.authed("PUT /api/v1/devices/{id}/passcode", h.setPasscode)
	h.authed("GET /api/v1/me/devices", h.myDevices)
	h.authed("DELETE /api/v1/me/devices/{id}", h.removeMyDevice)
	h.handle("GET /api/v1/users/{id}/devices", h.admined(h.userDevices))
	h.handle("DELETE /api/v1/users/{id}/devices/{device}", h.admined(h.removeUserDevice))
}

// deviceJSON is a device in lists and answers.
type deviceJSON struct {
	ID               string  `json:"id"`
	Kind             string  `json:"kind"`
	Name             string  `json:"name,omitempty"`
	Platform         string  `json:"platform,omitempty"`
	ClientID         string  `json:"client_id,omitempty"`
	RegisteredAt     *string `json:"registered_at,omitempty"`
	LastUsedAt       *string `json:"last_used_at,omitempty"`
	LastIP           string  `json:"last_ip,omitempty"`
	PasscodeSet      *bool   `json:"passcode_set,omitempty"`
	PasscodeRequired *bool   `json:"passcode_required,omitempty"`
}

func deviceOut(d store.Device) deviceJSON {
	set := d.PasscodeHash != ""
	out := deviceJSON{ID: d.ID, Kind: string(d.Kind), Name: d.Name, Platform: d.Platform, ClientID: d.ClientID,
		RegisteredAt: tsp(d.RegisteredAt), LastUsedAt: tsp(d.LastUsedAt), LastIP: d.LastIP}
	if d.Kind == store.DeviceMobile {
		out.PasscodeSet = &set
	}
	return out
}

// deviceJSONIn is the "device" object of a registering sign-in.
type deviceJSONIn struct {
	Kind     string `json:"kind"`
	Name     string `json:"name"`
	Platform string `json:"platform"`
}

func deviceRequest(clientID string, d *deviceJSONIn) *signin.DeviceRequest {
	if clientID == "" && d == nil {
		return nil
	}
	req := &signin.DeviceRequest{ClientID: clientID}
	if d != nil {
		req.Kind, req.Name, req.Platform = store.DeviceKind(d.Kind), d.Name, d.Platform
	}
	return req
}

// registeredJSON is the answer of a sign-in that registered a device.
type registeredJSON struct {
	Status      string     `json:"status"`
	Device      deviceJSON `json:"device"`
	DeviceToken string     `json:"device_token"`
	AccessToken string     `json:"access_token"`
	ExpiresIn   int        `json:"expires_in"`
}

func (h *Handler) expiresIn(sess store.Session) int {
	return int(h.signin.IdleExpiry(sess).Sub(h.now()) / time.Second)
}

func (h *Handler) writeRegistered(w http.ResponseWriter, res signin.DeviceResult) {
	d := deviceJSON{ID: res.Device.ID, Kind: string(res.Device.Kind)}
	if res.Device.Kind == store.DeviceMobile {
		d.PasscodeRequired = &res.PasscodeRequired
	}
	writeJSON(w, http.StatusOK, registeredJSON{Status: res.Status, Device: d, DeviceToken: res.DeviceToken,
		AccessToken: res.SessionToken, ExpiresIn: h.expiresIn(res.Session)})
}

func (h *Handler) openDeviceSession(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		DeviceToken string `json:"device_token"`
		Passcode    string `json:"passcode"`
		Code        string `json:"code"`
		Method      string `json:"method"`
	}
	c, err := h.limitedDecode(w, r, h.codeIP, &req)
	if err != nil {
		return err
	}
	if err := require([2]string{"device_token", req.DeviceToken}); err != nil {
		return err
	}
	ds, err := h.signin.OpenDeviceSession(r.Context(), signin.OpenSessionRequest{DeviceID: r.PathValue("id"), DeviceToken: req.DeviceToken,
		Passcode: req.Passcode, Method: req.Method, Code: req.Code}, c)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"access_token": ds.AccessToken, "device_token": ds.DeviceToken,
		"expires_in": h.expiresIn(ds.Session), "amr": ds.Session.AMR})
	return nil
}

func (h *Handler) setPasscode(w http.ResponseWriter, r *http.Request, p signin.Principal) error {
	var req struct {
		Passcode    string `json:"passcode"`
		OldPasscode string `json:"old_passcode"`
		Method      string `json:"method"`
		Code        string `json:"code"`
	}
	c, err := h.limitedDecode(w, r, h.codeIP, &req)
	if err != nil {
		return err
	}
	if err := require([2]string{"passcode", req.Passcode}); err != nil {
		return err
	}
	if err := h.signin.SetDevicePasscode(r.Context(), p, signin.SetPasscodeRequest{DeviceID: r.PathValue("id"), Passcode: req.Passcode,
		Old: req.OldPasscode, Method: req.Method, Code: req.Code}, c); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func writeDevices(w http.ResponseWriter, ds []store.Device) {
	out := make([]deviceJSON, len(ds))
	for i, d := range ds {
		out[i] = deviceOut(d)
	}
	writeJSON(w, http.StatusOK, map[string]any{"devices": out})
}

func (h *Handler) myDevices(w http.ResponseWriter, r *http.Request, p signin.Principal) error {
	ds, err := h.signin.Devices(r.Context(), p.User.ID)
	if err != nil {
		return err
	}
	writeDevices(w, ds)
	return nil
}

func (h *Handler) removeMyDevice(w http.ResponseWriter, r *http.Request, p signin.Principal) error {
	if err := h.signin.RemoveDevice(r.Context(), p.User.ID, p.User, r.PathValue("id"), h.clients(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) userDevices(w http.ResponseWriter, r *http.Request, a access.Actor) error {
	ds, err := h.admin.UserDevices(r.Context(), a, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeDevices(w, ds)
	return nil
}

func (h *Handler) removeUserDevice(w http.ResponseWriter, r *http.Request, a access.Actor) error {
	if err := h.admin.RemoveUserDevice(r.Context(), a, r.PathValue("id"), r.PathValue("device"), h.clients(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
