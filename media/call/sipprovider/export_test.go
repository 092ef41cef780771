package sipprovider

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
