//go:build race

package workshop

// RaceDetector reports whether this binary was built with -race.
const RaceDetector = true
