package sdp

import (
	"fmt"
	"net/netip"
	"slices"
)

// hostPriority is RFC 8445 §5.1.2.1's priority of a host candidate with
// the highest local preference, for component c (1 RTP, 2 RTCP).
func hostPriority(c int) uint32 { return 126<<24 | 65535<<8 | uint32(256-c) }

// withHostCandidates is roomd's ICE-lite description for one answered
// m-line: the credentials of i and, unless i names candidates, one host
// candidate per component on addr (RTP on port, RTCP on port+1 without
// rtcp-mux).
func (i *ICE) withHostCandidates(addr netip.Addr, port int, rtcpMux bool) *ICE {
	out := *i
	out.Lite = true
	if len(i.Candidates) > 0 {
		out.Candidates = slices.Clone(i.Candidates)
		return &out
	}
	comps := 1
	if !rtcpMux {
		comps = 2
	}
	for c := 1; c <= comps; c++ {
		out.Candidates = append(out.Candidates,
			fmt.Sprintf("1 %d UDP %d %s %d typ host", c, hostPriority(c), addr.Unmap(), port+c-1))
	}
	return &out
}
