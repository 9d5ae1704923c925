package main

import (
	"github.com/urfave/cli/v2"

	"kad/transports"
)

// networkFlag is --network: the kad network a node belongs to. Nodes of different
// networks never admit each other (PROTOCOL.md, Networks).
func networkFlag() cli.Flag {
	return &cli.StringFlag{Name: "network", Value: transports.PublicNetwork, EnvVars: []string{"KAD_NETWORK"},
		Usage: "`NAME` of the network to join: public, or a private network's name (1 to 32 lowercase letters, digits, '.', '_' and '-'); nodes of different networks never admit each other"}
}

// parseNetwork reads --network: public (or empty) is the public network, returned as
// "", as the transports take it; any other value must be a network name that
// transports.CheckNetwork accepts, or it is a usage error.
func parseNetwork(s string) (string, error) {
	if s == transports.PublicNetwork {
		return "", nil
	}
	if err := transports.CheckNetwork(s); err != nil {
		return "", usageErrorf("--network: %v", err)
	}
	return s, nil
}
