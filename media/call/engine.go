// Package call puts the room into meetings: it implements room.CallEngine
// on top of the capture sources, the encoders, pion's transport with
// congestion control and a meeting provider (Janus VideoRoom, or WHIP to
// publish and WHEP to receive), and feeds what it receives to the display
// compositor.
//
// One goroutine runs each call. It reports to the room only through the
// report function (room.Room.Report), never by touching state: InCall once
// media flows, Reconnecting while it rejoins after the server or the network
// dropped it, Failed with a reason a person understands, Idle when it left.
package call

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/mediadevices/pkg/wave"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
	"github.com/pion/webrtc/v4/pkg/media/samplebuilder"

	roommedia "github.com/roomd/roomd/media"
	"github.com/roomd/roomd/media/capture"
	"github.com/roomd/roomd/media/codec"
	"github.com/roomd/roomd/media/display"
	"github.com/roomd/roomd/media/janus"
	"github.com/roomd/roomd/media/playout"
	"github.com/roomd/roomd/media/transport"
	"github.com/roomd/roomd/media/whip"
	"github.com/roomd/roomd/meetinglink"
	"github.com/roomd/roomd/room"
)

// Sources open the room's camera and microphone for a call.
type Sources struct {
	Video func() (capture.VideoSource, error)
	Audio func() (capture.AudioSource, error)
}

// Config configures the engine. Zero fields take defaults.
type Config struct {
	Display    string // name shown to the other participants
	Sources    Sources
	Mic        *roommedia.Gate // closed = muted
	Camera     *roommedia.Gate // closed = privacy
	Compositor *display.Compositor
	// Playout mixes the participants' audio for the speaker; nil drops it.
	Playout *playout.Mixer
	// Video encoder preferences and limits.
	Codecs     []string // MIME types, best first; default H.264 then VP8
	NoHardware bool
	Width      int
	Height     int
	FPS        float64
	Transport  transport.Config
	// Rejoin backoff after the server or network dropped the call.
	RetryMin, RetryMax time.Duration
	Logger             *slog.Logger
	// Links reads meeting links; nil means meetinglink.Standard().
	Links *meetinglink.Registry
}

// Engine runs calls. It is safe for concurrent use.
type Engine struct {
	cfg    Config
	report func(room.Report)
	log    *slog.Logger
	fac    *transport.Factory

	mu    sync.Mutex
	calls map[uint64]*activeCall
	stats Stats
	caps  caps // the fleet's media caps (caps.go)
}

// Stats is what the engine knows about the current call, for status.
type Stats struct {
	Encoder       string // which encoder and why
	VideoSource   string
	AudioSource   string
	TargetBitrate int // bit/s, from congestion control
	FramesSent    uint64
	Participants  []string
	FramesDecoded map[string]uint64 // per remote participant
	AudioPackets  map[string]uint64
	// Received is each remote participant's video as roomd decodes it.
	Received map[string]ReceivedVideo
	// RecvBitrate is what the meeting sends roomd, bit/s of RTP payload
	// (audio and video of every participant), over the last report.
	RecvBitrate int
}

// ReceivedVideo is one remote participant's video as decoded.
type ReceivedVideo struct {
	Width, Height int     // of the last picture decoded
	FPS           float64 // pictures decoded per second over the last report
	Bitrate       int     // bit/s of RTP payload (audio and video) over the last report

	frames, bytes uint64 // running totals behind the rates
}

type activeCall struct {
	cancel context.CancelFunc
	done   chan struct{}
	ended  atomic.Bool
}

