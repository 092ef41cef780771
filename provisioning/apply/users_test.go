package apply

import (
	"context"
	"errors"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/roomd/roomd/control/remoteusers"
	"github.com/roomd/roomd/provisioning"
)

// TestApplySSHUsers: the bundle's ssh users log in beside the file's, a
// same-named one replaces the file's, and an empty bundle (the rollback)
// leaves the file's alone.
func TestApplySSHUsers(t *testing.T) {
	hash := func(pw string) []byte {
		h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	store, err := remoteusers.New([]remoteusers.User{{Name: "local", PasswordHash: hash("file-pw")}, {Name: "shared", PasswordHash: hash("old-pw")}}, remoteusers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	a := New(Targets{Users: store}, nil)
	key := "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl crestron"
	cfg := provisioning.Config{SSH: &provisioning.SSHConfig{Users: []provisioning.SSHUser{
		{Name: "fleet", PasswordHash: string(hash("fleet-pw"))},
		{Name: "shared", PasswordHash: string(hash("new-pw"))},
		{Name: "crestron", AuthorizedKeys: []string{key}},
	}}}
	if err := a.Apply(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	login := func(user, pw string) error { return store.CheckPassword(user, []byte(pw), "test") }
	for _, ok := range [][2]string{{"local", "file-pw"}, {"fleet", "fleet-pw"}, {"shared", "new-pw"}} {
		if err := login(ok[0], ok[1]); err != nil {
			t.Errorf("%s with the bundle in force: %v", ok[0], err)
		}
	}
	if err := login("shared", "old-pw"); !errors.Is(err, remoteusers.ErrWrong) {
		t.Errorf("the file's password of a user the fleet replaced: %v", err)
	}
	pk, err := remoteusers.ParseAuthorizedKey(key)
	if err != nil || !store.CheckKey("crestron", pk) || store.CheckKey("fleet", pk) {
		t.Errorf("crestron's key: %v", err)
	}
	if err := a.Apply(context.Background(), provisioning.Config{}); err != nil {
		t.Fatal(err)
	}
	if err := login("shared", "old-pw"); err != nil {
		t.Errorf("after the rollback the file's password: %v", err)
	}
	if err := login("fleet", "fleet-pw"); !errors.Is(err, remoteusers.ErrWrong) {
		t.Errorf("after the rollback the fleet's user: %v", err)
	}
	if store.Len() != 2 {
		t.Errorf("%d users after the rollback, want the file's 2", store.Len())
	}
}
