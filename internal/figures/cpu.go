package figures

import (
	"bufio"
	"bytes"
	"os"
	"runtime"
	"strconv"
	"time"
)

// CPU is a reading of the clocks against which a phase's CPU use is measured: the wall
// clock, this process's CPU time, and the host's CPU counters.
type CPU struct {
	Wall    time.Time
	Process time.Duration // user and system CPU time of this process so far
	Procs   int           // GOMAXPROCS: the CPUs the process may keep busy
	// The host's idle and total CPU time in clock ticks (the "cpu" line of /proc/stat),
	// both 0 where it cannot be read.
	hostIdle, hostTotal uint64
}

// ReadCPU reads the clocks.
func ReadCPU() CPU {
	c := CPU{Wall: time.Now(), Process: processCPU(), Procs: runtime.GOMAXPROCS(0)}
	c.hostIdle, c.hostTotal = readHostCPU()
	return c
}

// CPUUsage is what a process did with the CPUs between two readings.
type CPUUsage struct {
	Wall    time.Duration
	Process time.Duration // CPU time the process used
	// Idle is the fraction of the process's CPUs (wall time × GOMAXPROCS) it left
	// unused, from 0 to 1.
	Idle float64
	// HostIdle is the fraction of the host's CPU time that was idle, whoever used the
	// rest; -1 where the host's counters cannot be read.
	HostIdle float64
}

// Since returns the CPU use from before to c.
func (c CPU) Since(before CPU) CPUUsage {
	u := CPUUsage{Wall: c.Wall.Sub(before.Wall), Process: c.Process - before.Process, HostIdle: -1}
	if capacity := float64(u.Wall) * float64(c.Procs); capacity > 0 {
		u.Idle = min(max(1-float64(u.Process)/capacity, 0), 1)
	}
	if total := c.hostTotal - before.hostTotal; c.hostTotal > before.hostTotal {
		u.HostIdle = float64(c.hostIdle-before.hostIdle) / float64(total)
	}
	return u
}

// readHostCPU returns the idle (idle and iowait) and total CPU time of the "cpu" line of
// /proc/stat, or zeros.
func readHostCPU() (idle, total uint64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	if !sc.Scan() {
		return 0, 0
	}
	f := bytes.Fields(sc.Bytes()) // cpu user nice system idle iowait irq softirq steal …
	if len(f) < 9 || string(f[0]) != "cpu" {
		return 0, 0
	}
	for i, v := range f[1:9] {
		n, err := strconv.ParseUint(string(v), 10, 64)
		if err != nil {
			return 0, 0
		}
		total += n
		if i == 3 || i == 4 {
			idle += n
		}
	}
	return idle, total
}