// New makes an engine; report receives the call's progress (room.Room.Report).
func New(cfg Config, report func(room.Report)) (*Engine, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Mic == nil {
		cfg.Mic = &roommedia.Gate{}
	}
	if cfg.Camera == nil {
		cfg.Camera = &roommedia.Gate{}
	}
	if cfg.Display == "" {
		cfg.Display = "roomd"
	}
	if cfg.FPS == 0 {
		cfg.FPS = 30
	}
	if cfg.Links == nil {
		cfg.Links = meetinglink.Standard()
	}
	if cfg.RetryMin == 0 {
		cfg.RetryMin = 500 * time.Millisecond
	}
	if cfg.RetryMax == 0 {
		cfg.RetryMax = 10 * time.Second
	}
	if cfg.Sources.Video == nil || cfg.Sources.Audio == nil {
		return nil, errors.New("call: the engine needs a video and an audio source")
	}
	tc := cfg.Transport
	user := tc.SettingEngine
	tc.SettingEngine = func(se *webrtc.SettingEngine) {
		janus.ConfigureSettingEngine(se)
		if user != nil {
			user(se)
		}
	}
	fac, err := transport.New(tc)
	if err != nil {
		return nil, err
	}
	return &Engine{cfg: cfg, report: report, log: cfg.Logger, fac: fac, calls: map[uint64]*activeCall{}}, nil
}

// Stats returns a copy of the current call's figures.
func (e *Engine) Stats() Stats {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.stats
	s.Participants = append([]string(nil), s.Participants...)
	s.FramesDecoded, s.AudioPackets, s.Received = map[string]uint64{}, map[string]uint64{}, map[string]ReceivedVideo{}
	for k, v := range e.stats.Received {
		s.Received[k] = v
	}
	for k, v := range e.stats.FramesDecoded {
		s.FramesDecoded[k] = v
	}
	for k, v := range e.stats.AudioPackets {
		s.AudioPackets[k] = v
	}
	return s
}

// Start begins call seq; it returns at once and reports progress.
func (e *Engine) Start(ctx context.Context, seq uint64, m room.Meeting) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	c := &activeCall{cancel: cancel, done: make(chan struct{})}
	e.mu.Lock()
	e.calls[seq] = c
	e.stats = Stats{FramesDecoded: map[string]uint64{}, AudioPackets: map[string]uint64{}, Received: map[string]ReceivedVideo{}}
	e.mu.Unlock()
	go func() {
		defer close(c.done)
		defer cancel()
		e.run(ctx, seq, m, c)
		e.mu.Lock()
		delete(e.calls, seq)
		e.mu.Unlock()
	}()
}

// End leaves call seq; it returns at once and reports Idle when it has left.
func (e *Engine) End(seq uint64) {
	e.mu.Lock()
	c := e.calls[seq]
	e.mu.Unlock()
	if c == nil {
		e.report(room.CallReported{Seq: seq, State: room.Idle})
		return
	}
	c.ended.Store(true)
	c.cancel()
}

// Wait blocks until every call has finished, for an orderly shutdown.
func (e *Engine) Wait() {
	e.mu.Lock()
	var cs []*activeCall
	for _, c := range e.calls {
		cs = append(cs, c)
	}
	e.mu.Unlock()
	for _, c := range cs {
		<-c.done
	}
}

// reason turns a join error into words for the room's status.
func reason(err error) string {
	switch {
	case errors.Is(err, janus.ErrUnauthorized), errors.Is(err, whip.ErrUnauthorized):
		return "wrong meeting passcode"
	case errors.Is(err, janus.ErrRoomNotFound), errors.Is(err, whip.ErrNotFound):
		return "meeting room not found"
	case errors.Is(err, janus.ErrRoomFull):
		return "meeting room is full"
	case errors.Is(err, janus.ErrUnreachable), errors.Is(err, whip.ErrUnreachable):
		return "meeting server unreachable"
	case errors.Is(err, ErrUnsupportedLink):
		return err.Error()
	}
	return err.Error()
}

// permanent says whether rejoining cannot help.
func permanent(err error) bool {
	return errors.Is(err, janus.ErrUnauthorized) || errors.Is(err, janus.ErrRoomNotFound) || errors.Is(err, ErrUnsupportedLink) ||
		errors.Is(err, whip.ErrUnauthorized) || errors.Is(err, whip.ErrNotFound)
}

