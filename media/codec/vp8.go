//go:build !novpx

package codec

/*
#cgo pkg-config: vpx
#include <stdlib.h>
#include <string.h>
#include <vpx/vpx_encoder.h>
#include <vpx/vp8cx.h>

typedef struct {
	vpx_codec_ctx_t ctx;
	vpx_codec_enc_cfg_t cfg;
	vpx_image_t img;
	unsigned char *out;
	size_t out_len, out_cap;
	int key;
	// The frame roomd_vp8enc_job encodes, and its result.
	unsigned char *job_y, *job_u, *job_v;
	int job_ys, job_cs, job_force;
	vpx_codec_pts_t job_pts;
	unsigned long job_dur;
	vpx_codec_err_t job_rv;
} roomd_vp8enc;

// Settings follow libwebrtc's LibvpxVp8Encoder for a single camera stream.
static roomd_vp8enc *roomd_vp8enc_new(int w, int h, int kbps, int kf_max, int threads,
		int cpu_used, int max_intra_pct, vpx_codec_err_t *err) {
	static unsigned char dummy[1];
	roomd_vp8enc *e = calloc(1, sizeof *e);
	if (e == NULL) {
		*err = VPX_CODEC_MEM_ERROR;
		return NULL;
	}
	*err = vpx_codec_enc_config_default(vpx_codec_vp8_cx(), &e->cfg, 0);
	if (*err != VPX_CODEC_OK) {
		free(e);
		return NULL;
	}
	vpx_codec_enc_cfg_t *c = &e->cfg;
	c->g_w = w;
	c->g_h = h;
	c->g_timebase.num = 1;
	c->g_timebase.den = 90000;
	c->g_threads = threads;
	c->g_lag_in_frames = 0;
	c->g_error_resilient = 0;
	c->g_pass = VPX_RC_ONE_PASS;
	c->rc_end_usage = VPX_CBR;
	c->rc_target_bitrate = kbps;
	c->rc_resize_allowed = 0;
	c->rc_dropframe_thresh = 30;
	c->rc_min_quantizer = 2;
	c->rc_max_quantizer = 56;
	c->rc_undershoot_pct = 100;
	c->rc_overshoot_pct = 15;
	c->rc_buf_initial_sz = 500;
	c->rc_buf_optimal_sz = 600;
	c->rc_buf_sz = 1000;
	if (kf_max > 0) {
		c->kf_mode = VPX_KF_AUTO;
		c->kf_max_dist = kf_max;
	} else {
		c->kf_mode = VPX_KF_DISABLED;
	}
	*err = vpx_codec_enc_init(&e->ctx, vpx_codec_vp8_cx(), c, 0);
	if (*err != VPX_CODEC_OK) {
		free(e);
		return NULL;
	}
	vpx_codec_control(&e->ctx, VP8E_SET_CPUUSED, cpu_used);
	vpx_codec_control(&e->ctx, VP8E_SET_STATIC_THRESHOLD, 1);
	vpx_codec_control(&e->ctx, VP8E_SET_MAX_INTRA_BITRATE_PCT, max_intra_pct);
	vpx_codec_control(&e->ctx, VP8E_SET_TOKEN_PARTITIONS, VP8_ONE_TOKENPARTITION);
	// The planes are pointed at the caller's picture for each frame.
	vpx_img_wrap(&e->img, VPX_IMG_FMT_I420, w, h, 1, dummy);
	return e;
}

static vpx_codec_err_t roomd_vp8enc_encode(roomd_vp8enc *e,
		unsigned char *y, unsigned char *u, unsigned char *v, int ys, int cs,
		vpx_codec_pts_t pts, unsigned long dur, int force_key) {
	e->img.planes[VPX_PLANE_Y] = y;
	e->img.planes[VPX_PLANE_U] = u;
	e->img.planes[VPX_PLANE_V] = v;
	e->img.stride[VPX_PLANE_Y] = ys;
	e->img.stride[VPX_PLANE_U] = cs;
	e->img.stride[VPX_PLANE_V] = cs;
	vpx_codec_err_t err = vpx_codec_encode(&e->ctx, &e->img, pts, dur,
		force_key ? VPX_EFLAG_FORCE_KF : 0, VPX_DL_REALTIME);
	// With no look-ahead libvpx has copied the picture; drop the pointers
	// into Go memory.
	e->img.planes[VPX_PLANE_Y] = e->img.planes[VPX_PLANE_U] = e->img.planes[VPX_PLANE_V] = NULL;
	e->out_len = 0;
	e->key = 0;
	if (err != VPX_CODEC_OK) {
		return err;
	}
	vpx_codec_iter_t it = NULL;
	const vpx_codec_cx_pkt_t *pkt;
	while ((pkt = vpx_codec_get_cx_data(&e->ctx, &it)) != NULL) {
		if (pkt->kind != VPX_CODEC_CX_FRAME_PKT) {
			continue;
		}
		size_t need = e->out_len + pkt->data.frame.sz;
		if (need > e->out_cap) {
			unsigned char *grown = realloc(e->out, need);
			if (grown == NULL) {
				return VPX_CODEC_MEM_ERROR;
			}
			e->out = grown;
			e->out_cap = need;
		}
		memcpy(e->out + e->out_len, pkt->data.frame.buf, pkt->data.frame.sz);
		e->out_len = need;
		if (pkt->data.frame.flags & VPX_FRAME_IS_KEY) {
			e->key = 1;
		}
	}
	return VPX_CODEC_OK;
}

// Encodes the frame the job_ fields describe, on a cthread.
void roomd_vp8enc_job(void *p) {
	roomd_vp8enc *e = p;
	e->job_rv = roomd_vp8enc_encode(e, e->job_y, e->job_u, e->job_v, e->job_ys, e->job_cs,
		e->job_pts, e->job_dur, e->job_force);
	e->job_y = e->job_u = e->job_v = NULL;
}

static vpx_codec_err_t roomd_vp8enc_set_kbps(roomd_vp8enc *e, int kbps) {
	e->cfg.rc_target_bitrate = kbps;
	return vpx_codec_enc_config_set(&e->ctx, &e->cfg);
}

static void roomd_vp8enc_free(roomd_vp8enc *e) {
	vpx_codec_destroy(&e->ctx);
	free(e->out);
	free(e);
}
*/
import "C"

