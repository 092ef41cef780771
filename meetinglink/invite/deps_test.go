package invite

import (
	"go/build"
	"strings"
	"testing"
)

// The extractor is read by the calendar and by the fleet bundle's
// validation, so it imports only meetinglink and the standard library.
func TestImportsOnlyMeetinglink(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range pkg.Imports {
		if first, _, _ := strings.Cut(imp, "/"); strings.Contains(first, ".") && imp != "github.com/roomd/roomd/meetinglink" {
			t.Errorf("invite imports %s; keep it to meetinglink and the standard library", imp)
		}
	}
}