func (e *Engine) run(ctx context.Context, seq uint64, m room.Meeting, c *activeCall) {
	say := func(s room.CallState, why string) { e.report(room.CallReported{Seq: seq, State: s, Reason: why}) }
	target, err := parseTarget(e.cfg.Links, m.URI)
	if err != nil {
		say(room.Failed, reason(err))
		return
	}
	log := e.log.With("call", seq, "meeting", m.ID)

	// Local media runs for the whole call, across rejoins.
	codecs := e.cfg.Codecs
	if len(codecs) == 0 {
		codecs = []string{codec.MimeH264, codec.MimeVP8}
	}
	// The sender is made while the call starts joining (see senderJob).
	job := e.startSender(ctx, log, codecs)
	defer func() {
		if s, err := job.result(); err == nil {
			s.close()
		}
	}()

	joined := false
	delay := e.cfg.RetryMin
	for {
		lost, err := e.session(ctx, seq, target, m, job, log, func() {
			if !joined {
				log.Info("call: in the meeting")
			} else {
				log.Info("call: back in the meeting")
			}
			joined = true
			delay = e.cfg.RetryMin
			say(room.InCall, "")
		})
		if ctx.Err() != nil {
			if c.ended.Load() {
				say(room.Idle, "")
			}
			return
		}
		if _, serr := job.result(); serr != nil && errors.Is(err, serr) {
			say(room.Failed, "camera or microphone: "+serr.Error())
			return
		}
		if errors.Is(err, webrtc.ErrUnsupportedCodec) {
			// The room takes another codec (Debian's demo room is VP8
			// only): drop the one it refused and offer the next.
			sender, _ := job.result()
			codecs = slices.DeleteFunc(slices.Clone(codecs), func(c string) bool { return strings.EqualFold(c, sender.enc.Codec) })
			if len(codecs) == 0 {
				say(room.Failed, "the meeting server accepts none of roomd's video codecs")
				return
			}
			log.Info("call: the meeting refused the video codec; trying the next", "refused", sender.enc.Codec, "next", codecs[0])
			sender.close()
			job = e.startSender(ctx, log, codecs)
			if _, err := job.result(); err != nil {
				say(room.Failed, "camera or microphone: "+err.Error())
				return
			}
			continue
		}
		if !joined && (permanent(err) || errors.Is(err, janus.ErrUnreachable) || errors.Is(err, whip.ErrUnreachable)) {
			log.Warn("call: join failed", "err", err)
			say(room.Failed, reason(err))
			return
		}
		if joined && permanent(err) {
			say(room.Failed, reason(err))
			return
		}
		why := "connection to the meeting lost"
		if err != nil {
			why = reason(err)
		}
		if lost != "" {
			why = lost
		}
		log.Warn("call: reconnecting", "why", why, "in", delay)
		say(room.Reconnecting, why)
		select {
		case <-ctx.Done():
			if c.ended.Load() {
				say(room.Idle, "")
			}
			return
		case <-time.After(delay):
		}
		delay = min(delay*2, e.cfg.RetryMax)
	}
}

// provider joins one kind of meeting server, chosen by the meeting link's
// provider (see parseTarget). Join runs one session: it joins, calls connected
// once media flows, and returns when the session ends, with why it was
// lost or the join error. Everything it starts must end with ctx. A new
// provider (LiveKit is next) implements this and registers its scheme.
type provider interface {
	// Join waits for the sender (job.wait) only when it needs the room's
	// tracks, and returns the sender's error as it is.
	Join(ctx context.Context, e *Engine, seq uint64, t Target, m room.Meeting, job *senderJob, log *slog.Logger, connected func()) (lost string, err error)
}

// providers maps Target.Provider to its implementation.
var providers = map[string]provider{
	"janus": janusProvider{},
	"whip":  whipProvider{},
}

