package admin

import (
	"strings"
	"testing"
)

func FuzzParseUserCSV(f *testing.F) {
	for _, s := range []string{
		"username,email,role\nanna,a@example.com,member\n",
		"Username,Name\r\n\"b, c\",\"multi\nline\"\r\n",
		"username\n\"unterminated\n",
		"username,email\nx\n",
		"\ufeffusername,mfa_required\nx,maybe\n",
		"", "nope,columns\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := ParseUserCSV(strings.NewReader(in), "acme")
		if err != nil {
			if got.Users != nil || got.Problems != nil {
				t.Fatalf("an error with results: %+v", got)
			}
			return
		}
		if len(got.Users) != len(got.Lines) {
			t.Fatalf("%d users but %d lines", len(got.Users), len(got.Lines))
		}
		prev := 1
		for i, l := range got.Lines {
			if l <= prev {
				t.Fatalf("line %d of user %d is not after %d", l, i, prev)
			}
			prev = l
			if got.Users[i].OrgSlug == "" {
				t.Fatalf("user %d has no org", i)
			}
		}
		if len(got.Users)+len(got.Problems) == 0 {
			t.Fatal("no users and no problems, without an error")
		}
	})
}

func TestParseUserCSVNamesTheLineOfEachProblem(t *testing.T) {
	got, err := ParseUserCSV(strings.NewReader("username,mfa_required\nann,yes\nbob,perhaps\n\ncat,no,extra\n\"multi\nline\",no\ndan,\n"), "acme")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, u := range got.Users {
		names = append(names, u.Username)
	}
	if strings.Join(names, "|") != "ann|multi\nline|dan" || got.Lines[1] != 6 || got.Lines[2] != 8 {
		t.Errorf("users %q at lines %v", names, got.Lines)
	}
	if len(got.Problems) != 2 || got.Problems[0].Index != 3 || got.Problems[1].Index != 5 {
		t.Errorf("problems %+v, want lines 3 (mfa_required) and 5 (field count)", got.Problems)
	}
	for _, bad := range []string{"", "email\nx\n", "username,shoe_size\n", "username,username\n", "username\n"} {
		if _, err := ParseUserCSV(strings.NewReader(bad), "acme"); err == nil {
			t.Errorf("%q was accepted", bad)
		}
	}
}
