package quic

import (
	"testing"

	"kad/transports"
	"kad/transports/transporttest"
)

func TestConformance(t *testing.T) {
	transporttest.Run(t, func(t *testing.T) transports.Transport {
		return newTransport(t, Options{})
	})
}