// session joins once and runs until the session ends. It returns why the
// session was lost, or the join error.
func (e *Engine) session(ctx context.Context, seq uint64, t Target, m room.Meeting, s *senderJob, log *slog.Logger, connected func()) (string, error) {
	// Everything started for this session (feedback loops, the bitrate
	// controller, receivers) ends with it.
	ctx, endSession := context.WithCancel(ctx)
	defer endSession()
	p, ok := providers[t.Provider]
	if !ok {
		return "", fmt.Errorf("%w (%s)", ErrUnsupportedLink, t.Provider)
	}
	return p.Join(ctx, e, seq, t, m, s, log, connected)
}

// janusProvider joins Janus VideoRooms over the WebSocket API.
type janusProvider struct{}

// Join publishes the room's tracks and subscribes to every other feed.
func (janusProvider) Join(ctx context.Context, e *Engine, seq uint64, t Target, m room.Meeting, job *senderJob, log *slog.Logger, connected func()) (string, error) {
	pub, err := e.fac.NewPeerConnection()
	if err != nil {
		return "", err
	}
	defer pub.PeerConnection.Close()
	up := make(chan struct{}, 1)
	failed := make(chan string, 1)
	pub.PeerConnection.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		switch st {
		case webrtc.PeerConnectionStateConnected:
			select {
			case up <- struct{}{}:
			default:
			}
		case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateDisconnected:
			select {
			case failed <- "media connection " + st.String():
			default:
			}
		}
	})
	jctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	sess, err := janus.Join(jctx, janus.Options{
		URL: t.Endpoint, Room: t.Room, PIN: m.Passcode, Display: e.cfg.Display, Logger: log,
		NewPeerConnection: func() (*webrtc.PeerConnection, error) {
			p, err := e.fac.NewReceivePeerConnection()
			if err != nil {
				return nil, err
			}
			return p.PeerConnection, nil
		},
		OnRemote: func(r *janus.Remote) { e.receive(ctx, r, log) },
	})
	cancel()
	if err != nil {
		return "", err
	}
	defer func() {
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		sess.Leave(lctx)
		cancel()
	}()
	// The other participants' feeds are on their way; now publish.
	s, err := job.wait(ctx)
	if err != nil {
		return "", err
	}
	if err := s.attach(ctx, pub); err != nil {
		return "", err
	}
	pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	err = sess.Publish(pctx, pub.PeerConnection)
	cancel()
	if err != nil {
		return "", err
	}
	if reason, err, ok := waitConnected(ctx, up, failed, sess.Done(), sess.Err); !ok {
		return reason, err
	}
	connected()
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	go e.reportMedia(sctx, seq, pub, s)
	select {
	case <-ctx.Done():
		return "", nil
	case msg := <-failed:
		return msg, nil
	case <-sess.Done():
		err := sess.Err()
		if err == nil {
			err = janus.ErrSessionGone
		}
		return "", err
	}
}

// waitConnected waits for a provider's media to connect. Otherwise it
// returns, with ok false, why the call did not get there: the call was
// left (nothing), the media failed (a reason), the session ended (its
// error), or nothing happened for 20 s.
func waitConnected(ctx context.Context, up <-chan struct{}, failed <-chan string, gone <-chan struct{}, goneErr func() error) (reason string, err error, ok bool) {
	select {
	case <-up:
		return "", nil, true
	case <-ctx.Done():
		return "", nil, false
	case msg := <-failed:
		return msg, nil, false
	case <-gone:
		return "", goneErr(), false
	case <-time.After(20 * time.Second):
		return "media did not connect", nil, false
	}
}

