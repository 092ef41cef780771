package rtpmedia

import (
	"math"
	"testing"
)

func TestRateController(t *testing.T) {
	c := NewRateController(RateConfig{Min: 100_000, Max: 2_000_000, Start: 1_000_000})
	steps := []struct {
		loss float64
		want int
		why  string
	}{
		{0.20, 680_000, "overflow: 85 % of the 800k that got through"},
		{0.20, 680_000, "the same loss again covers the time before the cut: no second cut"},
		{0.20, 462_400, "it persists at 680k: 85 % of the 544k knee"},
		{0.00, 489_600, "× 1.08, stopped at 90 % of the knee"},
		{0.05, 418_608, "moderate loss near the knee: 90 % of the 465k that got through"},
		{0.004, 418_608, "under 0.5 %: held"},
		{0.00, 418_608, "clean 1"}, {0.00, 418_608, "clean 2"}, {0.00, 418_608, "clean 3"},
		{0.00, 418_608, "clean 4"}, {0.00, 418_608, "clean 5"}, {0.00, 418_608, "clean 6"},
		{0.00, 431_166, "held six clean reports: probing, × 1.03"},
		{0.00, 444_101, "× 1.03"},
		{0.00, 457_424, "× 1.03"},
		{0.03, 399_331, "loss past the knee: 90 % of what got through"},
		{1.00, 100_000, "everything lost: not below Min"},
	}
	for i, s := range steps {
		if got := c.OnLoss(s.loss); math.Abs(float64(got-s.want)) > 1 {
			t.Fatalf("step %d: loss %.2f → %d, want %d (%s)", i, s.loss, got, s.want, s.why)
		}
	}
	for range 100 {
		c.OnLoss(0)
	}
	if got := c.Target(); got != 2_000_000 {
		t.Fatalf("without loss the target reaches %d, want Max (the knee forgotten)", got)
	}
	if got := c.CapTMMBR(500_000); got != 500_000 {
		t.Fatalf("TMMBR 500k: %d", got)
	}
	if got := c.OnLoss(0); got != 500_000 {
		t.Fatalf("under TMMBR the target grows to %d", got)
	}
	if got := c.CapREMB(300_000); got != 300_000 {
		t.Fatalf("REMB 300k under TMMBR 500k: %d", got)
	}
	c.CapREMB(0)
	c.CapTMMBR(0)
	if got := c.OnLoss(0); got != 324_000 {
		t.Fatalf("caps lifted: %d, want 300k × 1.08", got)
	}
}

// Random loss between 2 % and 10 % with no overflow seen holds the rate,
// as GCC does: a lossy link is not a slow one.
func TestRateControllerHoldsOnRandomLoss(t *testing.T) {
	c := NewRateController(RateConfig{Start: 1_000_000})
	for i := range 20 {
		if got := c.OnLoss(0.02 + float64(i%8)/100); got != 1_000_000 {
			t.Fatalf("report %d: random loss moved the rate to %d", i, got)
		}
	}
}

// Over a bottleneck that carries capacity bit/s of video and drops the
// rest, the rate comes under the capacity within three reports (a start
// more than 10 % over it: less is random loss to GCC and to this) and stays
// there but for short probes, while using most of it. GCC's rule alone
// (rate × (1 − 0.5·loss), hold between 2 % and 10 %) settles above it.
func TestRateControllerSettlesUnderBottleneck(t *testing.T) {
	for _, capacity := range []float64{250_000, 600_000, 1_500_000} {
		c := NewRateController(RateConfig{Min: 100_000, Max: 2_500_000, Start: 2_000_000})
		gcc := 2_000_000.0
		sending := float64(c.Target())
		var over int
		var sum float64
		const reports = 120
		for i := range reports {
			// The report covers the interval just sent at the rate then.
			loss := max(0, 1-capacity/sending)
			sending = float64(c.OnLoss(loss))
			if gl := max(0, 1-capacity/gcc); gl > lossHigh {
				gcc *= 1 - 0.5*gl
			} else if gl < lossLow {
				gcc *= growth
			}
			if sending > capacity && i >= 2 {
				over++
			}
			if sending > 1.05*capacity {
				t.Errorf("capacity %.0f: report %d: rate %.0f is more than 5 %% over", capacity, i, sending)
			}
			if i >= reports/2 {
				sum += sending
			}
		}
		mean := sum / (reports / 2)
		t.Logf("capacity %4.0fk: mean %4.0fk over the last %d reports, over capacity in %d of %d reports from the third; GCC's rule alone ends at %4.0fk", capacity/1000, mean/1000, reports/2, over, reports-3, gcc/1000)
		if over > reports/10 {
			t.Errorf("capacity %.0f: over it in %d of %d reports", capacity, over, reports-3)
		}
		if mean < 0.75*capacity || mean > capacity {
			t.Errorf("capacity %.0f: mean rate %.0f, want 75–100 %% of it", capacity, mean)
		}
	}
}
