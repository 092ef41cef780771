package capture

import (
	"image"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/roomd/roomd/media"
)

// ReconnectOptions configures NewReconnectingVideo.
type ReconnectOptions struct {
	// Width and Height of placeholder frames until the camera has delivered
	// one (then its size is used); 0 means 1280×720.
	Width, Height int
	// FPS is the placeholder frame rate; 0 means 30.
	FPS float64
	// RetryEvery is how long to wait between attempts to open the camera;
	// 0 means 2 s.
	RetryEvery time.Duration
	// Privacy, if set, is the camera privacy gate: while it is closed the
	// camera is closed too (its LED goes out) and privacy slates are sent;
	// when it opens the camera is opened again at once.
	Privacy *media.Gate
	// OnChange is called from the reading goroutine whenever the camera
	// goes live, is lost, or fails to open with a new error. It must not
	// block; post the Info to the room rather than acting on it here.
	OnChange func(Info)
	// Clock paces placeholders and times retries; nil means the system clock.
	Clock Clock
	// Logger receives camera lost/back messages; nil discards them.
	Logger *slog.Logger
}

// ReconnectingVideo keeps a video stream going whatever the camera does:
// it reads from the camera that open returns, and when opening fails or the
// camera stops delivering it sends placeholder frames (SlateUnavailable) at
// the configured rate and calls open again every RetryEvery, resuming with
// the camera's frames when it is back. It satisfies VideoSource.
type ReconnectingVideo struct {
	open  func() (VideoSource, error)
	opts  ReconnectOptions
	clock Clock
	log   *slog.Logger
	pace  *pacer

	unavailable slateCache
	private     slateCache

	readMu sync.Mutex // serialises Read
	closed atomic.Bool

	mu       sync.Mutex // guards the fields below
	src      VideoSource
	last     Info // the camera's Info when it was last live
	problem  string
	nextTry  time.Time
	size     image.Point
	reported string // the last state passed to OnChange
}

// NewReconnectingVideo wraps a camera opener. It does not call open until
// the first Read.
func NewReconnectingVideo(open func() (VideoSource, error), opts ReconnectOptions) *ReconnectingVideo {
	if opts.Width == 0 || opts.Height == 0 {
		opts.Width, opts.Height = 1280, 720
	}
	if !validFPS(opts.FPS) {
		opts.FPS = 30
	}
	if opts.RetryEvery <= 0 {
		opts.RetryEvery = 2 * time.Second
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	clock := clockOrSystem(opts.Clock)
	return &ReconnectingVideo{
		open:        open,
		opts:        opts,
		clock:       clock,
		log:         log,
		pace:        newPacer(clock, frameInterval(opts.FPS), false),
		unavailable: slateCache{kind: SlateUnavailable},
		private:     slateCache{kind: SlatePrivacy},
		size:        image.Pt(opts.Width, opts.Height),
		last:        Info{Kind: "camera", Width: opts.Width, Height: opts.Height, FPS: opts.FPS},
		problem:     "camera not opened yet",
	}
}

// Read returns the camera's next frame, or a paced placeholder while the
// camera is missing, failing, or switched off for privacy.
func (r *ReconnectingVideo) Read() (image.Image, func(), error) {
	r.readMu.Lock()
	defer r.readMu.Unlock()
	if r.closed.Load() {
		return nil, func() {}, ErrClosed
	}

	if r.opts.Privacy != nil && r.opts.Privacy.Closed() {
		r.drop("camera privacy on (camera off)", nil)
		r.pace.wait()
		return r.private.get(r.frameSize()), func() {}, nil
	}

	src := r.current()
	if src == nil && !r.clock.Now().Before(r.retryAt()) {
		src = r.tryOpen()
	}
	if src != nil {
		img, release, err := src.Read()
		if err == nil {
			r.mu.Lock()
			r.size = img.Bounds().Size()
			r.mu.Unlock()
			return img, release, nil
		}
		if r.closed.Load() {
			return nil, func() {}, ErrClosed
		}
		r.drop("camera lost", err)
	}
	r.pace.wait()
	return r.unavailable.get(r.frameSize()), func() {}, nil
}

func (r *ReconnectingVideo) current() VideoSource {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.src
}

func (r *ReconnectingVideo) retryAt() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.nextTry
}

func (r *ReconnectingVideo) frameSize() (int, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.size.X, r.size.Y
}

func (r *ReconnectingVideo) tryOpen() VideoSource {
	src, err := r.open()
	r.mu.Lock()
	if err != nil {
		r.nextTry = r.clock.Now().Add(r.opts.RetryEvery)
		r.problem = "camera unavailable: " + err.Error()
		r.mu.Unlock()
		r.report()
		return nil
	}
	if r.closed.Load() {
		r.mu.Unlock()
		src.Close()
		return nil
	}
	r.src, r.problem = src, ""
	r.last = src.Info()
	r.mu.Unlock()
	r.log.Info("camera live", "camera", r.last.String())
	r.report()
	return src
}

// drop closes the current camera, if any, and records why.
func (r *ReconnectingVideo) drop(why string, err error) {
	r.mu.Lock()
	src := r.src
	r.src = nil
	r.problem = why
	if err != nil {
		r.problem += ": " + err.Error()
	}
	if err != nil || src != nil {
		r.nextTry = r.clock.Now().Add(r.opts.RetryEvery)
	}
	if r.opts.Privacy != nil && r.opts.Privacy.Closed() {
		r.nextTry = time.Time{} // reopen as soon as privacy ends
	}
	r.mu.Unlock()
	if src != nil {
		src.Close()
		if err != nil {
			r.log.Warn("camera lost; sending placeholder frames and retrying", "err", err, "retry_every", r.opts.RetryEvery)
		}
	}
	r.report()
}

// report calls OnChange when the state differs from the last one reported.
func (r *ReconnectingVideo) report() {
	info := r.Info()
	key := info.Problem
	r.mu.Lock()
	changed := key != r.reported
	r.reported = key
	r.mu.Unlock()
	if !changed {
		return
	}
	if info.Problem != "" {
		r.log.Debug("camera state", "problem", info.Problem)
	}
	if r.opts.OnChange != nil {
		r.opts.OnChange(info)
	}
}

// Info describes the camera in use, or the last one used and why it is not
// delivering.
func (r *ReconnectingVideo) Info() Info {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.src != nil {
		return r.src.Info()
	}
	i := r.last
	i.Problem = r.problem
	return i
}

// Close closes the camera; Read then returns ErrClosed. It is idempotent.
func (r *ReconnectingVideo) Close() error {
	if r.closed.Swap(true) {
		return nil
	}
	r.mu.Lock()
	src := r.src
	r.src = nil
	r.mu.Unlock()
	if src != nil {
		return src.Close()
	}
	return nil
}