import (
	"fmt"
	"image"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/roomd/roomd/internal/cthread"
)

// NewVP8 returns the libvpx VP8 software encoder, set up as libwebrtc sets
// it up for a camera: CBR, no look-ahead, frame dropping under pressure,
// key frames capped at 9 average frames, and a fixed speed (cpu-used -6 on
// x86, -12 on ARM at 640×480 and up) so that the encoder never eats a
// Pi's whole core chasing quality.
//
// (mediadevices' vpx encoder is not used: it stamps frames with the time
// they reach the encoder, so unpaced tests and benchmarks run its rate
// control at hundreds of fps, and it leaves cpu-used at 0, where libvpx
// spends up to the whole frame interval on each frame.)
func NewVP8(cfg VideoConfig) (VideoEncoder, error) {
	cfg = cfg.withDefaults()
	if err := checkSize(cfg.Width, cfg.Height); err != nil {
		return nil, fmt.Errorf("codec: libvpx VP8: %w", err)
	}
	th, err := cthread.New("codec-vp8-enc")
	if err != nil {
		return nil, fmt.Errorf("codec: libvpx VP8: %w", err)
	}
	e := &vp8Encoder{cfg: cfg, now: time.Now, th: th}
	if err := e.start(); err != nil {
		th.Close()
		return nil, err
	}
	return e, nil
}

type vp8Encoder struct {
	keyReq  atomic.Bool
	bitrate atomic.Int64 // pending target; 0 when applied

	mu     sync.Mutex // serialises Encode and Close
	th     *cthread.Thread
	cfg    VideoConfig
	enc    *C.roomd_vp8enc
	now    func() time.Time
	pts    int64 // 90 kHz
	last   time.Time
	frames int
	closed bool
}

// vp8Speed is libwebrtc's cpu-used choice for the platform and size.
func vp8Speed(w, h int) int {
	switch runtime.GOARCH {
	case "arm", "arm64":
		switch {
		case runtime.NumCPU() <= 3:
			return -12
		case w*h <= 352*288:
			return -8
		case w*h <= 640*480:
			return -10
		default:
			return -12
		}
	default:
		if w*h < 352*288 {
			return -4
		}
		return -6
	}
}

func vp8Threads(w, h int) int {
	switch n := runtime.NumCPU(); {
	case w*h >= 1920*1080 && n > 8:
		return 8
	case w*h >= 640*480 && n > 3:
		return 2
	default:
		return 1
	}
}

