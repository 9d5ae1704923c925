package quic

import (
	"strconv"
	"testing"

	"kad/transports"
	"kad/transports/transporttest"
)

func TestConformance(t *testing.T) {
	for _, network := range []string{"", "alpha"} {
		t.Run("network "+strconv.Quote(network), func(t *testing.T) {
			transporttest.Run(t, func(t *testing.T) transports.Transport {
				return newTransport(t, Options{Network: network})
			})
		})
	}
}
