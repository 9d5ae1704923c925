// Package integration runs clusters of real `kad node` processes on 127.0.0.1, over
// every transport, and drives them through their consoles. It holds only tests: the
// kad binary is built once in TestMain, then each test starts processes with pipes on
// their standard input and output, reads every answer with a deadline, and stops them
// with SIGTERM (or kills them in t.Cleanup if a test fails first).
package integration
