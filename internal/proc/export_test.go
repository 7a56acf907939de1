package proc

// DieWithParent lets a test turn off the system's own tie between a child
// and its parent, to see the pipe alone at work.
var DieWithParent = &dieWithParent
