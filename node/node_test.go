package node_test

import (
	"errors"
	"testing"

	"go.uber.org/goleak"

	"kad/node"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func errorsIsNotFound(err error) bool { return errors.Is(err, node.ErrNotFound) }

func errorsIs(err, target error) bool { return errors.Is(err, target) }
