package v4l2

import (
	"bytes"
	"errors"
	"fmt"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/roomd/roomd/media/capture/v4l2/internal/uapi"
)

// Control classes and the codec controls roomd sets (V4L2_CID_MPEG_*).
const (
	CtrlClassCodec = 0x00990000 // V4L2_CTRL_CLASS_CODEC (was _MPEG)

	CIDGOPSize         = 0x009909cb
	CIDBitrateMode     = 0x009909ce
	CIDBitrate         = 0x009909cf
	CIDBitratePeak     = 0x009909d0
	CIDHeaderMode      = 0x009909d8
	CIDRepeatSeqHeader = 0x009909e2
	CIDForceKeyFrame   = 0x009909e5
	CIDH264IPeriod     = 0x00990a66
	CIDH264Level       = 0x00990a67
	CIDH264Profile     = 0x00990a6b
)

// Values of the menu controls above.
const (
	BitrateModeVBR = 0
	BitrateModeCBR = 1

	HeaderModeSeparate           = 0
	HeaderModeJoinedWith1stFrame = 1

	H264ProfileBaseline            = 0
	H264ProfileConstrainedBaseline = 1
	H264ProfileMain                = 2
	H264ProfileHigh                = 4

	// H264Level31 and friends are enum v4l2_mpeg_video_h264_level.
	H264Level30 = 8
	H264Level31 = 9
	H264Level32 = 10
	H264Level40 = 11
	H264Level41 = 12
	H264Level42 = 13
)

// Control types (enum v4l2_ctrl_type).
const (
	CtrlTypeInteger = 1
	CtrlTypeBoolean = 2
	CtrlTypeMenu    = 3
	CtrlTypeButton  = 4
)

// Control flags.
const (
	CtrlFlagDisabled = 0x0001
	CtrlFlagReadOnly = 0x0004
	CtrlFlagInactive = 0x0010
)

// ErrNoControl means the driver has no such control (or has it
// disabled): the caller decides whether that matters.
var ErrNoControl = errors.New("v4l2: control not supported by the driver")

// ControlInfo is what VIDIOC_QUERYCTRL says about a control.
type ControlInfo struct {
	ID, Type                        uint32
	Name                            string
	Minimum, Maximum, Step, Default int32
	Flags                           uint32
}

// Clamp brings v into the control's range.
func (c ControlInfo) Clamp(v int32) int32 {
	if c.Minimum < c.Maximum {
		v = max(c.Minimum, min(v, c.Maximum))
	}
	return v
}

// QueryControl is VIDIOC_QUERYCTRL; a control the driver lacks or has
// disabled gives ErrNoControl.
func (d *Device) QueryControl(id uint32) (ControlInfo, error) {
	q := uapi.QueryCtrl{ID: id}
	if err := d.f.Ioctl(uapi.VidiocQueryCtrl, unsafe.Pointer(&q)); err != nil {
		if errors.Is(err, unix.EINVAL) {
			return ControlInfo{}, fmt.Errorf("%w: %#x on %s", ErrNoControl, id, d.path)
		}
		return ControlInfo{}, fmt.Errorf("v4l2: %s: VIDIOC_QUERYCTRL %#x: %w", d.path, id, err)
	}
	if q.Flags&CtrlFlagDisabled != 0 {
		return ControlInfo{}, fmt.Errorf("%w: %#x is disabled on %s", ErrNoControl, id, d.path)
	}
	name := q.Name[:]
	if i := bytes.IndexByte(name, 0); i >= 0 {
		name = name[:i]
	}
	return ControlInfo{ID: q.ID, Type: q.Type, Name: string(name), Minimum: q.Minimum, Maximum: q.Maximum,
		Step: q.Step, Default: q.Default, Flags: q.Flags}, nil
}

// GetControl is VIDIOC_G_CTRL.
func (d *Device) GetControl(id uint32) (int32, error) {
	c := uapi.Control{ID: id}
	if err := d.f.Ioctl(uapi.VidiocGCtrl, unsafe.Pointer(&c)); err != nil {
		return 0, d.controlError("VIDIOC_G_CTRL", id, err)
	}
	return c.Value, nil
}

// SetControl is VIDIOC_S_CTRL.
func (d *Device) SetControl(id uint32, v int32) error {
	c := uapi.Control{ID: id, Value: v}
	if err := d.f.Ioctl(uapi.VidiocSCtrl, unsafe.Pointer(&c)); err != nil {
		return d.controlError(fmt.Sprintf("VIDIOC_S_CTRL %d", v), id, err)
	}
	return nil
}

func (d *Device) controlError(op string, id uint32, err error) error {
	if errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("%w: %s %#x on %s: %v", ErrNoControl, op, id, d.path, err)
	}
	return fmt.Errorf("v4l2: %s: %s %#x: %w", d.path, op, id, err)
}

