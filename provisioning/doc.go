// Package provisioning enrolls the room in its organisation's fleet and
// applies signed configuration bundles (issue: fleet provisioning). Nothing
// here yet: a room runs standalone on its local configuration.
package provisioning
