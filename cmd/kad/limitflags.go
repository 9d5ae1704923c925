package main

import (
	"github.com/urfave/cli/v2"

	"kad/node"
)

// limitFlags is what the flags of a node's limits on strangers say, checked: each a
// node.Config field, -1 for no limit.
type limitFlags struct {
	recordsPerSender int
	bytesPerSender   int64
	published        int
	everywhere       bool
}

// limitFlagList is the flags of a node's limits on strangers, with node.Config's
// defaults.
func limitFlagList() []cli.Flag {
	def := node.DefaultConfig()
	return []cli.Flag{
		&cli.IntFlag{Name: "max-records-per-sender", Value: def.MaxRecordsPerSender, EnvVars: []string{"KAD_MAX_RECORDS_PER_SENDER"},
			Usage: "`N` records one sender (a public IP, or an IP and port for loopback and private addresses) may hold on this node; -1 for no limit"},
		// An IntFlag, not an Int64Flag, so that a --config file can set it too.
		&cli.IntFlag{Name: "max-bytes-per-sender", Value: int(def.MaxBytesPerSender), EnvVars: []string{"KAD_MAX_BYTES_PER_SENDER"},
			Usage: "`BYTES` of values one sender may hold on this node; -1 for no limit"},
		&cli.IntFlag{Name: "max-published", Value: def.MaxPublished, EnvVars: []string{"KAD_MAX_PUBLISHED"},
			Usage: "`N` records this node may publish (and republish) at once; -1 for no limit"},
		&cli.BoolFlag{Name: "subnet-limits-everywhere", EnvVars: []string{"KAD_SUBNET_LIMITS_EVERYWHERE"},
			Usage: "apply the routing table's subnet limits, and count senders for the rate limit and store quotas, at loopback and private addresses as at public ones"},
	}
}

// parseLimitFlags checks the flags of limitFlagList; every error is a usage error. 0 is
// refused: in node.Config it would mean the default, not "none".
func parseLimitFlags(c *cli.Context) (limitFlags, error) {
	l := limitFlags{
		recordsPerSender: c.Int("max-records-per-sender"),
		bytesPerSender:   int64(c.Int("max-bytes-per-sender")),
		published:        c.Int("max-published"),
		everywhere:       c.Bool("subnet-limits-everywhere"),
	}
	for _, f := range []struct {
		name string
		v    int64
	}{
		{"max-records-per-sender", int64(l.recordsPerSender)},
		{"max-bytes-per-sender", l.bytesPerSender},
		{"max-published", int64(l.published)},
	} {
		if f.v == 0 || f.v < -1 {
			return l, usageErrorf("--%s %d: want a number more than 0, or -1 for no limit", f.name, f.v)
		}
	}
	return l, nil
}

// apply sets the limits in cfg.
func (l limitFlags) apply(cfg *node.Config) {
	cfg.MaxRecordsPerSender = l.recordsPerSender
	cfg.MaxBytesPerSender = l.bytesPerSender
	cfg.MaxPublished = l.published
	cfg.SubnetLimitsEverywhere = l.everywhere
}
