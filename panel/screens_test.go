package panel_test

import (
	"testing"
	"time"

	"github.com/roomd/roomd/room"
)

// Every screen at both panel sizes: saved as a screenshot (see
// artifactsDir) and checked for clipped text, elements off the screen and
// tap targets under 44 px.
func TestPanelScreenshots(t *testing.T) {
	for _, size := range [][2]int64{{1280, 800}, {800, 480}} {
		t.Run(itoa(int(size[0]))+"x"+itoa(int(size[1])), func(t *testing.T) {
			w, h := size[0], size[1]
			r, _ := startRoom(t)
			tp := startPanel(t, r, nil)
			schedule(r)
			syncRoom(t, r)
			b := startBrowser(t)
			b.open(tp.kiosk+"/", w, h)
			b.wait(`document.querySelector('#btn-join-offer')`)
			b.shoot("home")

			// In call, with the call's figures.
			b.tap("#btn-join-offer")
			b.wait(`document.querySelector('#call-state').dataset.state === 'InCall' && document.querySelector('#participants').textContent === '3'`)
			b.shoot("call")
			b.tap("#mute")
			b.wait(`document.querySelector('#mute').dataset.muted === 'true'`)
			b.tap("#privacy")
			b.wait(`document.querySelector('#privacy').dataset.privacy === 'true'`)
			b.shoot("call-muted")
			s := r.Snapshot()
			r.Report(room.CallReported{Seq: s.CallSeq, State: room.Reconnecting, Reason: "the network dropped; getting the media back"})
			b.wait(`document.querySelector('#call-state').dataset.state === 'Reconnecting'`)
			b.shoot("call-reconnecting")
			r.Report(room.CallReported{Seq: s.CallSeq, State: room.Failed, Reason: "the meeting server stopped answering"})
			b.wait(`document.querySelector('#call-state').dataset.state === 'Failed' && !document.querySelector('#btn-retry').hidden`)
			b.shoot("call-failed")
			b.tap("#btn-dismiss")
			b.wait(`document.body.dataset.screen === 'home'`)

			// Degraded: calendar and fleet unreachable, the camera gone.
			offer := schedule(r)
			r.Report(room.ScheduleReported{Next: r.Snapshot().NextMeetings, Offer: offer, StaleSince: time.Now().Add(-12 * time.Minute)})
			r.Report(room.ProvisioningReported{Provisioning: room.Provisioning{State: room.Enrolled, ConfigVersion: 14, Stale: true, Detail: "fleet.example.com: connection refused"}})
			hw := append(r.Snapshot().Hardware, room.Device{Name: "camera", Kind: "camera", State: "failed", Reason: "/dev/video0 is gone"})
			r.Report(room.HardwareReported{Devices: hw})
			b.wait(`document.querySelectorAll('.banner').length === 3`)
			b.shoot("home-degraded")

			// Settings: PIN pad, then each part.
			b.tap("#btn-settings")
			b.wait(`document.body.dataset.screen === 'settings' && !document.querySelector('#pin-view').hidden`)
			b.tap(`#pin-pad .key[data-key="1"]`)
			b.tap(`#pin-pad .key[data-key="2"]`)
			b.shoot("settings-pin")
			b.tap(`#pin-pad .key[data-key="3"]`)
			b.tap(`#pin-pad .key[data-key="4"]`)
			b.tap(`#pin-pad .key[data-key="ok"]`)
			b.wait(`!document.querySelector('#settings-view').hidden`)
			r.Report(room.ProvisioningReported{Provisioning: room.Provisioning{State: room.Unenrolled}})
			b.wait(`!document.querySelector('#enroll-box').hidden`)
			b.shoot("settings-fleet")
			for _, tab := range []string{"network", "hardware", "panels", "log"} {
				b.tap(`.tab[data-tab="` + tab + `"]`)
				b.wait(`!document.querySelector('[data-pane="` + tab + `"]').hidden && window.panel.lastInfo`)
				b.shoot("settings-" + tab)
			}
			// Pairing: the kiosk shows the code a tablet asked for.
			b.tap(`.tab[data-tab="panels"]`)
			b.tap("#btn-pair")
			b.wait(`!document.querySelector('#pair-modal').hidden`)
			code := <-tp.codes
			if got := b.textOf("#pair-code"); got != code[:3]+" "+code[3:] {
				t.Errorf("kiosk shows code %q, want %q", got, code)
			}
			b.shoot("pairing-kiosk")
			b.tap("#btn-pair-hide")
			b.tap(`.tab.close`)
			b.wait(`document.body.dataset.screen === 'home'`)

			// The tablet's side of pairing.
			rb := startBrowser(t)
			rb.open(tp.remote+"/", w, h)
			rb.wait(`document.body.dataset.screen === 'pair'`)
			rb.tap(`#pair-pad .key[data-key="4"]`)
			rb.tap(`#pair-pad .key[data-key="2"]`)
			rb.shoot("pairing-remote")
		})
	}
}
