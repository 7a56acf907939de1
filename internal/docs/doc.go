// Package docs holds no code, only tests that keep the workshop's documents
// honest: every README has its counterpart in the other language, the two
// agree on the commands they show, and every command the teacher's guide
// (TEACHING.md) tells a teacher to run is one that go test or CI runs.
package docs
