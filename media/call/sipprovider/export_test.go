package sipprovider

// cfgHeld says whether the far end has the call in progress on hold.
func (p *Provider) cfgHeld() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.neg != nil && p.neg.held()
}
