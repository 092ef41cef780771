package panel_test

import (
	"strings"
	"testing"
	"time"

	"github.com/roomd/roomd/room"
)

// Issue 12 row 13: a device the fleet revoked says so on the admin page,
// with the time, and offers to enroll again; a failed provisioning store
// (row 2) says Failed with its reason.
func TestPanelBrowserShowsRevokedAndFailed(t *testing.T) {
	r, _ := startRoom(t)
	tp := startPanel(t, r, nil)
	b := startBrowser(t)
	b.open(tp.kiosk+"/", 1280, 800)
	b.wait(`document.querySelector('#btn-settings')`)
	b.openSettings()

	at := time.Date(2026, 12, 7, 4, 40, 0, 0, time.UTC)
	r.Report(room.ProvisioningReported{Provisioning: room.Provisioning{State: room.Revoked, ConfigVersion: 7, Since: at,
		Detail: "the fleet revoked this device at 2026-12-07T04:40:00Z"}})
	b.wait(`document.querySelector('#fleet-kv').textContent.includes('Revoked by the fleet') && !document.querySelector('#enroll-box').hidden`)
	kv := b.textOf("#fleet-kv")
	if want := eval[string](b, `new Date('2026-12-07T04:40:00Z').toLocaleString()`); !strings.Contains(kv, "Since"+want) {
		t.Errorf("the admin page shows no revocation time %q:\n%s", want, kv)
	}
	if !strings.Contains(kv, "version 7") {
		t.Errorf("the configuration in force is not shown:\n%s", kv)
	}

	r.Report(room.ProvisioningReported{Provisioning: room.Provisioning{State: room.ProvisioningFailed, Since: at,
		Detail: "enrollment.json is damaged; it is kept as enrollment.json.corrupt-20261207T044000Z"}})
	b.wait(`document.querySelector('#fleet-kv').textContent.includes('Failed') && document.querySelector('#fleet-kv').textContent.includes('enrollment.json is damaged')`)
}
