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
// (draft-ietf-rmcat-gcc-02 §6).
const (
	lossHigh = 0.10
	lossLow  = 0.02
	growth   = 1.08
)

// RateController is the loss-based send-rate controller for a stream with
// no transport-wide feedback: each receiver report's fraction lost moves
// the rate as GCC's loss-based rule does (more than 10 % lost: rate ×
// (1 − 0.5·loss); less than 2 %: rate × 1.08; else hold), within Min and
// Max and under the far end's caps (TMMBR, REMB, the SDP's bandwidth). It is safe for
// concurrent use.
type RateController struct {
	cfg RateConfig

	mu    sync.Mutex
	rate  float64
	tmmbr int // 0: no cap
	remb  int
	sdp   int
}

// NewRateController starts at cfg.Start.
func NewRateController(cfg RateConfig) *RateController {
	cfg = cfg.withDefaults()
	return &RateController{cfg: cfg, rate: float64(cfg.Start)}
}

// OnLoss applies one receiver report's fraction lost (0..1) and returns
// the new target.
func (c *RateController) OnLoss(loss float64) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case loss > lossHigh:
		c.rate *= 1 - 0.5*loss
	case loss < lossLow:
		c.rate *= growth
	}
	// The rate never climbs above what may be sent, so a lifted cap or
	// loss after a long quiet spell starts from a real figure.
	c.rate = max(float64(c.cfg.Min), min(c.rate, float64(c.ceiling())))
	return int(c.rate)
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
