package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// secretFiles are the key directory's private files; each must stay 0600.
var secretFiles = []string{caKeyFile, rootKeyFile, configKeyFile, codeKeyFile}

// Every private key file (not only ca.key) readable or writable by group or
// others stops fleetd with an error naming the file and the chmod to run;
// after the chmod the same keys load.
func TestKeysRefusedWhenReadableByOthers(t *testing.T) {
	dir := t.TempDir()
	first, err := loadOrCreateKeys(dir, "acme")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range secretFiles {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s after first start: %v %v, want mode 0600", name, fi.Mode(), err)
		}
	}
	for _, name := range secretFiles {
		for _, mode := range []os.FileMode{0o644, 0o640, 0o604, 0o620, 0o602} {
			p := filepath.Join(dir, name)
			if err := os.Chmod(p, mode); err != nil {
				t.Fatal(err)
			}
			_, err := loadOrCreateKeys(dir, "acme")
			if err == nil || !strings.Contains(err.Error(), "chmod 600 "+p) || !strings.HasPrefix(err.Error(), "fleetd: "+p) {
				t.Errorf("%s at %04o: %v, want a refusal naming the file and the chmod", name, mode, err)
			}
			if err := os.Chmod(p, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	again, err := loadOrCreateKeys(dir, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if !again.CAKey.Equal(first.CAKey) || !again.RootKey.Equal(first.RootKey) || !again.ConfigKey.Equal(first.ConfigKey) || !bytes.Equal(again.CodeKey, first.CodeKey) {
		t.Error("the keys changed across restarts")
	}
}

// A damaged key directory: a signing key or certificate that is missing,
// empty, truncated, garbage, a directory or the wrong key stops fleetd with
// an error that names the file and says to restore it, and nothing is
// replaced (a new CA, root or config key would orphan every device). The
// activation-code key alone is set aside and made anew: losing it only
// voids the codes outstanding.
func TestKeyDirectoryDamage(t *testing.T) {
	otherDir := t.TempDir()
	if _, err := loadOrCreateKeys(otherDir, "acme"); err != nil {
		t.Fatal(err)
	}
	type damage struct {
		name string
		do   func(t *testing.T, p string)
	}
	write := func(b []byte) func(t *testing.T, p string) {
		return func(t *testing.T, p string) {
			if err := os.WriteFile(p, b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	damages := []damage{
		{"missing", func(t *testing.T, p string) { os.Remove(p) }},
		{"empty", write(nil)},
		{"truncated", func(t *testing.T, p string) {
			b, _ := os.ReadFile(p)
			write(b[:len(b)/2])(t, p)
		}},
		{"garbage", write([]byte("\x00\xffnot a key at all\n"))},
		{"directory", func(t *testing.T, p string) {
			os.Remove(p)
			if err := os.Mkdir(p, 0o700); err != nil {
				t.Fatal(err)
			}
		}},
		{"another fleet's", func(t *testing.T, p string) {
			b, err := os.ReadFile(filepath.Join(otherDir, filepath.Base(p)))
			if err != nil {
				t.Fatal(err)
			}
			write(b)(t, p)
		}},
	}
	files := []string{caKeyFile, "ca.crt", rootKeyFile, configKeyFile, "root-1.json"}
	for _, file := range files {
		for _, d := range damages {
			t.Run(file+"/"+d.name, func(t *testing.T) {
				dir := t.TempDir()
				if _, err := loadOrCreateKeys(dir, "acme"); err != nil {
					t.Fatal(err)
				}
				p := filepath.Join(dir, file)
				d.do(t, p)
				before, _ := filepath.Glob(filepath.Join(dir, "*"))
				_, err := loadOrCreateKeys(dir, "acme")
				after, _ := filepath.Glob(filepath.Join(dir, "*"))
				if file == "ca.crt" && d.name == "missing" {
					// The certificate is public and made again from the
					// same key.
					if err != nil {
						t.Errorf("ca.crt missing: %v", err)
					}
					return
				}
				if err == nil {
					t.Fatalf("started with %s %s", d.name, file)
				}
				if !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "restore") {
					t.Errorf("error does not name %s or say to restore it: %v", p, err)
				}
				if strings.Join(before, " ") != strings.Join(after, " ") {
					t.Errorf("the key directory changed: %v -> %v", before, after)
				}
				if fi, _ := os.Stat(p); d.name != "missing" && fi == nil {
					t.Errorf("%s was removed", p)
				}
			})
		}
	}

	// The code key: set aside, replaced, reported.
	for _, d := range damages {
		if d.name == "another fleet's" {
			continue // any 32 bytes are a valid key
		}
		t.Run(codeKeyFile+"/"+d.name, func(t *testing.T) {
			dir := t.TempDir()
			k1, err := loadOrCreateKeys(dir, "acme")
			if err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(dir, codeKeyFile)
			d.do(t, p)
			k2, err := loadOrCreateKeys(dir, "acme")
			if err != nil {
				t.Fatalf("%s %s: %v", d.name, codeKeyFile, err)
			}
			if len(k2.CodeKey) != codeKeySize || bytes.Equal(k2.CodeKey, k1.CodeKey) {
				t.Errorf("code key after %s: %x", d.name, k2.CodeKey)
			}
			if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o600 || !fi.Mode().IsRegular() {
				t.Errorf("new %s: %v %v", codeKeyFile, fi.Mode(), err)
			}
			aside, _ := filepath.Glob(p + ".corrupt-*")
			if d.name == "missing" {
				if len(aside) != 0 || len(k2.Notes) != 0 {
					t.Errorf("missing code key: set aside %v, notes %q", aside, k2.Notes)
				}
				return
			}
			if len(aside) != 1 || len(k2.Notes) != 1 || !strings.Contains(k2.Notes[0], aside[0]) || !strings.Contains(k2.Notes[0], "issue new ones") {
				t.Errorf("damaged code key: set aside %v, notes %q", aside, k2.Notes)
			}
			k3, err := loadOrCreateKeys(dir, "acme")
			if err != nil || !bytes.Equal(k3.CodeKey, k2.CodeKey) || len(k3.Notes) != 0 {
				t.Errorf("restart after the repair: %v %q", err, k3.Notes)
			}
		})
	}
}

// fleet.db is created readable by its owner only, and so are the -wal and
// -shm files SQLite makes beside it, whatever the umask; a database left
// readable by others (made by an older fleetd) is tightened on start.
func TestDatabaseFilesPrivate(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	ctx := context.Background()
	p := filepath.Join(t.TempDir(), "fleet.db")
	files := []string{p, p + "-wal", p + "-shm"}
	open := func() Store {
		st, err := openStore(ctx, p, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.CreateOrg(ctx, "acme"+time.Now().Format("150405.000000000"), "Acme"); err != nil {
			t.Fatal(err)
		}
		return st
	}
	check := func(when string) {
		t.Helper()
		for _, f := range files {
			fi, err := os.Stat(f)
			if err != nil || fi.Mode().Perm() != 0o600 {
				t.Errorf("%s: %s: %v %v, want mode 0600", when, filepath.Base(f), fi.Mode(), err)
			}
		}
	}
	st := open()
	check("created")
	st.Close()

	// An older fleetd's database, readable by all: tightened.
	for _, f := range files {
		if err := os.Chmod(f, 0o644); err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
	}
	st = open()
	defer st.Close()
	check("reopened")
}

// A database that is not one (garbage, truncated, a directory) stops
// fleetd with an error saying to restore it, and the file is left as it
// was; an empty file is a new database.
func TestDatabaseDamaged(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.db")
	junk := bytes.Repeat([]byte("this is not a database "), 512)
	os.WriteFile(garbage, junk, 0o600)
	if st, err := openStore(ctx, garbage, nil); err == nil {
		st.Close()
		t.Error("opened a garbage database")
	} else if !strings.Contains(err.Error(), garbage) || !strings.Contains(err.Error(), "restore it from a backup") {
		t.Errorf("garbage database: %v", err)
	}
	if b, _ := os.ReadFile(garbage); !bytes.Equal(b, junk) {
		t.Error("the garbage database was changed")
	}

	// Truncated: half of a database of 300 rows.
	truncated := filepath.Join(dir, "truncated.db")
	st, err := openStore(ctx, truncated, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 300 {
		if err := st.CreateOrg(ctx, fmt.Sprint("org", i), strings.Repeat("x", 500)); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	fi, _ := os.Stat(truncated)
	os.Truncate(truncated, fi.Size()/2)
	if st, err := openStore(ctx, truncated, nil); err == nil {
		st.Close()
		t.Error("opened a truncated database")
	} else if !strings.Contains(err.Error(), "restore it from a backup") {
		t.Errorf("truncated database: %v", err)
	}

	empty := filepath.Join(dir, "empty.db")
	os.WriteFile(empty, nil, 0o600)
	st, err = openStore(ctx, empty, nil)
	if err != nil {
		t.Fatalf("empty database: %v", err)
	}
	if err := st.CreateOrg(ctx, "acme", "Acme"); err != nil {
		t.Error(err)
	}
	st.Close()

	if err := os.Mkdir(filepath.Join(dir, "dir.db"), 0o700); err != nil {
		t.Fatal(err)
	}
	if st, err := openStore(ctx, filepath.Join(dir, "dir.db"), nil); err == nil {
		st.Close()
		t.Error("opened a directory as the database")
	}
}

// Activation codes are stored keyed (HMAC-SHA256 under keys/codes.key), so
// the database alone does not confirm a guess: not even the right code's
// SHA-256 matches what is stored. Codes stored by an older fleetd as a bare
// SHA-256 still work, once, until they expire, and are counted at start, as
// are codes hashed under a code key that is gone. On every backend.
func TestActivationCodesKeyed(t *testing.T) {
	forEachStore(t, func(t *testing.T, st Store) {
		ctx := context.Background()
		keys, err := loadOrCreateKeys(t.TempDir(), "acme")
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		f := &Fleet{Store: st, Keys: keys, Now: func() time.Time { return now }}
		seedFleet(t, f, "fjord", "Fjord", nil)
		code := issueCode(t, f, "fjord", false)

		open, err := st.OpenCodes(ctx, now)
		if err != nil || len(open) != 1 {
			t.Fatalf("open codes: %+v %v", open, err)
		}
		stored := open[0].Hash
		if stored == legacyCodeHash(code) || strings.Contains(stored, legacyCodeHash(code)) || !strings.HasPrefix(stored, codeHashScheme) {
			t.Errorf("code stored as %q: an unkeyed hash of the code", stored)
		}
		other, err := loadOrCreateKeys(t.TempDir(), "acme")
		if err != nil {
			t.Fatal(err)
		}
		if other.HashCode(code) == stored {
			t.Error("another code key gives the same stored hash")
		}
		if keys.HashCode(strings.ToLower(strings.ReplaceAll(code, "-", " "))) != stored {
			t.Error("hyphens, spaces or case changed the hash")
		}

		// An older fleetd's codes: a bare SHA-256, still accepted until
		// they expire; a code of a lost code key: refused.
		legacy, legacyExpired := "1111-2222-3333-4444", "5555-6666-7777-8888"
		until := now.Add(time.Hour).Truncate(time.Millisecond)
		for _, c := range []Code{
			{Hash: legacyCodeHash(legacy), OrgID: "acme", RoomID: "fjord", ExpiresAt: until},
			{Hash: legacyCodeHash(legacyExpired), OrgID: "acme", RoomID: "fjord", ExpiresAt: now.Add(-time.Second)},
			{Hash: other.HashCode("9999-0000-9999-0000"), OrgID: "acme", RoomID: "fjord", ExpiresAt: until},
		} {
			if err := st.CreateCode(ctx, c); err != nil {
				t.Fatal(err)
			}
		}
		open, _ = st.OpenCodes(ctx, now)
		if c := keys.census(open); c.Legacy != 1 || !c.LegacyUntil.Equal(until) || c.OtherKey != 1 {
			t.Errorf("census %+v, want 1 legacy until %v and 1 of another key", c, until)
		}
		for _, tc := range []struct {
			code string
			ok   bool
		}{{code, true}, {code, false}, {legacy, true}, {legacy, false}, {legacyExpired, false}, {"9999-0000-9999-0000", false}} {
			c, err := f.redeemCode(ctx, tc.code)
			if tc.ok && (err != nil || c.RoomID != "fjord") {
				t.Errorf("redeem %s: %+v %v", tc.code, c, err)
			}
			if !tc.ok && !errors.Is(err, errCodeUsed) {
				t.Errorf("redeem %s: %v, want errCodeUsed", tc.code, err)
			}
		}
	})
}

// A fleet's keys with no database, or an empty one, is a lost database or a
// wrong -db path: fleetd refuses rather than start an empty fleet.
func TestDatabaseOfAnExistingFleet(t *testing.T) {
	dir := t.TempDir()
	keys := filepath.Join(dir, "keys")
	db := filepath.Join(dir, "fleet.db")
	if err := checkDatabaseOfFleet(db, keys); err != nil {
		t.Fatalf("a new fleet: %v", err)
	}
	os.MkdirAll(keys, 0o700)
	os.WriteFile(filepath.Join(keys, "ca.crt"), []byte("cert"), 0o644)
	if err := checkDatabaseOfFleet(db, keys); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("missing database of a fleet: %v", err)
	}
	os.WriteFile(db, nil, 0o600)
	if err := checkDatabaseOfFleet(db, keys); err == nil || !strings.Contains(err.Error(), "is empty") {
		t.Errorf("empty database of a fleet: %v", err)
	}
	if err := checkDatabaseOfFleet("postgres://fleet@localhost/fleet", keys); err != nil {
		t.Errorf("PostgreSQL: %v", err)
	}
	if _, err := os.Stat(db); err != nil {
		t.Errorf("the check touched the database: %v", err)
	}
}
