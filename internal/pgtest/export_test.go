package pgtest

// StartPastShort is Start without its -short skip, so that the
// missing-PostgreSQL test runs in make test-unit too.
var StartPastShort = start
