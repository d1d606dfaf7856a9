package api

import (
	"encoding/base64"
	"strconv"
	"strings"
)

// Cursors are opaque to clients: a kind and the key of the last row of a
// page, base64url-encoded. The user list pages by ID ascending, the audit
// search by event ID descending (keyset pagination: each page is one index
// range, however deep).
const (
	cursorUsers = "u1:"
	cursorAudit = "a1:"
)

func encodeCursor(kind, key string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(kind + key))
}

// decodeCursor returns the key of a cursor of kind, or errType naming the
// cursor parameter.
func decodeCursor(kind, c string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	key, ok := strings.CutPrefix(string(b), kind)
	if err != nil || !ok || key == "" {
		return "", errType.WithMessage("cursor is not a next_cursor this endpoint returned.").WithField("cursor")
	}
	return key, nil
}

// decodeAuditCursor returns the event ID a cursor of the audit search
// names.
func decodeAuditCursor(c string) (int64, error) {
	key, err := decodeCursor(cursorAudit, c)
	if err != nil {
		return 0, err
	}
	id, perr := strconv.ParseInt(key, 10, 64)
	if perr != nil || id <= 0 {
		return 0, errType.WithMessage("cursor is not a next_cursor this endpoint returned.").WithField("cursor")
	}
	return id, nil
}
