//go:build !race

package proc

// RaceDetector reports whether this binary was built with -race.
const RaceDetector = false
