package control

import (
	"fmt"
	"strings"

	"github.com/roomd/roomd/room"
)

// Arg is one named command parameter as a client sent it.
type Arg struct {
	Name  string
	Value string
}

// Command is a command checked against the schema, ready for the room.
type Command struct {
	Path   Path   // canonical
	Result string // e.g. "VolumeSetResult"
	Args   []Arg  // canonical names and values, in schema order, defaults filled in
	Action room.Action
}

// ParseCommand finds the command at path (any case) and checks its
// arguments. Errors wrap ErrUnknownPath when no command has that path, and
// ErrBadValue for a missing, repeated, unknown or out-of-range parameter; in
// the latter case the returned Command still names the command (Path,
// Result), so a reply can say which one failed.
func ParseCommand(path Path, args []Arg) (Command, error) {
	spec, ok := commandSpec(path)
	if !ok {
		return Command{}, fmt.Errorf("%w: no command %q", ErrUnknownPath, path.String())
	}
	cmd := Command{Path: spec.Path, Result: spec.Result}
	got := map[string]string{}
	for _, a := range args {
		ps, ok := paramSpec(spec, a.Name)
		if !ok {
			return cmd, fmt.Errorf("%w: %s takes no parameter %q%s", ErrBadValue, spec.Path, a.Name, paramList(spec))
		}
		if _, dup := got[ps.Name]; dup {
			return cmd, fmt.Errorf("%w: parameter %s given twice", ErrBadValue, ps.Name)
		}
		v, err := ps.Space.Canonical(a.Value)
		if err != nil {
			return cmd, fmt.Errorf("%s: %w", ps.Name, err)
		}
		got[ps.Name] = v
	}
	for _, ps := range spec.Params {
		v, ok := got[ps.Name]
		switch {
		case !ok && ps.Required:
			return cmd, fmt.Errorf("%w: parameter %s is required (%s)", ErrBadValue, ps.Name, ps.Space)
		case !ok && ps.Default != "":
			v, ok = ps.Default, true
			got[ps.Name] = v
		}
		if ok {
			cmd.Args = append(cmd.Args, Arg{Name: ps.Name, Value: v})
		}
	}
	if spec.check != nil {
		if err := spec.check(got); err != nil {
			return cmd, err
		}
	}
	cmd.Action = spec.action(got)
	return cmd, nil
}

func commandSpec(path Path) (*CommandSpec, bool) {
	for i := range vocab.Commands {
		if vocab.Commands[i].Path.EqualFold(path) {
			return &vocab.Commands[i], true
		}
	}
	return nil, false
}

func paramSpec(c *CommandSpec, name string) (ParamSpec, bool) {
	for _, p := range c.Params {
		if strings.EqualFold(p.Name, name) {
			return p, true
		}
	}
	return ParamSpec{}, false
}

func paramList(c *CommandSpec) string {
	if len(c.Params) == 0 {
		return ""
	}
	names := make([]string, len(c.Params))
	for i, p := range c.Params {
		names[i] = p.Name
	}
	return "; it takes " + strings.Join(names, ", ")
}

// ConfigLeaves returns every configuration item's current value, in schema order.
func ConfigLeaves(s room.Settings) []Leaf {
	out := make([]Leaf, 0, len(vocab.Config))
	for _, c := range vocab.Config {
		out = append(out, Leaf{Path: c.Path, Value: c.get(s), Kind: c.Space.Kind})
	}
	return out
}

// ConfigPrefix checks that p names a configuration item or a subtree of
// them and returns it in canonical case. An empty path is every item.
func ConfigPrefix(p Path) (Path, error) {
	for _, c := range vocab.Config {
		if canon, ok := matchPattern(c.Path, p); ok {
			return canon, nil
		}
	}
	return nil, fmt.Errorf("%w: no configuration at %q", ErrUnknownPath, p.String())
}

// SetConfig returns s with the item at path (any case) set to value, and the
// item as it now reads. It checks the item's value space; the room checks
// the settings as a whole when they are sent as room.ChangeSettings.
func SetConfig(s room.Settings, path Path, value string) (room.Settings, Leaf, error) {
	for _, c := range vocab.Config {
		if !c.Path.EqualFold(path) {
			continue
		}
		v, err := c.Space.Canonical(value)
		if err != nil {
			return s, Leaf{}, fmt.Errorf("%s: %w", c.Path, err)
		}
		c.set(&s, v)
		return s, Leaf{Path: c.Path, Value: c.get(s), Kind: c.Space.Kind}, nil
	}
	if _, err := ConfigPrefix(path); err == nil && len(path) > 0 {
		return s, Leaf{}, fmt.Errorf("%w: %q is a group of items; name one item", ErrUnknownPath, path.String())
	}
	return s, Leaf{}, fmt.Errorf("%w: no configuration %q", ErrUnknownPath, path.String())
}
