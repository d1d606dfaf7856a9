package pgtest

import "testing"

func TestWithDatabase(t *testing.T) {
	tests := []struct{ name, dsn, want string }{
		{"url keeps its query", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable",
			"postgres://postgres@127.0.0.1:5432/x?sslmode=disable"},
		{"url without a database", "postgresql://u:p@db", "postgresql://u:p@db/x"},
		{"key=value string", "host=/tmp user=postgres dbname=postgres", "host=/tmp user=postgres dbname=postgres dbname=x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := withDatabase(tt.dsn, "x")
			if err != nil || got != tt.want {
				t.Errorf("withDatabase(%q) = %q, %v; want %q", tt.dsn, got, err, tt.want)
			}
		})
	}
}
