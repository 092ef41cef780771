package rtpmedia

import "sync"

// RateConfig bounds the send bitrate; zero fields take defaults.
type RateConfig struct {
	Min   int // bit/s; 0 means 100 kbit/s
	Max   int // bit/s; 0 means 2.5 Mbit/s
	Start int // bit/s; 0 means 1 Mbit/s (within Min and Max)
}

func (c RateConfig) withDefaults() RateConfig {
	if c.Min <= 0 {
		c.Min = 100_000
	}
	if c.Max <= 0 {
		c.Max = 2_500_000
	}
	if c.Max < c.Min {
		c.Max = c.Min
	}
	if c.Start <= 0 {
		c.Start = 1_000_000
	}
	c.Start = min(max(c.Start, c.Min), c.Max)
	return c
}

// Loss thresholds of GCC's loss-based controller
// (draft-ietf-rmcat-gcc-02 §6), and how the controller moves around the
// throughput a congested link let through (its knee).
const (
	lossHigh = 0.10
	lossLow  = 0.02
	// lossNear is the loss that, near the knee, says the rate has reached
	// the bottleneck again (one packet in 200).
	lossNear = 0.005
	// growth is the step up per clean report far from the knee (GCC's);
	// probe is the step past the knee once the rate has held under it
	// for holdReports clean reports.
	growth      = 1.08
	probe       = 1.03
	holdReports = 6
	// backoff is the share of what got through the rate falls to when
	// the link overflows (more than 10 % lost); settle is where it rests
	// under the knee, and where moderate loss near it sends it.
	backoff = 0.85
	settle  = 0.9
	// nearKnee is where near the knee starts, as a share of it: loss
	// above it is the bottleneck's, not random.
	nearKnee = 0.8
	// forgetKnee is how far above the knee clean reports make it stale:
	// the link got faster.
	forgetKnee = 1.05
)

// RateController is the loss-based send-rate controller for a stream with
// no transport-wide feedback. Each receiver report's fraction lost moves
// the rate, within Min and Max and under the far end's caps (TMMBR, REMB,
// the SDP's bandwidth):
//
//   - more than 10 % lost: the link overflowed, and the sent rate ×
//     (1 − loss) that got through is what it carries (the knee); the rate
//     falls to 85 % of that. GCC's rate × (1 − 0.5·loss) only halves the
//     distance to the bottleneck each report and settles above it
//     (measured over a 300 kbit/s tc tbf cap against baresip:
//     docs/sip-media-path.md).
//   - near a knee seen before (at 80 % of it or more), 0.5 % lost or more
//     is the bottleneck again: the knee becomes what got through and the
//     rate falls to 90 % of it.
//   - otherwise 2 % to 10 %: random loss, held as GCC does.
//   - under 2 %: × 1.08 per report, but with a knee only up to 90 % of
//     it; after six clean reports there it probes past the knee, × 1.03
//     per report, and 5 % above the knee with no loss it forgets it.
//
// A report counts its loss since the far end's previous report, so its
// interval began before the last change took effect (and an encoder's
// own rate control lags it too): the sent rate is taken as the higher of
// the rates before and after that change, and loss only ever lowers the
// rate. A report that still covers the time before a cut therefore does
// not cut a second time.
//
// It is safe for concurrent use.
type RateController struct {
	cfg RateConfig

	mu    sync.Mutex
	rate  float64
	prev  float64 // the rate before the latest report moved it
	knee  float64 // bit/s that got through when the link last overflowed; 0: none
	held  int     // clean reports at the settle point under the knee
	tmmbr int     // 0: no cap
	remb  int
	sdp   int
}

// NewRateController starts at cfg.Start.
func NewRateController(cfg RateConfig) *RateController {
	cfg = cfg.withDefaults()
	return &RateController{cfg: cfg, rate: float64(cfg.Start), prev: float64(cfg.Start)}
}

// OnLoss applies one receiver report's fraction lost (0..1) and returns
// the new target.
func (c *RateController) OnLoss(loss float64) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	sent := max(c.rate, c.prev)
	c.prev = c.rate
	through := sent * (1 - loss)
	near := c.knee > 0 && c.rate >= nearKnee*c.knee
	switch {
	case loss > lossHigh:
		c.cut(through, backoff)
	case near && loss >= lossNear:
		c.cut(through, settle)
	case loss >= lossLow:
		c.held = 0 // random loss: hold
	case c.knee == 0:
		c.rate *= growth
	case c.rate < settle*c.knee:
		c.rate = min(c.rate*growth, settle*c.knee)
	case loss > 0:
		c.held = 0 // at the knee with a little loss: no probing yet
	case c.held < holdReports:
		c.held++
	default:
		c.rate *= probe
		if c.rate > forgetKnee*c.knee {
			c.knee = 0
		}
	}
	// The rate never climbs above what may be sent, so a lifted cap or
	// loss after a long quiet spell starts from a real figure.
	c.rate = max(float64(c.cfg.Min), min(c.rate, float64(c.ceiling())))
	return int(c.rate)
}

// cut lowers the rate to share of what got through, taking that as the
// knee, unless the report covered a higher rate than now and the rate is
// already under it. The caller holds mu.
func (c *RateController) cut(through, share float64) {
	c.held = 0
	if share*through < c.rate {
		c.knee, c.rate = max(through, float64(c.cfg.Min)), share*through
	}
}

// CapTMMBR and CapREMB cap the target at the far end's TMMBR or REMB; 0
// lifts that cap. They return the new target.
func (c *RateController) CapTMMBR(bps int) int { return c.setCap(&c.tmmbr, bps) }

// CapREMB: see CapTMMBR.
func (c *RateController) CapREMB(bps int) int { return c.setCap(&c.remb, bps) }

// CapSDP caps the target at the far end's b=TIAS or b=AS; see CapTMMBR.
func (c *RateController) CapSDP(bps int) int { return c.setCap(&c.sdp, bps) }

func (c *RateController) setCap(cap *int, bps int) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	*cap = max(bps, 0)
	c.rate = max(float64(c.cfg.Min), min(c.rate, float64(c.ceiling())))
	return int(c.rate)
}

// ceiling is the highest target allowed now; the caller holds mu.
func (c *RateController) ceiling() int {
	hi := c.cfg.Max
	for _, cp := range []int{c.tmmbr, c.remb, c.sdp} {
		if cp > 0 {
			hi = min(hi, cp)
		}
	}
	return max(hi, c.cfg.Min)
}

// Target is the current send target in bit/s.
func (c *RateController) Target() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return int(c.rate)
}
