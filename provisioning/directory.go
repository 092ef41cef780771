package provisioning

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/roomd/roomd/meetinglink"
)

// MaxDirectoryEntries is the most rooms a bundle's directory may list.
const MaxDirectoryEntries = 200

// DirectoryEntry is one room of the organisation in the bundle's
// directory: the panel's "Call a room" list shows Name and calls URI.
type DirectoryEntry struct {
	Name string `json:"name"`
	URI  string `json:"uri"` // sip: or sips:
}

// validateDirectory checks the directory: at most [MaxDirectoryEntries],
// each with a name (1 to [MaxRoomNameBytes] bytes of UTF-8) and a SIP
// address the room can call.
func validateDirectory(d []DirectoryEntry) error {
	if len(d) > MaxDirectoryEntries {
		return fmt.Errorf("directory has %d rooms; at most %d", len(d), MaxDirectoryEntries)
	}
	for i, e := range d {
		if strings.TrimSpace(e.Name) == "" || len(e.Name) > MaxRoomNameBytes || !utf8.ValidString(e.Name) {
			return fmt.Errorf("directory entry %d: name must be 1 to %d bytes of text", i+1, MaxRoomNameBytes)
		}
		l, err := meetinglink.Parse(e.URI)
		if err != nil {
			return fmt.Errorf("directory entry %d (%s): %w", i+1, e.Name, err)
		}
		if l.Provider != meetinglink.SIP {
			return fmt.Errorf("directory entry %d (%s): the address must be a sip: or sips: URI", i+1, e.Name)
		}
	}
	return nil
}
