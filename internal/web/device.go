package web

import (
	"strings"
	"unicode/utf8"
)

// deviceName is a short description of a User-Agent string for the list of
// sessions: "Chrome on Linux", "Safari on iPhone", "Firefox" (no known
// system), or the first product token of a program ("twofold-agent/1.2").
func deviceName(ua string) string {
	ua = strings.TrimSpace(ua)
	if ua == "" {
		return "Unknown device"
	}
	browser, system := browserName(ua), systemName(ua)
	switch {
	case browser != "" && system != "":
		return browser + " on " + system
	case browser != "":
		return browser
	case system != "" && strings.HasPrefix(ua, "Mozilla/"):
		return "Browser on " + system
	}
	first, _, _ := strings.Cut(ua, " ")
	return clip(first, 40)
}

// browserName recognizes the common browsers. The order matters: most
// browsers also name the ones they descend from (Edge says Chrome and
// Safari, Chrome says Safari).
func browserName(ua string) string {
	has := func(s string) bool { return strings.Contains(ua, s) }
	switch {
	case has("Edg/") || has("EdgA/") || has("EdgiOS/") || has("Edge/"):
		return "Edge"
	case has("OPR/") || has("Opera"):
		return "Opera"
	case has("SamsungBrowser/"):
		return "Samsung Internet"
	case has("Firefox/") || has("FxiOS/"):
		return "Firefox"
	case has("HeadlessChrome/"):
		return "Headless Chrome"
	case has("Chromium/"):
		return "Chromium"
	case has("Chrome/") || has("CriOS/"):
		return "Chrome"
	case has("Safari/") && (has("Version/") || has("Mobile/")):
		return "Safari"
	}
	return ""
}

// systemName recognizes the common operating systems and devices.
func systemName(ua string) string {
	has := func(s string) bool { return strings.Contains(ua, s) }
	switch {
	case has("iPhone"):
		return "iPhone"
	case has("iPad"):
		return "iPad"
	case has("Android"):
		return "Android"
	case has("Windows"):
		return "Windows"
	case has("CrOS"):
		return "ChromeOS"
	case has("Macintosh") || has("Mac OS X"):
		return "macOS"
	case has("Linux") || has("X11"):
		return "Linux"
	}
	return ""
}

// clip shortens s to at most n characters, ending with "…" when cut.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return strings.TrimSpace(string(r[:n-1])) + "…"
}
