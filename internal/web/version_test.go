package web_test

import (
	"testing"

	"github.com/twofold-id/twofold/internal/version"
)

func TestOnlyAdminsSeeTheVersionInTheFooter(t *testing.T) {
	p := newConsole(t)
	want := `<span id="version">version ` + version.String() + `</span>`
	lacks(t, p.browser().get("/login"), `id="version"`)
	mia := p.browser()
	expect(t, mia.login("reseller", "mia", pw), 200, "/")
	lacks(t, mia.get("/"), `id="version"`)
	ria := p.browser()
	expect(t, ria.login("reseller", "ria", pw), 200, "/", want)
}