// reportMedia sends the room the call's figures every two seconds while
// they change.
func (e *Engine) reportMedia(ctx context.Context, seq uint64, pub *transport.PeerConnection, s *sender) {
	r := transport.NewStatsReader(pub)
	r.SentFrames = s
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	var last room.CallMedia
	r.Read()
	lastRecv, lastAt := map[string]ReceivedVideo{}, time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		st := r.Read()
		now := time.Now()
		// The camera may open, go away and come back during the call: say
		// what it is now, not what it was when the call began.
		cam, mic := s.video.Info().String(), s.audio.Info().String()
		e.mu.Lock()
		e.stats.VideoSource, e.stats.AudioSource = cam, mic
		// The publisher's PeerConnection receives nothing: what the meeting
		// sends comes on the subscriptions, counted as it is decoded.
		recv := st.Received.Bitrate + e.receivedRates(lastRecv, now.Sub(lastAt))
		lastAt = now
		m := callMedia(st, e.stats, recv)
		e.mu.Unlock()
		if !m.Equal(last) {
			last = m
			e.report(room.MediaReported{Seq: seq, Media: m})
		}
	}
}

// callMedia is the room's view of the call's figures: what the publisher's
// statistics st say about sending, es (the engine's figures, rates
// current) about each participant, and recv bit/s received in all. Rates
// are rounded (bitrates to 10 kbit/s, frame rates to whole frames) so
// status stays calm.
func callMedia(st transport.Stats, es Stats, recv int) room.CallMedia {
	m := room.CallMedia{
		Participants:  len(es.Participants),
		TargetBitrate: st.TargetBitrate / 10_000 * 10_000,
		SendBitrate:   st.Sent.Bitrate / 10_000 * 10_000,
		RecvBitrate:   recv / 10_000 * 10_000,
		LossPercent:   float64(int(st.Sent.LossRate*1000)) / 10,
		RTTMillis:     int(st.RTT.Milliseconds()),
		SendFPS:       float64(int(st.Sent.FPS + 0.5)),
		Width:         st.Sent.Width,
		Height:        st.Sent.Height,
		Encoder:       es.Encoder,
		Camera:        es.VideoSource,
		Microphone:    es.AudioSource,
	}
	// Only the participants still in the meeting: Received keeps the
	// totals of those who left, in case they come back.
	for _, id := range es.Participants {
		rv := es.Received[id]
		m.Received = append(m.Received, room.ReceivedVideo{
			Participant: id,
			Width:       rv.Width,
			Height:      rv.Height,
			FPS:         float64(int(rv.FPS + 0.5)),
			Bitrate:     rv.Bitrate / 10_000 * 10_000,
		})
	}
	return m
}

// countReceived adds a received packet's payload to its participant's total.
func (e *Engine) countReceived(id string, n int) {
	e.mu.Lock()
	rv := e.stats.Received[id]
	rv.bytes += uint64(n)
	e.stats.Received[id] = rv
	e.mu.Unlock()
}

// receivedRates turns the running totals into rates over the time since
// the last call, for status; it returns the total received bitrate.
func (e *Engine) receivedRates(last map[string]ReceivedVideo, elapsed time.Duration) int {
	total := 0
	for id, rv := range e.stats.Received {
		prev := last[id]
		if prev.frames > rv.frames || prev.bytes > rv.bytes { // a new call's totals
			prev = ReceivedVideo{}
		}
		rv.FPS = float64(rv.frames-prev.frames) / elapsed.Seconds()
		rv.Bitrate = int(float64(rv.bytes-prev.bytes) * 8 / elapsed.Seconds())
		e.stats.Received[id] = rv
		last[id] = rv
		total += rv.Bitrate
	}
	e.stats.RecvBitrate = total
	return total
}

// receive decodes one remote participant's tracks onto the screen.
func (e *Engine) receive(ctx context.Context, r *janus.Remote, log *slog.Logger) {
	id := r.Feed.Display
	if id == "" {
		id = fmt.Sprint(r.Feed.ID)
	}
	id = fmt.Sprintf("%s#%d", id, r.Feed.ID)
	e.mu.Lock()
	e.stats.Participants = append(e.stats.Participants, id)
	e.mu.Unlock()
	go func() {
		select {
		case <-r.Done():
		case <-ctx.Done():
		}
		if e.cfg.Compositor != nil {
			e.cfg.Compositor.Remove(id)
		}
		e.mu.Lock()
		for i, p := range e.stats.Participants {
			if p == id {
				e.stats.Participants = append(e.stats.Participants[:i], e.stats.Participants[i+1:]...)
				break
			}
		}
		e.mu.Unlock()
	}()
	r.PC.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		mime := tr.Codec().MimeType
		switch {
		case strings.EqualFold(mime, webrtc.MimeTypeOpus):
			e.receiveAudio(tr, id, log)
		default:
			e.receiveVideo(r.PC, tr, id, log)
		}
	})
}

