package notify

import (
	"bytes"
	"errors"
	"log/slog"
	"mime"
	"net/mail"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestOutboxWritesPrivateParseableFilesAndLogsNoBody(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "outbox")
	var logs bytes.Buffer
	o, err := NewOutbox(dir, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	clock := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	o.now = func() time.Time { clock = clock.Add(time.Millisecond); return clock }

	subjects := []string{"Your sign-in code", "Bestätigen Sie Ihre Adresse"}
	for i, subject := range subjects {
		err := o.SendEmail(t.Context(), Email{
			To:      "alice@example.com",
			Subject: subject,
			Text:    "Your code is 482913" + strings.Repeat("7", i),
			HTML:    "<p>Your code is <b>482913</b></p>",
		})
		if err != nil {
			t.Fatal(err)
		}
	}

	info, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o700 {
		t.Errorf("outbox mode = %o, want 700", perm)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if len(names) != 2 || !slices.IsSorted(names) {
		t.Fatalf("outbox holds %v, want two .eml files", names)
	}
	for i, name := range names {
		if !strings.HasSuffix(name, ".eml") || !strings.HasPrefix(name, "20260301T120000.00") {
			t.Errorf("file name %q is not time-sortable .eml", name)
		}
		path := filepath.Join(dir, name)
		info, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if perm := info.Mode().Perm(); perm != 0o600 {
			t.Errorf("%s mode = %o, want 600", name, perm)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		msg, err := mail.ReadMessage(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("%s is not an RFC 5322 message: %v", name, err)
		}
		// Files are named by time, so the first file is the first mail.
		if subj := decodeSubject(t, msg); subj != subjects[i] {
			t.Errorf("%s subject = %q, want %q", name, subj, subjects[i])
		}
		if msg.Header.Get("Auto-Submitted") != "auto-generated" || msg.Header.Get("Message-Id") == "" {
			t.Errorf("%s lacks Auto-Submitted or Message-ID", name)
		}
		if !strings.Contains(string(data), "482913") {
			t.Errorf("%s does not contain the code; the operator reads codes from the outbox", name)
		}
		if !strings.Contains(logs.String(), path) {
			t.Errorf("log does not name %s:\n%s", path, logs.String())
		}
	}

	out := logs.String()
	if strings.Count(out, "\n") != 2 {
		t.Errorf("want one log line per mail, got:\n%s", out)
	}
	for _, want := range []string{"alice@example.com", "Your sign-in code"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "482913") {
		t.Errorf("log contains the body (the code):\n%s", out)
	}
}

func TestOutboxRejectsBadMessageAndWritesNothing(t *testing.T) {
	dir := t.TempDir()
	o, err := NewOutbox(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = o.SendEmail(t.Context(), Email{To: "not an address", Text: "code 1"})
	if !errors.Is(err, ErrInvalidAddress) {
		t.Errorf("err = %v, want ErrInvalidAddress", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("outbox holds %d files after a rejected message", len(entries))
	}
	if o.Dir() != dir {
		t.Errorf("Dir() = %q, want %q", o.Dir(), dir)
	}
}

func decodeSubject(t *testing.T, msg *mail.Message) string {
	t.Helper()
	s, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}
