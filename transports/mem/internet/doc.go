// Package internet is a model of the internet's round trips for the mem network: it
// places each host at a city, drawn in proportion to the city's internet users, and
// gives a message between two hosts the delay their positions call for.
//
//	m, err := internet.New(internet.Options{Seed: 1}) // 1 % loss, 5 % slow hosts
//	nw, err := mem.NewNetwork(mem.Options{Model: m, Seed: 1})
//	rtt := m.RTT(a.LocalAddr().Addr(), b.LocalAddr().Addr())
//
// A message's one-way delay is the sum of
//   - each host's last-mile delay, drawn per host (log-normal, median 7 ms, p90 17 ms);
//   - the great-circle distance between the hosts (each within 100 km of its city's
//     centre), times an inflation of 1.65 for the detours of real routes, at two thirds of
//     the speed of light (in fibre);
//   - per message, jitter of up to 10 % of that, and for each slow host (5 %) an extra
//     delay from a Pareto distribution of scale 20 ms and shape 1.5, capped at 5 s;
//
// and 1 % of messages are lost. So delays are consistent — A to B takes as long as B
// to A, and the triangle inequality holds — and every figure comes from the seed and
// the host's address alone, whatever order hosts are first seen in.
//
// Calibration: between two random hosts more than 500 km apart, the median round trip is
// 3.2 times what light in a vacuum takes along the great circle (2.1 times light in
// fibre). That is the inflation of ping round trips measured by Singla, Chandrasekaran,
// Godfrey and Maggs ("The Internet at the Speed of Light", HotNets 2014) and the rule of
// thumb of Bozkurt et al. ("Dissecting Latency in the Internet's Fiber Infrastructure",
// 2017). Over all pairs of hosts the model's round trips have a median of 145 ms and a
// p90 of 273 ms (TestCalibration logs them).
package internet
