package codec

import "errors"

// errNothingQueued is what the one-shot readers that feed mediadevices'
// pull-style encoders (Opus) answer when pulled with nothing queued.
var errNothingQueued = errors.New("codec: encoder read with nothing queued")