// ExtControl is one control of SetExtControls.
type ExtControl struct {
	ID    uint32
	Value int32
}

// SetExtControls is VIDIOC_S_EXT_CTRLS for controls of one class (e.g.
// CtrlClassCodec), all or none: a failure names the control the driver
// blamed.
func (d *Device) SetExtControls(class uint32, ctrls []ExtControl) error {
	if len(ctrls) > uapi.MaxExtControls {
		return fmt.Errorf("v4l2: %d controls at once; at most %d", len(ctrls), uapi.MaxExtControls)
	}
	arg := new(uapi.ExtControlsArg)
	var pin runtime.Pinner
	pin.Pin(arg)
	defer pin.Unpin()
	arg.Which, arg.Count = class, uint32(len(ctrls))
	arg.ExtControls.Controls = uint64(uintptr(unsafe.Pointer(&arg.Controls[0])))
	for i, c := range ctrls {
		arg.Controls[i] = uapi.ExtControl{ID: c.ID, Value: c.Value}
	}
	if err := d.f.Ioctl(uapi.VidiocSExtCtrls, unsafe.Pointer(arg)); err != nil {
		id := uint32(0)
		if int(arg.ErrorIdx) < len(ctrls) {
			id = ctrls[arg.ErrorIdx].ID
		}
		return d.controlError("VIDIOC_S_EXT_CTRLS", id, err)
	}
	return nil
}

// SetFrameInterval is VIDIOC_S_PARM's time per frame (num/den seconds,
// e.g. 1/30) and returns what the driver took; an encoder's OUTPUT queue
// takes the frame rate its rate control plans for.
func (d *Device) SetFrameInterval(bufType uint32, num, den uint32) (uint32, uint32, error) {
	p := uapi.StreamParm{Type: bufType}
	*p.TimePerFrame() = uapi.Fract{Numerator: num, Denominator: den}
	if err := d.ioctl(fmt.Sprintf("VIDIOC_S_PARM %d/%d", num, den), uapi.VidiocSParm, unsafe.Pointer(&p)); err != nil {
		return 0, 0, err
	}
	tpf := p.TimePerFrame()
	return tpf.Numerator, tpf.Denominator, nil
}

// Encoder commands (V4L2_ENC_CMD_*).
const (
	EncCmdStart = 0
	EncCmdStop  = 1
)

// EncoderCommand is VIDIOC_ENCODER_CMD. EncCmdStop starts a drain: the
// encoder finishes the queued OUTPUT buffers, marks the last CAPTURE
// buffer FlagLast and sends EventEOS.
func (d *Device) EncoderCommand(cmd uint32) error {
	c := uapi.EncoderCmd{Cmd: cmd}
	return d.ioctl(fmt.Sprintf("VIDIOC_ENCODER_CMD %d", cmd), uapi.VidiocEncoderCmd, unsafe.Pointer(&c))
}

// Event types (V4L2_EVENT_*).
const (
	EventEOS          = 2
	EventSourceChange = 5
)

// SubscribeEvent is VIDIOC_SUBSCRIBE_EVENT; events then wake Wait with
// PollPri.
func (d *Device) SubscribeEvent(typ uint32) error {
	s := uapi.EventSubscription{Type: typ}
	return d.ioctl(fmt.Sprintf("VIDIOC_SUBSCRIBE_EVENT %d", typ), uapi.VidiocSubscribeEvent, unsafe.Pointer(&s))
}

// Event is one dequeued event.
type Event struct {
	Type, ID uint32
	// Pending is how many more are queued.
	Pending  uint32
	Sequence uint32
}

// DequeueEvent is VIDIOC_DQEVENT: ErrNotReady when none is pending.
func (d *Device) DequeueEvent() (Event, error) {
	var e uapi.Event
	if err := d.f.Ioctl(uapi.VidiocDQEvent, unsafe.Pointer(&e)); err != nil {
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.EAGAIN) {
			return Event{}, ErrNotReady
		}
		return Event{}, fmt.Errorf("v4l2: %s: VIDIOC_DQEVENT: %w", d.path, err)
	}
	return Event{Type: e.Type, ID: e.ID, Pending: e.Pending, Sequence: e.Sequence}, nil
}

// SetCrop is VIDIOC_S_SELECTION with V4L2_SEL_TGT_CROP: the visible part
// of the pictures on a queue, for an encoder whose format height was
// aligned (bcm2835-codec aligns to 16 rows, so 360 becomes 368). bufType
// is the single-planar type, as the selection API wants.
func (d *Device) SetCrop(bufType uint32, width, height int) error {
	s := uapi.Selection{Type: bufType, Target: 0, Rect: uapi.Rect{Width: uint32(width), Height: uint32(height)}}
	return d.ioctl(fmt.Sprintf("VIDIOC_S_SELECTION crop %dx%d", width, height), uapi.VidiocSSelection, unsafe.Pointer(&s))
}
