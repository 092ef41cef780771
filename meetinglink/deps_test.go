package meetinglink

import (
	"go/build"
	"strings"
	"testing"
)

// meetinglink is read by the calendar, the control surfaces and the call
// engine, so it must import none of them (nor anything outside the
// standard library): the dependencies point one way, towards it.
func TestImportsOnlyTheStandardLibrary(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range pkg.Imports {
		if first, _, _ := strings.Cut(imp, "/"); strings.Contains(first, ".") {
			t.Errorf("meetinglink imports %s; keep it to the standard library", imp)
		}
	}
}