func (e *vp8Encoder) start() error {
	var cerr C.vpx_codec_err_t
	// Key frames may take 0.5 × the 600 ms optimal buffer × fps / 10
	// percent of an average frame, as libwebrtc computes it.
	maxIntra := max(300, int(0.5*600*e.cfg.FPS/10))
	enc := C.roomd_vp8enc_new(C.int(e.cfg.Width), C.int(e.cfg.Height), C.int(max(1, e.cfg.BitRate/1000)),
		C.int(e.cfg.keyFrameEvery()), C.int(vp8Threads(e.cfg.Width, e.cfg.Height)),
		C.int(vp8Speed(e.cfg.Width, e.cfg.Height)), C.int(maxIntra), &cerr)
	if enc == nil {
		return fmt.Errorf("codec: starting libvpx VP8 at %dx%d: %s", e.cfg.Width, e.cfg.Height, C.GoString(C.vpx_codec_err_to_string(cerr)))
	}
	e.enc, e.frames, e.pts = enc, 0, 0
	return nil
}

func (e *vp8Encoder) Encode(img image.Image) ([]byte, bool, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, false, ErrClosed
	}
	yc, release, err := asI420(img)
	if err != nil {
		return nil, false, fmt.Errorf("codec: libvpx VP8: %w", err)
	}
	defer release()
	if sz := yc.Rect.Size(); sz.X != e.cfg.Width || sz.Y != e.cfg.Height {
		if err := checkSize(sz.X, sz.Y); err != nil {
			return nil, false, fmt.Errorf("codec: libvpx VP8: %w", err)
		}
		C.roomd_vp8enc_free(e.enc)
		e.cfg.Width, e.cfg.Height = sz.X, sz.Y
		if err := e.start(); err != nil {
			e.enc, e.closed = nil, true
			e.th.Close()
			return nil, false, err
		}
	}
	if bps := e.bitrate.Swap(0); bps > 0 {
		e.cfg.BitRate = int(bps)
		if rv := C.roomd_vp8enc_set_kbps(e.enc, C.int(max(1, bps/1000))); rv != C.VPX_CODEC_OK {
			return nil, false, fmt.Errorf("codec: libvpx VP8: setting bitrate: %s", C.GoString(C.vpx_codec_err_to_string(rv)))
		}
	}

	// Each frame lasts from its arrival to the next one's, but never less
	// than the nominal frame interval: a burst of frames (or an unpaced
	// test) must not make the rate control think the frame rate soared,
	// while a camera that slows down does get more bits per frame.
	nominal := int64(90000/e.cfg.FPS + 0.5)
	now := e.now()
	dur := nominal
	if e.frames > 0 {
		dur = min(max(int64(now.Sub(e.last).Seconds()*90000), nominal), 90000)
	}
	e.last = now

	force := 0
	if e.keyReq.Swap(false) {
		force = 1
	}
	pl := pinPlanes(yc)
	y, u, v := pl.y, pl.u, pl.v
	j := e.enc
	j.job_y, j.job_u, j.job_v = (*C.uchar)(unsafe.Pointer(y)), (*C.uchar)(unsafe.Pointer(u)), (*C.uchar)(unsafe.Pointer(v))
	j.job_ys, j.job_cs = C.int(yc.YStride), C.int(yc.CStride)
	j.job_pts, j.job_dur, j.job_force = C.vpx_codec_pts_t(e.pts), C.ulong(dur), C.int(force)
	err = e.th.Call(C.roomd_vp8enc_job, unsafe.Pointer(j))
	pl.unpin()
	if err != nil {
		return nil, false, fmt.Errorf("codec: libvpx VP8: %w", err)
	}
	if rv := j.job_rv; rv != C.VPX_CODEC_OK {
		return nil, false, fmt.Errorf("codec: libvpx VP8: encoding: %s", C.GoString(C.vpx_codec_err_to_string(rv)))
	}
	e.pts += dur
	e.frames++
	if e.enc.out_len == 0 {
		return nil, false, nil // dropped to hold the bitrate
	}
	return C.GoBytes(unsafe.Pointer(e.enc.out), C.int(e.enc.out_len)), e.enc.key != 0, nil
}

func (e *vp8Encoder) ForceKeyFrame() { e.keyReq.Store(true) }

func (e *vp8Encoder) SetBitRate(bps int) {
	if bps > 0 {
		e.bitrate.Store(int64(bps))
	}
}

func (e *vp8Encoder) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil
	}
	e.closed = true
	if e.enc != nil {
		C.roomd_vp8enc_free(e.enc)
		e.enc = nil
	}
	return e.th.Close()
}
