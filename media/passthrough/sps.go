package passthrough

import (
	"errors"
	"fmt"
)

// errShortSPS means the SPS ended before the field being read.
var errShortSPS = errors.New("passthrough: SPS cut short")

// bitReader reads an RBSP (emulation prevention bytes removed) bit by bit.
type bitReader struct {
	b   []byte
	pos int // in bits
	err error
}

func (r *bitReader) u(n int) uint32 {
	var v uint32
	for range n {
		if r.pos >= len(r.b)*8 {
			r.err = errShortSPS
			return 0
		}
		v = v<<1 | uint32(r.b[r.pos/8]>>(7-r.pos%8)&1)
		r.pos++
	}
	return v
}

// ue reads an unsigned Exp-Golomb code.
func (r *bitReader) ue() uint32 {
	zeros := 0
	for r.u(1) == 0 && r.err == nil {
		if zeros++; zeros > 31 {
			r.err = errShortSPS
			return 0
		}
	}
	return 1<<zeros - 1 + r.u(zeros)
}

func (r *bitReader) se() int32 {
	v := r.ue()
	if v&1 == 1 {
		return int32((v + 1) / 2)
	}
	return -int32(v / 2)
}

// rbsp removes the emulation prevention bytes (00 00 03 → 00 00).
func rbsp(nal []byte) []byte {
	out := make([]byte, 0, len(nal))
	zeros := 0
	for _, c := range nal {
		if zeros >= 2 && c == 3 {
			zeros = 0
			continue
		}
		if c == 0 {
			zeros++
		} else {
			zeros = 0
		}
		out = append(out, c)
	}
	return out
}

// spsInfo is what roomd reads from an SPS: the picture size, and the
// frame rate when its VUI has timing info.
type spsInfo struct {
	width, height int
	fps           float64 // 0: not declared
}

// parseSPS reads an SPS NAL unit (with its header byte). The frame rate is
// time_scale / (2 × num_units_in_tick), as x264 and cameras write it.
func parseSPS(nal []byte) (spsInfo, error) {
	if len(nal) < 4 || nal[0]&0x1f != nalSPS {
		return spsInfo{}, errors.New("passthrough: not an SPS")
	}
	r := &bitReader{b: rbsp(nal[1:])}
	profile := r.u(8)
	r.u(16) // constraint flags, reserved bits, level_idc
	r.ue()  // seq_parameter_set_id
	chroma := uint32(1)
	switch profile {
	case 100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135:
		lists := 8
		if chroma = r.ue(); chroma == 3 { // 4:4:4
			if r.u(1) == 1 { // separate_colour_plane_flag
				chroma = 0 // coded as monochrome planes
			}
			lists = 12
		}
		r.ue()           // bit_depth_luma_minus8
		r.ue()           // bit_depth_chroma_minus8
		r.u(1)           // qpprime_y_zero_transform_bypass_flag
		if r.u(1) == 1 { // seq_scaling_matrix_present_flag
			for i := range lists {
				if r.u(1) == 1 {
					size := 64
					if i < 6 {
						size = 16
					}
					skipScalingList(r, size)
				}
			}
		}
	}
	r.ue()          // log2_max_frame_num_minus4
	switch r.ue() { // pic_order_cnt_type
	case 0:
		r.ue() // log2_max_pic_order_cnt_lsb_minus4
	case 1:
		r.u(1) // delta_pic_order_always_zero_flag
		r.se() // offset_for_non_ref_pic
		r.se() // offset_for_top_to_bottom_field
		for n := r.ue(); n > 0 && r.err == nil; n-- {
			r.se()
		}
	}
	r.ue() // max_num_ref_frames
	r.u(1) // gaps_in_frame_num_value_allowed_flag
	mbW, mapH := int(r.ue())+1, int(r.ue())+1
	frameMBsOnly := int(r.u(1))
	if frameMBsOnly == 0 {
		r.u(1) // mb_adaptive_frame_field_flag
	}
	r.u(1) // direct_8x8_inference_flag
	var crop [4]int
	if r.u(1) == 1 { // frame_cropping_flag: left, right, top, bottom
		for i := range crop {
			crop[i] = int(r.ue())
		}
	}
	// Crop units (H.264 7.4.2.1.1): SubWidthC, SubHeightC for 4:2:0,
	// 4:2:2, 4:4:4; 1 for monochrome.
	cx, cy := 1, 2-frameMBsOnly
	switch chroma {
	case 1:
		cx, cy = 2, 2*(2-frameMBsOnly)
	case 2:
		cx = 2
	}
	info := spsInfo{
		width:  mbW*16 - cx*(crop[0]+crop[1]),
		height: (2-frameMBsOnly)*mapH*16 - cy*(crop[2]+crop[3]),
	}
	if r.err != nil || info.width <= 0 || info.height <= 0 {
		return spsInfo{}, errShortSPS
	}
	if r.u(1) == 0 { // vui_parameters_present_flag
		return info, nil
	}
	if r.u(1) == 1 { // aspect_ratio_info_present_flag
		if r.u(8) == 255 { // Extended_SAR
			r.u(32)
		}
	}
	if r.u(1) == 1 { // overscan_info_present_flag
		r.u(1)
	}
	if r.u(1) == 1 { // video_signal_type_present_flag
		r.u(4)
		if r.u(1) == 1 { // colour_description_present_flag
			r.u(24)
		}
	}
	if r.u(1) == 1 { // chroma_loc_info_present_flag
		r.ue()
		r.ue()
	}
	if r.u(1) == 1 { // timing_info_present_flag
		if tick, scale := r.u(32), r.u(32); r.err == nil && tick > 0 && scale > 0 {
			info.fps = float64(scale) / float64(2*tick)
		}
	}
	return info, nil
}

// skipScalingList reads past a scaling_list() of size entries.
func skipScalingList(r *bitReader, size int) {
	last, next := int32(8), int32(8)
	for range size {
		if next != 0 {
			next = (last + r.se() + 256) % 256
		}
		if next != 0 {
			last = next
		}
		if r.err != nil {
			return
		}
	}
}

// profileName names an SPS's profile and level for status, e.g.
// "Constrained Baseline 3.1": far ends that negotiated another profile may
// not decode a camera's stream, and status should show what it is.
func profileName(nal []byte) string {
	if len(nal) < 4 || nal[0]&0x1f != nalSPS {
		return ""
	}
	profile, constraints, level := nal[1], nal[2], nal[3]
	name := map[byte]string{66: "Baseline", 77: "Main", 88: "Extended", 100: "High", 110: "High 10", 122: "High 4:2:2", 244: "High 4:4:4"}[profile]
	switch {
	case name == "":
		name = fmt.Sprintf("profile %d", profile)
	case profile == 66 && constraints&0x40 != 0:
		name = "Constrained Baseline"
	case profile == 100 && constraints&0x0c == 0x0c:
		name = "Constrained High"
	}
	return fmt.Sprintf("%s %d.%d", name, level/10, level%10)
}
