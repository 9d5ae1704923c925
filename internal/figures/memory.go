package figures

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"time"
)

// Memory is the process's memory and goroutines at one moment.
type Memory struct {
	Heap       uint64 // live heap after a collection (runtime.MemStats.HeapAlloc)
	RSS        uint64 // resident set size (VmRSS), 0 where /proc/self/status is missing
	Goroutines int
}

// ReadMemory collects garbage, returns freed memory to the OS (so that RSS follows the
// heap down), and reads the heap, the RSS and the number of goroutines.
func ReadMemory() Memory {
	debug.FreeOSMemory() // runs a full collection first
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return Memory{Heap: ms.HeapAlloc, RSS: readRSS(), Goroutines: runtime.NumGoroutine()}
}

// WriteHeapProfile writes a heap profile (runtime/pprof, of the last collection) to w,
// if w is not nil.
func WriteHeapProfile(w io.Writer) error {
	if w == nil {
		return nil
	}
	if err := pprof.Lookup("heap").WriteTo(w, 0); err != nil {
		return fmt.Errorf("heap profile: %w", err)
	}
	return nil
}

// Settle waits, for at most limit, until the number of goroutines reads the same twice
// in a row a few milliseconds apart: goroutines that outlive an operation by a little
// (a ping in flight, a handler writing its reply) have ended. It returns the count.
func Settle(limit time.Duration) int {
	const step = 10 * time.Millisecond
	prev := runtime.NumGoroutine()
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); {
		time.Sleep(step)
		now := runtime.NumGoroutine()
		if now == prev {
			return now
		}
		prev = now
	}
	return prev
}

// PerNode returns (after - before) / n, which may be negative when the process gave
// memory back.
func PerNode(after, before uint64, n int) float64 {
	return (float64(after) - float64(before)) / float64(n)
}

// MachineMemory returns the machine's memory in bytes (MemTotal of /proc/meminfo), or 0
// where it cannot be read.
func MachineMemory() uint64 { return procKB("/proc/meminfo", "MemTotal:") }

// readRSS returns VmRSS from /proc/self/status in bytes, or 0 if it cannot.
func readRSS() uint64 { return procKB("/proc/self/status", "VmRSS:") }

// procKB returns in bytes the field of a /proc file written "key 123456 kB", or 0.
func procKB(path, key string) uint64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		rest, ok := bytes.CutPrefix(sc.Bytes(), []byte(key))
		if !ok {
			continue
		}
		f := bytes.Fields(rest) // "123456", "kB"
		if len(f) != 2 || string(f[1]) != "kB" {
			return 0
		}
		kb, err := strconv.ParseUint(string(f[0]), 10, 64)
		if err != nil {
			return 0
		}
		return kb * 1024
	}
	return 0
}
