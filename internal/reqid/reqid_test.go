package reqid

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
)

func TestOnlyWellFormedIDsAreTaken(t *testing.T) {
	for _, ok := range []string{"a", "3f2c1a9b0d1e4f00", "123e4567-e89b-12d3-a456-426614174000", "Root=1-5759e988-bd862e3fe1be46a994272793",
		"YWJj+ZGVm/Zw==", strings.Repeat("x", MaxLen)} {
		if !Valid(ok) || Choose(ok) != ok {
			t.Errorf("%q refused", ok)
		}
	}
	for _, bad := range []string{"", strings.Repeat("x", MaxLen+1), "a b", "a\nb", "a\"b", "<script>", "a;b", "ä", "a\x00"} {
		if Valid(bad) {
			t.Errorf("%q accepted", bad)
		}
		if got := Choose(bad); got == bad || !Valid(got) || len(got) != 24 {
			t.Errorf("Choose(%q) = %q, want a new id", bad, got)
		}
	}
	if New() == New() {
		t.Fatal("two new ids are equal")
	}
}

func TestLogLinesWithTheContextCarryTheID(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(Handler(slog.NewJSONHandler(&buf, nil))).With("component", "test")
	ctx := With(context.Background(), "req-1")
	log.InfoContext(ctx, "with")
	log.Info("without")
	log.WithGroup("g").InfoContext(ctx, "grouped", "k", "v")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines: %s", len(lines), buf.String())
	}
	var first, second map[string]any
	json.Unmarshal([]byte(lines[0]), &first)
	json.Unmarshal([]byte(lines[1]), &second)
	if first["request_id"] != "req-1" || first["component"] != "test" {
		t.Errorf("with context: %s", lines[0])
	}
	if _, ok := second["request_id"]; ok {
		t.Errorf("without context: %s", lines[1])
	}
	if !strings.Contains(lines[2], "req-1") {
		t.Errorf("grouped: %s", lines[2])
	}
	if From(context.Background()) != "" {
		t.Error("From of an empty context")
	}
}
