package schedule_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/roomd/roomd/room"
	"github.com/roomd/roomd/schedule"
)

func ExampleParseICS() {
	feed := []byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//example//EN\r\n" +
		"BEGIN:VEVENT\r\nUID:standup@example.com\r\nSUMMARY:Standup\r\n" +
		"DTSTART;TZID=Europe/Berlin:20250303T093000\r\nDURATION:PT15M\r\n" +
		"RRULE:FREQ=WEEKLY;BYDAY=MO,WE;COUNT=3\r\n" +
		"LOCATION:janus+wss://sfu.example.com/janus?room=1234&pin=4711\r\n" +
		"END:VEVENT\r\nEND:VCALENDAR\r\n")
	berlin, _ := time.LoadLocation("Europe/Berlin")
	cal, err := schedule.ParseICS(feed, berlin)
	if err != nil {
		fmt.Println(err)
		return
	}
	from := time.Date(2025, 3, 1, 0, 0, 0, 0, berlin)
	for _, o := range cal.Occurrences(from, from.AddDate(0, 0, 14)) {
		fmt.Println(o.Start.Format("Mon 02 Jan 15:04"), o.Title, o.Link.URI, o.Joinable)
	}
	// Output:
	// Mon 03 Mar 09:30 Standup janus+wss://sfu.example.com/janus?room=1234 true
	// Wed 05 Mar 09:30 Standup janus+wss://sfu.example.com/janus?room=1234 true
	// Mon 10 Mar 09:30 Standup janus+wss://sfu.example.com/janus?room=1234 true
}

// The daemon wires a Runner to the room like this.
func ExampleRunner() {
	ctx := context.Background()
	r := room.New(room.Options{})
	go r.Run(ctx)

	cfg := schedule.Config{ // from the [schedule] table
		URL:      "https://calendar.example.com/room-4-12.ics",
		Mode:     schedule.ModeAuto,
		RoomZone: "Europe/Berlin",
	}
	runner, err := schedule.New(schedule.Options{
		Room:     r,
		Config:   cfg,
		StateDir: "/var/lib/roomd",
		Client:   &http.Client{Timeout: time.Minute},
		Logger:   slog.Default(),
	})
	if err != nil {
		fmt.Println(err) // a configuration error: refuse to start
		return
	}
	go runner.Run(ctx)
	defer runner.Close()

	// When the fleet configuration carries a calendar:
	_ = runner.SetFleetCalendar([]byte("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"))
}
