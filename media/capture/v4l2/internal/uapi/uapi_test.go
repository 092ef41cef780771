package uapi

import (
	"testing"
	"unsafe"
)

// The sizes, offsets and request numbers below were printed by a C program
// built against /usr/include/linux/videodev2.h (Linux 6.1 UAPI) on amd64,
// and the same values asserted with _Static_assert by aarch64-linux-gnu-gcc.
func TestLayoutMatchesVideodev2(t *testing.T) {
	sizes := []struct {
		name      string
		got, want uintptr
	}{
		{"v4l2_format", unsafe.Sizeof(Format{}), SizeFormat},
		{"v4l2_pix_format", unsafe.Sizeof(PixFormat{}), SizePixFormat},
		{"v4l2_pix_format_mplane", unsafe.Sizeof(PixFormatMPlane{}), SizePixFormatMPlane},
		{"v4l2_plane_pix_format", unsafe.Sizeof(PlanePixFormat{}), 20},
		{"v4l2_requestbuffers", unsafe.Sizeof(RequestBuffers{}), SizeRequestBuffers},
		{"v4l2_buffer", unsafe.Sizeof(Buffer{}), SizeBuffer},
		{"v4l2_plane", unsafe.Sizeof(Plane{}), SizePlane},
		{"v4l2_exportbuffer", unsafe.Sizeof(ExportBuffer{}), SizeExportBuffer},
		{"v4l2_queryctrl", unsafe.Sizeof(QueryCtrl{}), SizeQueryCtrl},
		{"v4l2_control", unsafe.Sizeof(Control{}), SizeControl},
		{"v4l2_ext_controls", unsafe.Sizeof(ExtControls{}), SizeExtControls},
		{"v4l2_ext_control", unsafe.Sizeof(ExtControl{}), SizeExtControl},
		{"v4l2_streamparm", unsafe.Sizeof(StreamParm{}), SizeStreamParm},
		{"v4l2_encoder_cmd", unsafe.Sizeof(EncoderCmd{}), SizeEncoderCmd},
		{"v4l2_event_subscription", unsafe.Sizeof(EventSubscription{}), SizeEventSubscription},
		{"v4l2_event", unsafe.Sizeof(Event{}), SizeEvent},
		{"v4l2_selection", unsafe.Sizeof(Selection{}), SizeSelection},
		// Arrays of packed ext controls: 20 bytes apart, as in C.
		{"v4l2_ext_control[2]", unsafe.Sizeof([2]ExtControl{}), 40},
	}
	for _, s := range sizes {
		if s.got != s.want {
			t.Errorf("sizeof(struct %s) = %d in Go, %d in the kernel", s.name, s.got, s.want)
		}
	}
	var b Buffer
	var e Event
	var x ExtControls
	var f Format
	var mp PixFormatMPlane
	var p Plane
	offsets := []struct {
		name      string
		got, want uintptr
	}{
		{"v4l2_format.fmt", unsafe.Offsetof(f.Fmt), 8},
		{"v4l2_pix_format_mplane.plane_fmt", unsafe.Offsetof(mp.PlaneFmt), 20},
		{"v4l2_pix_format_mplane.num_planes", unsafe.Offsetof(mp.NumPlanes), 180},
		{"v4l2_buffer.timestamp", unsafe.Offsetof(b.Timestamp), 24},
		{"v4l2_buffer.timecode", unsafe.Offsetof(b.Timecode), 40},
		{"v4l2_buffer.sequence", unsafe.Offsetof(b.Sequence), 56},
		{"v4l2_buffer.memory", unsafe.Offsetof(b.Memory), 60},
		{"v4l2_buffer.m", unsafe.Offsetof(b.M), 64},
		{"v4l2_buffer.length", unsafe.Offsetof(b.Length), 72},
		{"v4l2_buffer.request_fd", unsafe.Offsetof(b.RequestFD), 80},
		{"v4l2_plane.m", unsafe.Offsetof(p.M), 8},
		{"v4l2_plane.data_offset", unsafe.Offsetof(p.DataOffset), 16},
		{"v4l2_ext_controls.controls", unsafe.Offsetof(x.Controls), 24},
		{"v4l2_event.u", unsafe.Offsetof(e.U), 8},
		{"v4l2_event.pending", unsafe.Offsetof(e.Pending), 72},
		{"v4l2_event.timestamp", unsafe.Offsetof(e.Timestamp), 80},
		{"v4l2_event.id", unsafe.Offsetof(e.ID), 96},
		{"v4l2_ext_control.value", unsafe.Offsetof(ExtControl{}.Value), 12},
		{"v4l2_queryctrl.minimum", unsafe.Offsetof(QueryCtrl{}.Minimum), 40},
	}
	for _, o := range offsets {
		if o.got != o.want {
			t.Errorf("offsetof(%s) = %d in Go, %d in the kernel", o.name, o.got, o.want)
		}
	}
	// The multi-planar wrappers keep the kernel struct first.
	if unsafe.Offsetof(PlaneBuffer{}.Planes) != SizeBuffer || unsafe.Offsetof(ExtControlsArg{}.Controls) != SizeExtControls {
		t.Error("PlaneBuffer or ExtControlsArg does not start with the kernel struct")
	}
}

