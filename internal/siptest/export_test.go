package siptest

// The Start functions without their -short skip, so that the missing-tool
// test runs in make test-unit too.
var (
	StartBaresipPastShort  = startBaresip
	StartKamailioPastShort = startKamailio
	StartLinphonePastShort = startLinphone
	RunSippPastShort       = runSipp
)

// ParseWAV exposes parseWAV to the tests.
func ParseWAV(data []byte) (Audio, error) { return parseWAV(data) }
