// Package uapi mirrors the structs and request numbers of the kernel's
// <linux/videodev2.h> that package v4l2 issues, laid out for 64-bit Linux
// (arm64, amd64): the real device passes them to ioctl(2) as they are, and
// the fake in v4l2test reads them the way a driver would.
//
// Two requests carry pointers to further arrays: a multi-planar buffer
// (struct v4l2_buffer's m.planes) and extended controls (controls). Package
// v4l2 hands those over as a PlaneBuffer or an ExtControlsArg, whose
// pointer field points into the same, pinned, object; a fake casts the
// argument to that type instead of following the pointer.
package uapi

import "unsafe"

// Request numbers (_IOR/_IOW/_IOWR('V', nr, struct)).
const (
	VidiocQueryCap        = ior + 104<<16 | 'V'<<8
	VidiocEnumFmt         = iowr + 64<<16 | 'V'<<8 | 2
	VidiocGFmt            = iowr + 208<<16 | 'V'<<8 | 4
	VidiocSFmt            = iowr + 208<<16 | 'V'<<8 | 5
	VidiocReqBufs         = iowr + 20<<16 | 'V'<<8 | 8
	VidiocQueryBuf        = iowr + 88<<16 | 'V'<<8 | 9
	VidiocQBuf            = iowr + 88<<16 | 'V'<<8 | 15
	VidiocExpBuf          = iowr + 64<<16 | 'V'<<8 | 16
	VidiocDQBuf           = iowr + 88<<16 | 'V'<<8 | 17
	VidiocStreamOn        = iow + 4<<16 | 'V'<<8 | 18
	VidiocStreamOff       = iow + 4<<16 | 'V'<<8 | 19
	VidiocGParm           = iowr + 204<<16 | 'V'<<8 | 21
	VidiocSParm           = iowr + 204<<16 | 'V'<<8 | 22
	VidiocGCtrl           = iowr + 8<<16 | 'V'<<8 | 27
	VidiocSCtrl           = iowr + 8<<16 | 'V'<<8 | 28
	VidiocQueryCtrl       = iowr + 68<<16 | 'V'<<8 | 36
	VidiocTryFmt          = iowr + 208<<16 | 'V'<<8 | 64
	VidiocGExtCtrls       = iowr + 32<<16 | 'V'<<8 | 71
	VidiocSExtCtrls       = iowr + 32<<16 | 'V'<<8 | 72
	VidiocEncoderCmd      = iowr + 40<<16 | 'V'<<8 | 77
	VidiocDQEvent         = ior + 136<<16 | 'V'<<8 | 89
	VidiocSubscribeEvent  = iow + 32<<16 | 'V'<<8 | 90
	VidiocUnsubscribeEvnt = iow + 32<<16 | 'V'<<8 | 91
	VidiocSSelection      = iowr + 64<<16 | 'V'<<8 | 95
)

const (
	iow  uint = 1 << 30
	ior  uint = 2 << 30
	iowr uint = 3 << 30
)

// Sizes of the kernel's structs on 64-bit Linux.
const (
	SizeFormat            = 208
	SizePixFormat         = 48
	SizePixFormatMPlane   = 192
	SizeRequestBuffers    = 20
	SizeBuffer            = 88
	SizePlane             = 64
	SizeExportBuffer      = 64
	SizeQueryCtrl         = 68
	SizeControl           = 8
	SizeExtControls       = 32
	SizeExtControl        = 20
	SizeStreamParm        = 204
	SizeEncoderCmd        = 40
	SizeEventSubscription = 32
	SizeEvent             = 136
	SizeSelection         = 64
)

// MaxPlanes is VIDEO_MAX_PLANES.
const MaxPlanes = 8

// Format is struct v4l2_format: the union starts at 8 because
// v4l2_window holds pointers.
type Format struct {
	Type uint32
	_    uint32
	Fmt  [200]byte
}

// Pix is the union as struct v4l2_pix_format (single-planar types).
func (f *Format) Pix() *PixFormat { return (*PixFormat)(unsafe.Pointer(&f.Fmt[0])) }

// PixMP is the union as struct v4l2_pix_format_mplane.
func (f *Format) PixMP() *PixFormatMPlane { return (*PixFormatMPlane)(unsafe.Pointer(&f.Fmt[0])) }

// PixFormat is struct v4l2_pix_format.
type PixFormat struct {
	Width, Height, PixelFormat, Field, BytesPerLine, SizeImage uint32
	Colorspace, Priv, Flags, YCbCrEnc, Quantization, XferFunc  uint32
}

// PlanePixFormat is struct v4l2_plane_pix_format.
type PlanePixFormat struct {
	SizeImage, BytesPerLine uint32
	Reserved                [6]uint16
}

