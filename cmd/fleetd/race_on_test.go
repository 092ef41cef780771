//go:build race

package main

// raceBuild is true under the race detector, which makes each of the
// storm's clients several times slower.
const raceBuild = true
