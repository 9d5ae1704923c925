//go:build !unix

package figures

import "time"

// processCPU returns 0: this system offers no getrusage, so Idle reads as 1.
func processCPU() time.Duration { return 0 }