// PixFormatMPlane is struct v4l2_pix_format_mplane (packed; every field
// falls on its natural alignment anyway).
type PixFormatMPlane struct {
	Width, Height, PixelFormat, Field, Colorspace uint32
	PlaneFmt                                      [MaxPlanes]PlanePixFormat
	NumPlanes, Flags, YCbCrEnc, Quantization      uint8
	XferFunc                                      uint8
	Reserved                                      [7]uint8
}

// RequestBuffers is struct v4l2_requestbuffers.
type RequestBuffers struct {
	Count, Type, Memory, Capabilities uint32
	Flags                             uint8
	Reserved                          [3]uint8
}

// Timeval is struct timeval on 64-bit Linux.
type Timeval struct{ Sec, Usec int64 }

// Buffer is struct v4l2_buffer.
type Buffer struct {
	Index, Type, BytesUsed, Flags, Field uint32
	_                                    uint32
	Timestamp                            Timeval
	Timecode                             [16]byte
	Sequence, Memory                     uint32
	// M is the union m: offset (MMAP) or fd (DMABUF) in its first four
	// bytes, or the address of the planes (multi-planar).
	M         uint64
	Length    uint32
	Reserved2 uint32
	RequestFD int32
	_         uint32
}

// Offset is m.offset (single-planar MMAP).
func (b *Buffer) Offset() uint32 { return *(*uint32)(unsafe.Pointer(&b.M)) }

// SetOffset sets m.offset, or m.fd given as uint32(fd).
func (b *Buffer) SetOffset(v uint32) { b.M = 0; *(*uint32)(unsafe.Pointer(&b.M)) = v }

// Plane is struct v4l2_plane; M is m.mem_offset (MMAP) or m.fd (DMABUF).
type Plane struct {
	BytesUsed, Length uint32
	M                 uint32
	_                 uint32
	DataOffset        uint32
	Reserved          [11]uint32
}

// PlaneBuffer is a multi-planar v4l2_buffer with its planes: Buffer.M
// points at Planes, and Buffer.Length is how many of them count.
type PlaneBuffer struct {
	Buffer
	Planes [MaxPlanes]Plane
}

// ExportBuffer is struct v4l2_exportbuffer.
type ExportBuffer struct {
	Type, Index, Plane, Flags uint32
	FD                        int32
	Reserved                  [11]uint32
}

// QueryCtrl is struct v4l2_queryctrl.
type QueryCtrl struct {
	ID, Type                        uint32
	Name                            [32]byte
	Minimum, Maximum, Step, Default int32
	Flags                           uint32
	Reserved                        [2]uint32
}

// Control is struct v4l2_control.
type Control struct {
	ID    uint32
	Value int32
}

// ExtControls is struct v4l2_ext_controls.
type ExtControls struct {
	Which, Count, ErrorIdx uint32
	RequestFD              int32
	Reserved               uint32
	_                      uint32
	Controls               uint64 // address of the array
}

// ExtControl is struct v4l2_ext_control (packed): Value is the value
// union's low 32 bits (value), ValueHigh the rest of value64.
type ExtControl struct {
	ID, Size, Reserved2 uint32
	Value, ValueHigh    int32
}

// MaxExtControls bounds one ExtControlsArg.
const MaxExtControls = 16

// ExtControlsArg is a v4l2_ext_controls with its array: ExtControls.Controls
// points at Controls, and ExtControls.Count says how many count.
type ExtControlsArg struct {
	ExtControls
	Controls [MaxExtControls]ExtControl
}

// Fract is struct v4l2_fract.
type Fract struct{ Numerator, Denominator uint32 }

// StreamParm is struct v4l2_streamparm; v4l2_captureparm and
// v4l2_outputparm share the layout Capability, Mode, TimePerFrame.
type StreamParm struct {
	Type uint32
	Parm [200]byte
}

// Capability is parm.capture.capability or parm.output.capability.
func (p *StreamParm) Capability() *uint32 { return (*uint32)(unsafe.Pointer(&p.Parm[0])) }

// TimePerFrame is parm.capture.timeperframe or parm.output.timeperframe.
func (p *StreamParm) TimePerFrame() *Fract { return (*Fract)(unsafe.Pointer(&p.Parm[8])) }

// EncoderCmd is struct v4l2_encoder_cmd.
type EncoderCmd struct {
	Cmd, Flags uint32
	Data       [8]uint32
}

// EventSubscription is struct v4l2_event_subscription.
type EventSubscription struct {
	Type, ID, Flags uint32
	Reserved        [5]uint32
}

// Event is struct v4l2_event.
type Event struct {
	Type              uint32
	_                 uint32
	U                 [64]byte
	Pending, Sequence uint32
	Timestamp         [2]int64
	ID                uint32
	Reserved          [8]uint32
	_                 uint32
}

// Selection is struct v4l2_selection.
type Selection struct {
	Type, Target, Flags uint32
	Rect                Rect
	Reserved            [9]uint32
}

// Rect is struct v4l2_rect.
type Rect struct {
	Left, Top     int32
	Width, Height uint32
}