func (e *Engine) receiveVideo(pc *webrtc.PeerConnection, tr *webrtc.TrackRemote, id string, log *slog.Logger) {
	mime := tr.Codec().MimeType
	var dp rtp.Depacketizer
	switch {
	case strings.EqualFold(mime, webrtc.MimeTypeVP8):
		dp = &codecs.VP8Packet{}
	case strings.EqualFold(mime, webrtc.MimeTypeH264):
		dp = &codecs.H264Packet{}
	default:
		log.Warn("call: cannot decode remote video", "codec", mime)
		return
	}
	dec, err := codec.NewVideoDecoder(mime)
	if err != nil {
		log.Warn("call: no decoder", "codec", mime, "err", err)
		return
	}
	defer dec.Close()
	if e.cfg.Compositor != nil {
		// The participant's goroutine removes the tile when they leave,
		// but a frame still being decoded then would put it back: the
		// loop's end removes it once more, after its last Update.
		defer e.cfg.Compositor.Remove(id)
	}
	sb := samplebuilder.New(128, dp, tr.Codec().ClockRate)
	pli := func() {
		pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(tr.SSRC())}})
	}
	var lastPLI time.Time
	for {
		pkt, _, err := tr.ReadRTP()
		if err != nil {
			return
		}
		e.countReceived(id, len(pkt.Payload))
		sb.Push(pkt)
		for smp := sb.Pop(); smp != nil; smp = sb.Pop() {
			img, err := dec.Decode(smp.Data)
			if err != nil {
				if errors.Is(err, codec.ErrNeedKeyFrame) && time.Since(lastPLI) > 500*time.Millisecond {
					lastPLI = time.Now()
					pli()
				}
				continue
			}
			if img == nil {
				continue
			}
			if e.cfg.Compositor != nil {
				e.cfg.Compositor.Update(id, img)
			}
			e.mu.Lock()
			e.stats.FramesDecoded[id]++
			rv := e.stats.Received[id]
			rv.Width, rv.Height = img.Rect.Dx(), img.Rect.Dy()
			rv.frames++
			e.stats.Received[id] = rv
			e.mu.Unlock()
		}
	}
}

func (e *Engine) receiveAudio(tr *webrtc.TrackRemote, id string, log *slog.Logger) {
	dec, err := codec.NewOpusDecoder(1)
	if err != nil {
		log.Warn("call: no opus decoder", "err", err)
		return
	}
	defer dec.Close()
	if e.cfg.Playout != nil {
		defer e.cfg.Playout.Remove(id)
	}
	for {
		pkt, _, err := tr.ReadRTP()
		if err != nil {
			return
		}
		e.countReceived(id, len(pkt.Payload))
		pcm, err := dec.Decode(pkt.Payload)
		if err != nil {
			continue
		}
		if e.cfg.Playout != nil {
			e.cfg.Playout.Push(id, pcm)
		}
		e.mu.Lock()
		e.stats.AudioPackets[id]++
		e.mu.Unlock()
	}
}

// senderJob is a sender being made while the call starts joining: opening
// the sources and the encoder takes tens of milliseconds (libvpx zeroes
// tens of MiB at 720p), which the meeting's first picture need not wait
// for.
type senderJob struct {
	done chan struct{}
	s    *sender
	err  error
}

func (e *Engine) startSender(ctx context.Context, log *slog.Logger, codecs []string) *senderJob {
	j := &senderJob{done: make(chan struct{})}
	go func() {
		defer close(j.done)
		j.s, j.err = e.newSender(ctx, log, codecs)
	}()
	return j
}

