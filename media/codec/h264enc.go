package codec

/*
#cgo CFLAGS: -I${SRCDIR}/include
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "openh264/codec_api.h"

// An OpenH264 encoder and the frame roomd_h264enc_job encodes, with its
// result. The encoder lives in the static library mediadevices' openh264
// package links (imported by h264dec.go); it is reached through the C vtable.
typedef struct {
	ISVCEncoder *enc;
	SSourcePicture pic; // planes point at the Go picture during a job only
	SFrameBSInfo info;
	unsigned char *out; // every NAL of every layer, Annex B
	size_t out_len, out_cap;
	int job_force;
	int job_rv;
} roomd_h264enc;

// The parameters are the ones mediadevices' openh264 encoder sets
// (bridge.cpp enc_new) with the values roomd gave it; see NewH264.
static roomd_h264enc *roomd_h264enc_new(int w, int h, int bps, float fps,
		unsigned int intra_period, int threads, unsigned int max_nal, int *err) {
	roomd_h264enc *e = calloc(1, sizeof *e);
	if (e == NULL) {
		*err = cmMallocMemeError;
		return NULL;
	}
	int rv = WelsCreateSVCEncoder(&e->enc);
	if (rv != 0 || e->enc == NULL) {
		*err = rv != 0 ? rv : cmMallocMemeError;
		free(e);
		return NULL;
	}
	SEncParamExt p;
	rv = (*e->enc)->GetDefaultParams(e->enc, &p);
	if (rv != 0) {
		WelsDestroySVCEncoder(e->enc);
		free(e);
		*err = rv;
		return NULL;
	}
	p.iUsageType = CAMERA_VIDEO_REAL_TIME;
	p.iPicWidth = w;
	p.iPicHeight = h;
	p.iTargetBitrate = bps;
	p.iMaxBitrate = bps;
	p.iRCMode = RC_BITRATE_MODE;
	p.fMaxFrameRate = fps;
	p.bEnableFrameSkip = true;
	p.uiMaxNalSize = max_nal;
	p.uiIntraPeriod = intra_period;
	p.iMultipleThreadIdc = threads;
	SSpatialLayerConfig *l = &p.sSpatialLayers[0];
	l->iVideoWidth = w;
	l->iVideoHeight = h;
	l->fFrameRate = fps;
	l->iSpatialBitrate = bps;
	l->iMaxSpatialBitrate = bps;
	// What OpenH264 picks by itself with CAVLC; stated because the SDP
	// promises profile-level-id 42e01f.
	l->uiProfileIdc = PRO_BASELINE;
	l->sSliceArgument.uiSliceMode = SM_FIXEDSLCNUM_SLICE;
	l->sSliceArgument.uiSliceNum = 1;
	l->sSliceArgument.uiSliceSizeConstraint = 0;
	if (max_nal > 0) {
		// Slices end before they outgrow max_nal (start code and header
		// included): packetization-mode 0 sends each NAL in one packet.
		// OpenH264 cuts by uiMaxNalSize when both are given.
		l->sSliceArgument.uiSliceMode = SM_SIZELIMITED_SLICE;
		l->sSliceArgument.uiSliceNum = 0;
		l->sSliceArgument.uiSliceSizeConstraint = max_nal;
	}
	rv = (*e->enc)->InitializeExt(e->enc, &p);
	if (rv != 0) {
		WelsDestroySVCEncoder(e->enc);
		free(e);
		*err = rv;
		return NULL;
	}
	e->pic.iColorFormat = videoFormatI420;
	e->pic.iPicWidth = w;
	e->pic.iPicHeight = h;
	return e;
}

// Encodes the picture in e->pic, on a cthread.
void roomd_h264enc_job(void *p) {
	roomd_h264enc *e = p;
	e->out_len = 0;
	if (e->job_force) {
		// The C vtable leaves out ForceIntraFrame's third argument (iLayerId,
		// -1 by default in C++), which the library reads all the same.
		((int (*)(ISVCEncoder *, bool, int))(*e->enc)->ForceIntraFrame)(e->enc, true, -1);
	}
	memset(&e->info, 0, sizeof e->info);
	e->job_rv = (*e->enc)->EncodeFrame(e->enc, &e->pic, &e->info);
	// OpenH264 has copied the picture; drop the pointers into Go memory.
	e->pic.pData[0] = e->pic.pData[1] = e->pic.pData[2] = NULL;
	if (e->job_rv != cmResultSuccess || e->info.eFrameType == videoFrameTypeSkip) {
		return;
	}
	size_t need = 0;
	for (int i = 0; i < e->info.iLayerNum; i++) {
		const SLayerBSInfo *l = &e->info.sLayerInfo[i];
		for (int n = 0; n < l->iNalCount; n++) {
			need += l->pNalLengthInByte[n];
		}
	}
	if (need > e->out_cap) {
		unsigned char *grown = realloc(e->out, need);
		if (grown == NULL) {
			e->job_rv = cmMallocMemeError;
			return;
		}
		e->out = grown;
		e->out_cap = need;
	}
	// A layer's NALs lie one after another in its buffer, start codes
	// included.
	for (int i = 0; i < e->info.iLayerNum; i++) {
		const SLayerBSInfo *l = &e->info.sLayerInfo[i];
		size_t size = 0;
		for (int n = 0; n < l->iNalCount; n++) {
			size += l->pNalLengthInByte[n];
		}
		memcpy(e->out + e->out_len, l->pBsBuf, size);
		e->out_len += size;
	}
}

// Sets the target and the maximum bitrate, as mediadevices does. OpenH264
// rejects a maximum below the target, so the order depends on the
// direction.
static int roomd_h264enc_set_bitrate(roomd_h264enc *e, int bps, int raise) {
	SBitrateInfo target = {SPATIAL_LAYER_ALL, bps};
	SBitrateInfo max_all = {SPATIAL_LAYER_ALL, bps};
	SBitrateInfo max0 = {SPATIAL_LAYER_0, bps};
	int rv = 0;
	if (!raise) {
		rv = (*e->enc)->SetOption(e->enc, ENCODER_OPTION_BITRATE, &target);
	}
	if (rv == 0) {
		rv = (*e->enc)->SetOption(e->enc, ENCODER_OPTION_MAX_BITRATE, &max0);
	}
	if (rv == 0) {
		rv = (*e->enc)->SetOption(e->enc, ENCODER_OPTION_MAX_BITRATE, &max_all);
	}
	if (rv == 0 && raise) {
		rv = (*e->enc)->SetOption(e->enc, ENCODER_OPTION_BITRATE, &target);
	}
	return rv;
}

static void roomd_h264enc_free(roomd_h264enc *e) {
	(*e->enc)->Uninitialize(e->enc);
	WelsDestroySVCEncoder(e->enc);
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
	"unsafe"

	"github.com/roomd/roomd/internal/cthread"
)

// NewH264 returns the OpenH264 software encoder: Constrained Baseline,
// Annex B output, profile-level-id 42e01f as mediadevices advertises. It
// keeps the settings mediadevices' openh264 encoder used here (camera
// real-time usage, bitrate rate control with frame skipping, maximum
// bitrate = target) with libwebrtc's choices for packetization-mode 1: one
// slice per picture (the RTP packetizer fragments it) and libwebrtc's
// thread count (h264Threads) instead of OpenH264's one thread per core,
// whose hand-offs cost more than they save below 1080p.
//
// (mediadevices' encoder is not used: its cgo call holds the goroutine's
// thread for the whole encode, and it stamps every picture with time 0.)
func NewH264(cfg VideoConfig) (VideoEncoder, error) {
	cfg = cfg.withDefaults()
	if err := checkSize(cfg.Width, cfg.Height); err != nil {
		return nil, fmt.Errorf("codec: openh264: %w", err)
	}
	th, err := cthread.New("codec-h264-enc")
	if err != nil {
		return nil, fmt.Errorf("codec: openh264: %w", err)
	}
	e := &h264Encoder{cfg: cfg, th: th}
	if err := e.start(); err != nil {
		th.Close()
		return nil, err
	}
	return e, nil
}

// NALSizeLimiter is an optional interface of a VideoEncoder that can
// change VideoConfig.MaxNALSize while it runs (OpenH264 can; hardware
// encoders may not), for a call whose far end takes only H.264
// packetization-mode 0.
type NALSizeLimiter interface {
	// SetMaxNALSize sets the largest NAL unit, in bytes without the start
	// code, from the next frame on; 0 lifts the limit. The next frame may
	// be a key frame.
	SetMaxNALSize(n int)
}

var _ NALSizeLimiter = (*h264Encoder)(nil)

// h264Encoder drives OpenH264's ISVCEncoder, encoding on a cthread.
type h264Encoder struct {
	keyReq  atomic.Bool
	bitrate atomic.Int64 // pending target; 0 when applied
	maxNAL  atomic.Int64 // pending MaxNALSize + 1; 0 when applied

	mu     sync.Mutex // serialises Encode and Close
	th     *cthread.Thread
	cfg    VideoConfig
	enc    *C.roomd_h264enc
	ps     paramSets
	pts    int64 // 90 kHz
	frames int
	closed bool
}

// H264MinNALSize is the smallest MaxNALSize OpenH264 slices to: its
// slices must have room for a macroblock of the worst size (400 B).
const H264MinNALSize = 500

func (e *h264Encoder) start() error {
	if e.cfg.MaxNALSize > 0 && e.cfg.MaxNALSize < H264MinNALSize {
		e.cfg.MaxNALSize = H264MinNALSize
	}
	var cerr C.int
	enc := C.roomd_h264enc_new(C.int(e.cfg.Width), C.int(e.cfg.Height), C.int(e.cfg.BitRate),
		C.float(e.cfg.FPS), C.uint(e.cfg.keyFrameEvery()),
		C.int(h264Threads(e.cfg.Width, e.cfg.Height, runtime.NumCPU())), C.uint(e.cfg.MaxNALSize), &cerr)
	if enc == nil {
		return fmt.Errorf("codec: starting openh264 at %dx%d: %s", e.cfg.Width, e.cfg.Height, h264EncError(int(cerr)))
	}
	// The new encoder starts with an IDR that carries its own SPS and PPS.
	e.enc, e.frames, e.pts, e.ps = enc, 0, 0, paramSets{}
	return nil
}

func (e *h264Encoder) Encode(img image.Image) ([]byte, bool, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, false, ErrClosed
	}
	yc, release, err := asI420(img)
	if err != nil {
		return nil, false, fmt.Errorf("codec: openh264: %w", err)
	}
	defer release()
	maxNAL := e.cfg.MaxNALSize
	if n := e.maxNAL.Swap(0); n > 0 {
		maxNAL = int(n - 1)
		if maxNAL > 0 && maxNAL < H264MinNALSize {
			maxNAL = H264MinNALSize
		}
	}
	if sz := yc.Rect.Size(); sz.X != e.cfg.Width || sz.Y != e.cfg.Height || maxNAL != e.cfg.MaxNALSize {
		if err := checkSize(sz.X, sz.Y); err != nil {
			return nil, false, fmt.Errorf("codec: openh264: %w", err)
		}
		C.roomd_h264enc_free(e.enc)
		e.cfg.Width, e.cfg.Height, e.cfg.MaxNALSize = sz.X, sz.Y, maxNAL
		if err := e.start(); err != nil {
			e.enc, e.closed = nil, true
			e.th.Close()
			return nil, false, err
		}
	}
	if bps := int(e.bitrate.Swap(0)); bps > 0 {
		raise := 0
		if bps > e.cfg.BitRate {
			raise = 1
		}
		e.cfg.BitRate = bps
		if rv := C.roomd_h264enc_set_bitrate(e.enc, C.int(bps), C.int(raise)); rv != 0 {
			return nil, false, fmt.Errorf("codec: openh264: setting bitrate %d bit/s: %s", bps, h264EncError(int(rv)))
		}
	}

	// Time stamps advance by the nominal interval. OpenH264's bitrate mode
	// budgets each frame from the configured fps, not from time stamps;
	// arrival times from a camera slower than that made it skip more
	// frames (10 of 70 at 10 fps against none), with no bigger frames to
	// show for it.
	dur := int64(90000/e.cfg.FPS + 0.5)

	pl := pinPlanes(yc)
	y, u, v := pl.y, pl.u, pl.v
	j := e.enc
	j.pic.pData[0], j.pic.pData[1], j.pic.pData[2] = (*C.uchar)(unsafe.Pointer(y)), (*C.uchar)(unsafe.Pointer(u)), (*C.uchar)(unsafe.Pointer(v))
	j.pic.iStride[0], j.pic.iStride[1], j.pic.iStride[2] = C.int(yc.YStride), C.int(yc.CStride), C.int(yc.CStride)
	j.pic.uiTimeStamp = C.longlong(e.pts / 90) // milliseconds
	j.job_force = 0
	if e.keyReq.Swap(false) {
		j.job_force = 1
	}
	err = e.th.Call(C.roomd_h264enc_job, unsafe.Pointer(j))
	pl.unpin()
	if err != nil {
		return nil, false, fmt.Errorf("codec: openh264: %w", err)
	}
	if rv := j.job_rv; rv != C.cmResultSuccess {
		return nil, false, fmt.Errorf("codec: openh264: encoding: %s", h264EncError(int(rv)))
	}
	e.pts += dur
	e.frames++
	if j.out_len == 0 {
		return nil, false, nil // skipped to hold the bitrate
	}
	out, key := e.ps.post(C.GoBytes(unsafe.Pointer(j.out), C.int(j.out_len)))
	return out, key, nil
}

func (e *h264Encoder) ForceKeyFrame() { e.keyReq.Store(true) }

func (e *h264Encoder) SetBitRate(bps int) {
	if bps > 0 {
		e.bitrate.Store(int64(bps))
	}
}

// SetMaxNALSize changes VideoConfig.MaxNALSize (0: no limit) from the
// next frame on. OpenH264 slices only as it was started, so the encoder
// restarts, and the next frame is a key frame with its parameter sets.
func (e *h264Encoder) SetMaxNALSize(n int) { e.maxNAL.Store(int64(max(n, 0)) + 1) }

func (e *h264Encoder) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil
	}
	e.closed = true
	if e.enc != nil {
		C.roomd_h264enc_free(e.enc)
		e.enc = nil
	}
	return e.th.Close()
}

// h264EncError names an OpenH264 encoder result (CM_RETURN).
func h264EncError(rv int) string {
	switch rv {
	case C.cmInitParaError:
		return "invalid parameters"
	case C.cmUnknownReason:
		return "unknown reason"
	case C.cmMallocMemeError:
		return "out of memory"
	case C.cmInitExpected:
		return "not initialised"
	case C.cmUnsupportedData:
		return "unsupported data"
	default:
		return fmt.Sprintf("error %d", rv)
	}
}
