package sipprovider

import "github.com/roomd/roomd/media/sip/rtpmedia"

// cfgHeld says whether the far end has the call in progress on hold.
func (p *Provider) cfgHeld() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.neg != nil && p.neg.held()
}

// negotiated describes the call in progress's media.
func (p *Provider) negotiated() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.neg == nil {
		return ""
	}
	return p.neg.negotiated().String()
}

// audioStats are the figures of the call in progress's audio stream.
func (p *Provider) audioStats() (rtpmedia.Stats, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.audio == nil {
		return rtpmedia.Stats{}, false
	}
	return p.audio.Stats(), true
}