// wait returns the sender once it is made, or ctx's error.
func (j *senderJob) wait(ctx context.Context) (*sender, error) {
	select {
	case <-j.done:
		return j.s, j.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// result waits for the sender however long it takes.
func (j *senderJob) result() (*sender, error) {
	<-j.done
	return j.s, j.err
}

// sender captures, gates, encodes and writes the room's media to tracks that
// survive rejoins.
type sender struct {
	e        *Engine
	video    capture.VideoSource
	audio    capture.AudioSource
	enc      codec.Selection
	aenc     codec.AudioEncoder
	vtrack   *webrtc.TrackLocalStaticSample
	atrack   *webrtc.TrackLocalStaticSample
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	frames   atomic.Uint64
	loopsCtx context.Context
}

func (e *Engine) newSender(ctx context.Context, log *slog.Logger, codecs []string) (*sender, error) {
	v, err := e.cfg.Sources.Video()
	if err != nil {
		return nil, err
	}
	a, err := e.cfg.Sources.Audio()
	if err != nil {
		v.Close()
		return nil, err
	}
	v = capture.GateVideo(e.capVideo(v), e.cfg.Camera)
	a = capture.GateAudio(a, e.cfg.Mic)
	vi := v.Info()
	sel, err := codec.Select(codec.Preferences{Codecs: codecs, NoHardware: e.cfg.NoHardware},
		codec.VideoConfig{Width: vi.Width, Height: vi.Height, FPS: vi.FPS, BitRate: e.fac.Config().StartBitrate,
			// Key frames on request only, as libwebrtc sends them: the
			// SFU asks (PLI) when a subscriber joins or loses a picture,
			// and a periodic one costs an intra frame's bits and encode
			// time every few seconds for nobody.
			KeyFrameInterval: -1})
	if err != nil {
		v.Close()
		a.Close()
		return nil, err
	}
	aenc, err := codec.NewOpus(codec.AudioConfig{})
	if err != nil {
		sel.Encoder.Close()
		v.Close()
		a.Close()
		return nil, err
	}
	vt, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: sel.Codec}, "video", "roomd")
	if err != nil {
		return nil, err
	}
	at, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", "roomd")
	if err != nil {
		return nil, err
	}
	log.Info("call: media", "video", vi.String(), "audio", a.Info().String(), "encoder", sel.Reason)
	e.mu.Lock()
	e.stats.Encoder, e.stats.VideoSource, e.stats.AudioSource = sel.Reason, vi.String(), a.Info().String()
	e.mu.Unlock()
	lctx, cancel := context.WithCancel(ctx)
	s := &sender{e: e, video: v, audio: a, enc: sel, aenc: aenc, vtrack: vt, atrack: at, cancel: cancel, loopsCtx: lctx}
	s.wg.Go(func() { s.videoLoop(lctx, log) })
	s.wg.Go(func() { s.audioLoop(lctx, log) })
	return s, nil
}

