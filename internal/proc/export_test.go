package proc

// DieWithParent lets a test turn off the system's own tie between a child
// and its parent, to see the pipe alone at work.
var DieWithParent = &dieWithParent

// Stderr is what the child has printed on its stderr so far.
func (c *Child) Stderr() string { return c.stderr.String() }
