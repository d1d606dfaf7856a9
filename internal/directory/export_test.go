package directory

import (
	"errors"

	"github.com/twofold-id/twofold/internal/problem"
)

func FieldOf(err error) string {
	var pe *problem.Error
	if errors.As(err, &pe) {
		return pe.Field
	}
	return ""
}
