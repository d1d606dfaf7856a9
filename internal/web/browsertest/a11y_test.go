package browsertest

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// domFacts are what the accessibility rules look at, read from the live
// page. The script only gathers; the rules are in Go (accessibilityProblems).
type domFacts struct {
	Lang     string     `json:"lang"`
	H1       int        `json:"h1"`
	Controls []control  `json:"controls"`
	Images   []image    `json:"images"`
	Buttons  []button   `json:"buttons"`
	IDs      []string   `json:"ids"`
	Refs     []idRef    `json:"refs"`
	Title    string     `json:"title"`
	Links    []linkFact `json:"links"`
}

// control is an input, select or textarea.
type control struct {
	Desc        string `json:"desc"`
	Type        string `json:"type"`
	LabelFor    string `json:"labelFor"`    // text of label[for=id]
	LabelWrap   string `json:"labelWrap"`   // text of an enclosing label
	AriaLabel   string `json:"ariaLabel"`   // aria-label
	LabelledBy  string `json:"labelledBy"`  // text of the aria-labelledby elements
	LabelledIDs string `json:"labelledIDs"` // the aria-labelledby attribute
}

type image struct {
	Src    string `json:"src"`
	HasAlt bool   `json:"hasAlt"`
}

// button is a button or a button-like input, with its accessible text.
type button struct {
	Desc string `json:"desc"`
	Name string `json:"name"`
}

// idRef is an attribute that names other elements by id (label for,
// aria-describedby, aria-labelledby).
type idRef struct {
	Desc string `json:"desc"`
	Attr string `json:"attr"`
	IDs  string `json:"ids"`
}

type linkFact struct {
	Href string `json:"href"`
	Name string `json:"name"`
}

const gatherFacts = `(() => {
  const text = el => (el ? (el.innerText || el.textContent || "") : "").replace(/\s+/g, " ").trim();
  const desc = el => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + (el.name ? "[name=" + el.name + "]" : "");
  const byIDs = ids => (ids || "").split(/\s+/).filter(Boolean).map(i => text(document.getElementById(i))).join(" ").trim();
  const f = {lang: document.documentElement.getAttribute("lang") || "", h1: document.querySelectorAll("h1").length,
    controls: [], images: [], buttons: [], ids: [], refs: [], title: document.title, links: []};
  for (const el of document.querySelectorAll("input, select, textarea")) {
    const type = (el.getAttribute("type") || el.tagName).toLowerCase();
    if (type === "hidden") continue;
    const lf = el.id ? document.querySelector('label[for="' + CSS.escape(el.id) + '"]') : null;
    f.controls.push({desc: desc(el), type, labelFor: text(lf), labelWrap: text(el.closest("label")),
      ariaLabel: (el.getAttribute("aria-label") || "").trim(), labelledBy: byIDs(el.getAttribute("aria-labelledby")),
      labelledIDs: el.getAttribute("aria-labelledby") || ""});
  }
  for (const img of document.querySelectorAll("img")) f.images.push({src: (img.getAttribute("src") || "").slice(0, 40), hasAlt: img.hasAttribute("alt")});
  for (const b of document.querySelectorAll("button, [role=button], input[type=submit], input[type=button], input[type=reset]")) {
    const name = (b.getAttribute("aria-label") || "").trim() || byIDs(b.getAttribute("aria-labelledby")) || text(b) || (b.value || "").trim() || (b.title || "").trim();
    f.buttons.push({desc: desc(b), name});
  }
  for (const el of document.querySelectorAll("[id]")) f.ids.push(el.id);
  for (const el of document.querySelectorAll("label[for], [aria-describedby], [aria-labelledby]")) {
    for (const attr of ["for", "aria-describedby", "aria-labelledby"]) {
      if (el.hasAttribute(attr)) f.refs.push({desc: desc(el), attr, ids: el.getAttribute(attr)});
    }
  }
  for (const a of document.querySelectorAll("a[href]")) f.links.push({href: a.getAttribute("href"), name: (a.getAttribute("aria-label") || "").trim() || text(a)});
  return f;
})()`

// accessibilityProblems applies the basic rules: html has a language, one
// h1, a title, every field a label, every image an alt, every button and
// link an accessible name, ids unique, and id references resolve.
func accessibilityProblems(f domFacts) []string {
	var out []string
	add := func(format string, a ...any) { out = append(out, fmt.Sprintf(format, a...)) }
	if f.Lang == "" {
		add("html has no lang")
	}
	if f.H1 != 1 {
		add("%d h1 elements, want exactly one", f.H1)
	}
	if strings.TrimSpace(f.Title) == "" {
		add("no document title")
	}
	for _, c := range f.Controls {
		if c.LabelFor == "" && c.LabelWrap == "" && c.AriaLabel == "" && c.LabelledBy == "" {
			add("%s (type %s) has no label", c.Desc, c.Type)
		}
	}
	for _, im := range f.Images {
		if !im.HasAlt {
			add("img %s… has no alt", im.Src)
		}
	}
	for _, b := range f.Buttons {
		if b.Name == "" {
			add("%s has no accessible text", b.Desc)
		}
	}
	for _, l := range f.Links {
		if l.Name == "" {
			add("link to %s has no accessible text", l.Href)
		}
	}
	seen := map[string]int{}
	for _, id := range f.IDs {
		seen[id]++
	}
	for id, n := range seen {
		if n > 1 {
			add("id %q is used %d times", id, n)
		}
	}
	for _, r := range f.Refs {
		for _, id := range strings.Fields(r.IDs) {
			if seen[id] == 0 {
				add("%s %s names missing id %q", r.Desc, r.Attr, id)
			}
		}
	}
	slices.Sort(out)
	return out
}

