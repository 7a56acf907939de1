package lock

import "time"

// SetCleanupTimeout changes cleanupTimeout for one test; restore puts it back.
func SetCleanupTimeout(d time.Duration) (restore func()) {
	old := cleanupTimeout
	cleanupTimeout = d
	return func() { cleanupTimeout = old }
}
