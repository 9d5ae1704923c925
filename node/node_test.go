package node_test

import (
	"errors"

	"kad/node"
)

func errorsIsNotFound(err error) bool { return errors.Is(err, node.ErrNotFound) }

func errorsIs(err, target error) bool { return errors.Is(err, target) }
