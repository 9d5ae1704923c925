// Package cluster starts a set of kad nodes in this process, over any transport, for the
// tests and the cluster benchmark: one builder with options (transport, mem network,
// node configuration, how nodes join), and the operations scenarios need — Kill,
// Restart, Partition, Heal, TrueClosest.
//
//	c := cluster.New(t, 50, cluster.Options{Transport: transport.UDP})
//	got, err := c.Nodes[0].Lookup(ctx, target)
//	want := c.TrueClosest(target, 20, c.Nodes[0].ID())
//
// New is for tests: it fails the test on an error and closes every node when the test
// ends. Start is the same without a testing.TB, for the benchmark.
package cluster
