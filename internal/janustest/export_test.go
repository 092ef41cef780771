package janustest

// StartPastShort is Start without its -short skip, so that the missing-Janus
// test runs in make test-unit too.
var StartPastShort = start