func TestRequestNumbers(t *testing.T) {
	for _, r := range []struct {
		name      string
		got, want uint
	}{
		{"VIDIOC_QUERYCAP", VidiocQueryCap, 0x80685600},
		{"VIDIOC_ENUM_FMT", VidiocEnumFmt, 0xc0405602},
		{"VIDIOC_G_FMT", VidiocGFmt, 0xc0d05604},
		{"VIDIOC_S_FMT", VidiocSFmt, 0xc0d05605},
		{"VIDIOC_TRY_FMT", VidiocTryFmt, 0xc0d05640},
		{"VIDIOC_REQBUFS", VidiocReqBufs, 0xc0145608},
		{"VIDIOC_QUERYBUF", VidiocQueryBuf, 0xc0585609},
		{"VIDIOC_QBUF", VidiocQBuf, 0xc058560f},
		{"VIDIOC_DQBUF", VidiocDQBuf, 0xc0585611},
		{"VIDIOC_STREAMON", VidiocStreamOn, 0x40045612},
		{"VIDIOC_STREAMOFF", VidiocStreamOff, 0x40045613},
		{"VIDIOC_EXPBUF", VidiocExpBuf, 0xc0405610},
		{"VIDIOC_QUERYCTRL", VidiocQueryCtrl, 0xc0445624},
		{"VIDIOC_G_CTRL", VidiocGCtrl, 0xc008561b},
		{"VIDIOC_S_CTRL", VidiocSCtrl, 0xc008561c},
		{"VIDIOC_G_EXT_CTRLS", VidiocGExtCtrls, 0xc0205647},
		{"VIDIOC_S_EXT_CTRLS", VidiocSExtCtrls, 0xc0205648},
		{"VIDIOC_G_PARM", VidiocGParm, 0xc0cc5615},
		{"VIDIOC_S_PARM", VidiocSParm, 0xc0cc5616},
		{"VIDIOC_ENCODER_CMD", VidiocEncoderCmd, 0xc028564d},
		{"VIDIOC_SUBSCRIBE_EVENT", VidiocSubscribeEvent, 0x4020565a},
		{"VIDIOC_UNSUBSCRIBE_EVENT", VidiocUnsubscribeEvnt, 0x4020565b},
		{"VIDIOC_DQEVENT", VidiocDQEvent, 0x80885659},
		{"VIDIOC_S_SELECTION", VidiocSSelection, 0xc040565f},
	} {
		if r.got != r.want {
			t.Errorf("%s = %#x, kernel %#x", r.name, r.got, r.want)
		}
	}
}