// checkAccessibility reports the problems of the current page as errors.
func (b *tab) checkAccessibility(page string) {
	b.t.Helper()
	f := eval[domFacts](b, gatherFacts)
	for _, p := range accessibilityProblems(f) {
		b.t.Errorf("%s (%s): %s", page, b.path(), p)
	}
	if len(f.Controls)+len(f.Buttons) == 0 {
		b.t.Errorf("%s: found no fields and no buttons; is the fact gathering broken?", page)
	}
}

func TestMainPagesMeetAccessibilityBasics(t *testing.T) {
	p := newPortal(t)
	p.addOrg("acme", "Acme Inc", "required")
	p.addUser("acme", "dana", pw)
	b := p.newTab()

	b.open("/login")
	b.checkAccessibility("login")
	b.signIn("acme", "dana", pw)
	b.wantPage("/login/enroll", "Set up two-step sign-in")
	b.checkAccessibility("enroll")
	b.click("enroll-totp")
	b.checkAccessibility("enroll: authenticator app")
	secret := b.text("secret")
	b.fill("code", p.totpCode(secret))
	b.click("totp-submit")
	b.wantPage("/login/enroll/confirm", "Save your backup codes")
	b.checkAccessibility("codes")
	b.do(chromedp.Click(chromedp.ID("saved")))
	b.click("continue")
	b.wantPage("/", "You are signed in")
	b.checkAccessibility("home")
	b.click("to-security")
	b.wantPage("/security", "Security")
	b.checkAccessibility("security")
	b.signOutFrom("nav-signout")

	p.nextStep()
	b.signIn("acme", "dana", pw)
	b.wantPage("/login/verify", "Confirm it is you")
	b.checkAccessibility("verify")
	b.fill("code", "000000")
	b.click("verify-submit")
	b.checkAccessibility("verify with an error")
	b.click("use-backup")
	b.checkAccessibility("verify with a backup code")

	if b.open("/nowhere") != 404 {
		t.Error("/nowhere is not a 404")
	}
	if got := accessibilityProblems(eval[domFacts](b, gatherFacts)); len(got) > 0 {
		t.Errorf("not-found page: %q", got)
	}

	b.do(chromedp.Navigate("about:blank"))
	eval[bool](b, "(document.documentElement.removeAttribute('lang'), document.body.innerHTML = "+strconv.Quote(brokenPage)+", true)")
	if got := accessibilityProblems(eval[domFacts](b, gatherFacts)); !slices.Equal(got, brokenWant) {
		t.Errorf("problems of a broken page:\n got %q\nwant %q", got, brokenWant)
	}
}

// A page with the mistakes the rules look for must fail them, so a broken
// script cannot pass every page silently.
const brokenPage = `<h1>One</h1><h1>Two</h1>
<input id="a"><label for="nothing">Lost</label>
<img src="x.png"><button></button><a href="/x"></a>
<p id="dup"></p><p id="dup" aria-describedby="gone"></p>`

var brokenWant = []string{
	`2 h1 elements, want exactly one`,
	`button has no accessible text`,
	`html has no lang`,
	`id "dup" is used 2 times`,
	`img x.png… has no alt`,
	`input#a (type input) has no label`,
	`label for names missing id "nothing"`,
	`link to /x has no accessible text`,
	`no document title`,
	`p#dup aria-describedby names missing id "gone"`,
}

// signOutFrom presses a sign-out button.
func (b *tab) signOutFrom(id string) {
	b.t.Helper()
	b.click(id)
	b.wantPage("/login?msg=signedout", "Sign in")
}

func TestSignInWithTheKeyboardAlone(t *testing.T) {
	p := newPortal(t)
	p.addOrg("acme", "Acme Inc", "optional")
	p.addUser("acme", "erin", pw)
	b := p.newTab()
	b.open("/login")

	// The page puts the focus in the first empty field by itself.
	if got := eval[string](b, `document.activeElement.id`); got != "org" {
		t.Errorf("focus on a fresh sign-in page is on %q, want org", got)
	}

	// Shift+Tab goes back up to the brand and the skip link, the first
	// stop of the page.
	var back []string
	for range 2 {
		b.do(chromedp.KeyEvent(kb.Tab, chromedp.KeyModifiers(chromedp.ModifierShift)))
		back = append(back, b.focused())
	}
	if want := []string{"a.brand", "a.skip"}; !slices.Equal(back, want) {
		t.Errorf("Shift+Tab from the organization field stops at %q, want %q", back, want)
	}

	// From there Tab walks the fields and the button in reading order.
	// Type into each field as the focus reaches it; press Enter on the
	// button.
	typed := map[string]string{"org": "acme", "username": "erin", "password": pw}
	var stops []string
	for len(stops) < 10 && !slices.Contains(stops, "login-submit") {
		b.do(chromedp.KeyEvent(kb.Tab))
		stop := b.focused()
		stops = append(stops, stop)
		if text, ok := typed[stop]; ok {
			b.do(chromedp.KeyEvent(text))
		}
	}
	if want := []string{"a.brand", "org", "username", "password", "login-submit"}; !slices.Equal(stops, want) {
		t.Fatalf("Tab stops %q, want %q", stops, want)
	}
	b.load(chromedp.KeyEvent(kb.Enter))
	b.wantPage("/", "You are signed in")
	if got := b.text("who-username"); got != "erin" {
		t.Errorf("signed in as %q", got)
	}
}

// focused describes the focused element: its id, or its tag and class.
func (b *tab) focused() string {
	b.t.Helper()
	return eval[string](b, `(e => e.id || e.tagName.toLowerCase() + "." + e.className)(document.activeElement)`)
}
