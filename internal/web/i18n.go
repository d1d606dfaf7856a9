package web

import (
	"embed"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"sync"

	"github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"
)

// The portal's languages. The sign-in pages (sign-in, "forgot password",
// reset) and the page frame speak every language with a message file under
// locales/ (go-i18n, one JSON file per language, message ids like
// "login.title"); the language is the best match of the browser's
// Accept-Language, else English. Pages that are not translated yet stay
// English and say so with lang="en".

//go:embed locales/*.json
var localeFS embed.FS

// languages lists the supported languages, the default first.
var languages = []language.Tag{language.English, language.German}

var (
	bundleOnce sync.Once
	bundle     *i18n.Bundle
	localizers map[string]*i18n.Localizer
	matcher    = language.NewMatcher(languages)
)

// loadBundle parses the message files once. A broken file is a bug in the
// binary: it panics at start.
func loadBundle() {
	bundleOnce.Do(func() {
		bundle = i18n.NewBundle(language.English)
		files, err := fs.Glob(localeFS, "locales/*.json")
		if err != nil {
			panic(err)
		}
		for _, f := range files {
			if _, err := bundle.LoadMessageFileFS(localeFS, f); err != nil {
				panic(fmt.Sprintf("web: message file %s: %v", path.Base(f), err))
			}
		}
		localizers = map[string]*i18n.Localizer{}
		for _, tag := range languages {
			b, _ := tag.Base()
			localizers[b.String()] = i18n.NewLocalizer(bundle, b.String())
		}
	})
}

// requestLang returns the language for r: the best match of its
// Accept-Language among the supported ones ("en" or "de").
func requestLang(r *http.Request) string {
	loadBundle()
	tags, _, _ := language.ParseAcceptLanguage(r.Header.Get("Accept-Language"))
	tag, _, _ := matcher.Match(tags...)
	b, _ := tag.Base()
	if _, ok := localizers[b.String()]; !ok {
		return "en"
	}
	return b.String()
}

// tr returns message id in lang, with kv as name/value pairs for its
// template ({{.Name}}). An id without a message returns the id itself, so a
// missing message shows on the page (and TestEveryTemplateMessageIsTranslated
// fails).
func tr(lang, id string, kv ...any) string {
	loadBundle()
	l, ok := localizers[lang]
	if !ok {
		l = localizers["en"]
	}
	var data map[string]any
	if len(kv) > 0 {
		data = map[string]any{}
		for i := 0; i+1 < len(kv); i += 2 {
			data[fmt.Sprint(kv[i])] = kv[i+1]
		}
	}
	s, err := l.Localize(&i18n.LocalizeConfig{MessageID: id, TemplateData: data})
	if err != nil {
		return id
	}
	return s
}

// trOr returns message id in lang, or fallback when no language has it.
func trOr(lang, id, fallback string) string {
	if s := tr(lang, id); s != id {
		return s
	}
	return fallback
}

// localErr puts fe's message into lang when the message files know its
// code ("error.CODE"); messages with a time to wait keep the English text,
// which spells the time out.
func localErr(lang string, fe *formErr) *formErr {
	if fe == nil || lang == "en" || fe.Wait > 0 {
		return fe
	}
	if fe.Field != "" {
		if s := tr(lang, "error."+fe.Code+"."+fe.Field); s != "error."+fe.Code+"."+fe.Field {
			fe.Message = s
			return fe
		}
	}
	if fe.Code != "invalid_request" {
		fe.Message = trOr(lang, "error."+fe.Code, fe.Message)
	}
	return fe
}