// attach adds the tracks to a fresh publisher PeerConnection and wires its
// feedback: congestion control drives the encoder, PLI forces key frames.
func (s *sender) attach(ctx context.Context, pub *transport.PeerConnection) error {
	vs, err := pub.PeerConnection.AddTransceiverFromTrack(s.vtrack, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if err != nil {
		return err
	}
	// Offer only the codec the encoder makes, so the server cannot pick another.
	var prefs []webrtc.RTPCodecParameters
	for _, c := range vs.Sender().GetParameters().Codecs {
		if strings.EqualFold(c.MimeType, s.enc.Codec) {
			prefs = append(prefs, c)
		}
	}
	if len(prefs) > 0 {
		if err := vs.SetCodecPreferences(prefs); err != nil {
			return err
		}
	}
	as, err := pub.PeerConnection.AddTransceiverFromTrack(s.atrack, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if err != nil {
		return err
	}
	vfb := &transport.SenderFeedback{Sender: vs.Sender(), KeyFrame: s.enc.Encoder}
	afb := &transport.SenderFeedback{Sender: as.Sender()}
	var budget *transport.ServerCap
	if est := pub.Estimator(); est != nil {
		// The server's REMB (Janus: the room's bitrate) caps what
		// congestion control may give the encoder.
		budget = transport.NewServerCap(est)
		context.AfterFunc(ctx, budget.Close)
		vfb.OnREMB = budget.SetCap
	}
	go vfb.Run(ctx)
	go afb.Run(ctx)
	if budget != nil {
		ctl, err := transport.NewController(budget, s.e.capBitrate(ctx, transport.BitrateFunc(func(bps int) {
			s.enc.Encoder.SetBitRate(bps)
			s.e.mu.Lock()
			s.e.stats.TargetBitrate = bps
			s.e.mu.Unlock()
		})), s.aenc, transport.ControllerConfig{})
		if err != nil {
			return err
		}
		go ctl.Run(ctx)
	}
	return nil
}

func (s *sender) videoLoop(ctx context.Context, log *slog.Logger) {
	last := time.Now()
	for ctx.Err() == nil {
		img, release, err := s.video.Read()
		if err != nil {
			if ctx.Err() == nil {
				log.Warn("call: camera read failed", "err", err)
				time.Sleep(100 * time.Millisecond)
			}
			continue
		}
		frame, _, err := s.enc.Encoder.Encode(img)
		release()
		now := time.Now()
		d := now.Sub(last)
		last = now
		if err != nil {
			log.Warn("call: encode failed", "err", err)
			continue
		}
		if len(frame) == 0 {
			continue
		}
		if err := s.vtrack.WriteSample(media.Sample{Data: frame, Duration: d}); err == nil {
			n := s.frames.Add(1)
			s.e.mu.Lock()
			s.e.stats.FramesSent = n
			s.e.mu.Unlock()
		}
	}
}

func (s *sender) audioLoop(ctx context.Context, log *slog.Logger) {
	need := codec.AudioConfig{}.FrameSamples()
	buf := make([]int16, 0, need*2)
	for ctx.Err() == nil {
		chunk, release, err := s.audio.Read()
		if err != nil {
			if ctx.Err() == nil {
				log.Warn("call: microphone read failed", "err", err)
				time.Sleep(100 * time.Millisecond)
			}
			continue
		}
		buf = appendMono(buf, chunk)
		release()
		for len(buf) >= need {
			pkt, err := s.aenc.Encode(buf[:need])
			buf = append(buf[:0], buf[need:]...)
			if err != nil {
				log.Warn("call: opus encode failed", "err", err)
				continue
			}
			s.atrack.WriteSample(media.Sample{Data: pkt, Duration: 20 * time.Millisecond})
		}
	}
}

// Frames reports frames sent and the size of the video, for stats.
func (s *sender) Frames() (uint64, int, int) {
	i := s.video.Info()
	return s.frames.Load(), i.Width, i.Height
}

func (s *sender) close() {
	s.cancel()
	s.video.Close()
	s.audio.Close()
	s.wg.Wait()
	s.enc.Encoder.Close()
	s.aenc.Close()
}

// appendMono appends a chunk as mono 16-bit samples (sources deliver
// 48 kHz mono; anything else is mixed down).
func appendMono(buf []int16, a wave.Audio) []int16 {
	if m, ok := a.(*wave.Int16Interleaved); ok && m.Size.Channels == 1 {
		return append(buf, m.Data...)
	}
	ch := a.ChunkInfo().Channels
	for i := 0; i < a.ChunkInfo().Len; i++ {
		var sum int32
		for c := 0; c < ch; c++ {
			sum += int32(wave.Int16SampleFormat.Convert(a.At(i, c)).(wave.Int16Sample))
		}
		buf = append(buf, int16(sum/int32(max(ch, 1))))
	}
	return buf
}
