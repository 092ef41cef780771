package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/roomd/roomd/internal/fleetmetrics"
)

// Errors the store returns; handlers branch on them.
var (
	errNotFound = errors.New("fleetd: not found")
	errCodeUsed = errors.New("fleetd: activation code unknown, used or expired")
	errExists   = errors.New("fleetd: already exists")
)

// Device states.
const (
	statePending = "pending"
	stateActive  = "active"
	stateRevoked = "revoked"
)

// Code is an activation code, stored only as its hash.
type Code struct {
	Hash          string
	OrgID, RoomID string
	ExpiresAt     time.Time
	NeedsApproval bool
}

// Device is one enrolled (or pending) device.
type Device struct {
	ID, OrgID, RoomID string
	Fingerprint       string
	State             string
	Serial            string
	CreatedAt         time.Time
}

// Prereg is a device registered at the factory: its key's fingerprint (and
// optionally its serial number) bound to an organisation and room before it
// ships. Its first enrollment needs no activation code.
type Prereg struct {
	Fingerprint   string
	OrgID, RoomID string
	Serial        string // "" accepts any serial
	CreatedAt     time.Time
}

// Health is a device with its latest report.
type Health struct {
	Device
	ConfigVersion int64 // latest signed for it
	ReportAt      time.Time
	Report        string // JSON, empty if none
}

// Store is fleetd's database. Signing keys are never in it.
type Store interface {
	CreateOrg(ctx context.Context, id, name string) error
	CreateRoom(ctx context.Context, org, id, name string) error
	CreateCode(ctx context.Context, c Code) error
	// UseCode marks the code used, once, if it has not expired at now.
	UseCode(ctx context.Context, hash string, now time.Time) (Code, error)
	// OpenCodes returns the codes neither used nor expired at now.
	OpenCodes(ctx context.Context, now time.Time) ([]Code, error)
	// Preregister binds a device key to a room before the device ships.
	Preregister(ctx context.Context, p Prereg) error
	// UsePrereg marks the key's registration used, once, if its serial
	// (when it names one) is serial; errNotFound if there is none, it was
	// used or the serial differs.
	UsePrereg(ctx context.Context, fingerprint, serial string, now time.Time) (Prereg, error)
	CreateDevice(ctx context.Context, d Device) error
	Device(ctx context.Context, id string) (Device, error)
	DeviceByFingerprint(ctx context.Context, fp string) (Device, error)
	SetDeviceState(ctx context.Context, id, state string) error
	RoomDevices(ctx context.Context, org, room string) ([]Device, error)
	// RoomConfig returns the room's configuration JSON ("" for none).
	RoomConfig(ctx context.Context, org, room string) (string, error)
	SetRoomConfig(ctx context.Context, org, room, config string) error
	// NextBundleVersion reserves the next bundle version for a device.
	NextBundleVersion(ctx context.Context, device string) (int64, error)
	PutBundle(ctx context.Context, device string, version int64, raw []byte) error
	// Bundle returns the device's newest bundle.
	Bundle(ctx context.Context, device string) (version int64, raw []byte, err error)
	AddReport(ctx context.Context, device string, at time.Time, report string) error
	Fleet(ctx context.Context, org string) ([]Health, error)
	// DeviceCounts counts every organisation's devices by state and by
	// whether their last report is at or after since, for /metrics.
	DeviceCounts(ctx context.Context, since time.Time) ([]fleetmetrics.DeviceCount, error)
	Close() error
}

// sqlStore implements Store over database/sql for SQLite and PostgreSQL; the
// queries are written with ? and rewritten to $n for PostgreSQL.
type sqlStore struct {
	db       *sql.DB
	postgres bool
}

const schema = `
CREATE TABLE IF NOT EXISTS orgs (id TEXT PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS rooms (org TEXT NOT NULL REFERENCES orgs(id), id TEXT NOT NULL, name TEXT NOT NULL,
	config TEXT NOT NULL DEFAULT '', PRIMARY KEY (org, id));
CREATE TABLE IF NOT EXISTS codes (hash TEXT PRIMARY KEY, org TEXT NOT NULL, room TEXT NOT NULL,
	expires_at BIGINT NOT NULL, needs_approval BOOLEAN NOT NULL, used_at BIGINT);
CREATE TABLE IF NOT EXISTS devices (id TEXT PRIMARY KEY, org TEXT NOT NULL, room TEXT NOT NULL,
	fingerprint TEXT NOT NULL UNIQUE, state TEXT NOT NULL, serial TEXT NOT NULL, created_at BIGINT NOT NULL,
	next_version BIGINT NOT NULL DEFAULT 1);
CREATE TABLE IF NOT EXISTS bundles (device TEXT NOT NULL, version BIGINT NOT NULL, raw BYTEA NOT NULL,
	PRIMARY KEY (device, version));
CREATE TABLE IF NOT EXISTS reports (device TEXT PRIMARY KEY, at BIGINT NOT NULL, report TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS preregs (fingerprint TEXT PRIMARY KEY, org TEXT NOT NULL, room TEXT NOT NULL,
	serial TEXT NOT NULL, created_at BIGINT NOT NULL, used_at BIGINT);
`

func newSQLStore(ctx context.Context, db *sql.DB, postgres bool) (*sqlStore, error) {
	s := &sqlStore{db: db, postgres: postgres}
	ddl := schema
	if !postgres {
		ddl = strings.ReplaceAll(ddl, "BYTEA", "BLOB")
	}
	for _, stmt := range strings.Split(ddl, ";") {
		if strings.TrimSpace(stmt) == "" {
			continue
		}
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			return nil, fmt.Errorf("fleetd: creating schema: %w", err)
		}
	}
	return s, nil
}

func (s *sqlStore) q(query string) string {
	if !s.postgres {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func (s *sqlStore) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return s.db.ExecContext(ctx, s.q(query), args...)
}

func isUnique(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "UNIQUE") || strings.Contains(err.Error(), "23505"))
}

func (s *sqlStore) CreateOrg(ctx context.Context, id, name string) error {
	_, err := s.exec(ctx, `INSERT INTO orgs (id, name) VALUES (?, ?)`, id, name)
	if isUnique(err) {
		return fmt.Errorf("%w: organisation %s", errExists, id)
	}
	return wrap(err)
}

func (s *sqlStore) CreateRoom(ctx context.Context, org, id, name string) error {
	r, err := s.exec(ctx, `INSERT INTO rooms (org, id, name) SELECT ?, ?, ? WHERE EXISTS (SELECT 1 FROM orgs WHERE id = ?)`, org, id, name, org)
	if isUnique(err) {
		return fmt.Errorf("%w: room %s/%s", errExists, org, id)
	}
	if err != nil {
		return wrap(err)
	}
	// No row means no such organisation.
	if n, _ := r.RowsAffected(); n == 0 {
		return fmt.Errorf("%w: organisation %s; create it first", errNotFound, org)
	}
	return nil
}

func (s *sqlStore) CreateCode(ctx context.Context, c Code) error {
	var n int
	if err := s.db.QueryRowContext(ctx, s.q(`SELECT count(*) FROM rooms WHERE org = ? AND id = ?`), c.OrgID, c.RoomID).Scan(&n); err != nil {
		return wrap(err)
	}
	if n == 0 {
		return fmt.Errorf("%w: room %s/%s", errNotFound, c.OrgID, c.RoomID)
	}
	_, err := s.exec(ctx, `INSERT INTO codes (hash, org, room, expires_at, needs_approval) VALUES (?, ?, ?, ?, ?)`,
		c.Hash, c.OrgID, c.RoomID, c.ExpiresAt.UnixMilli(), c.NeedsApproval)
	return wrap(err)
}

func (s *sqlStore) UseCode(ctx context.Context, hash string, now time.Time) (Code, error) {
	c := Code{Hash: hash}
	var exp int64
	err := s.db.QueryRowContext(ctx, s.q(`UPDATE codes SET used_at = ? WHERE hash = ? AND used_at IS NULL AND expires_at > ?
		RETURNING org, room, expires_at, needs_approval`), now.UnixMilli(), hash, now.UnixMilli()).
		Scan(&c.OrgID, &c.RoomID, &exp, &c.NeedsApproval)
	if errors.Is(err, sql.ErrNoRows) {
		return Code{}, errCodeUsed
	}
	c.ExpiresAt = time.UnixMilli(exp)
	return c, wrap(err)
}

func (s *sqlStore) OpenCodes(ctx context.Context, now time.Time) ([]Code, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT hash, org, room, expires_at, needs_approval FROM codes
		WHERE used_at IS NULL AND expires_at > ? ORDER BY expires_at`), now.UnixMilli())
	if err != nil {
		return nil, wrap(err)
	}
	defer rows.Close()
	var cs []Code
	for rows.Next() {
		var c Code
		var exp int64
		if err := rows.Scan(&c.Hash, &c.OrgID, &c.RoomID, &exp, &c.NeedsApproval); err != nil {
			return nil, wrap(err)
		}
		c.ExpiresAt = time.UnixMilli(exp)
		cs = append(cs, c)
	}
	return cs, wrap(rows.Err())
}

func (s *sqlStore) Preregister(ctx context.Context, p Prereg) error {
	var n int
	if err := s.db.QueryRowContext(ctx, s.q(`SELECT count(*) FROM rooms WHERE org = ? AND id = ?`), p.OrgID, p.RoomID).Scan(&n); err != nil {
		return wrap(err)
	}
	if n == 0 {
		return fmt.Errorf("%w: room %s/%s", errNotFound, p.OrgID, p.RoomID)
	}
	if err := s.db.QueryRowContext(ctx, s.q(`SELECT count(*) FROM devices WHERE fingerprint = ?`), p.Fingerprint).Scan(&n); err != nil {
		return wrap(err)
	}
	if n > 0 {
		return fmt.Errorf("%w: a device with key %s is already enrolled", errExists, p.Fingerprint)
	}
	_, err := s.exec(ctx, `INSERT INTO preregs (fingerprint, org, room, serial, created_at) VALUES (?, ?, ?, ?, ?)`,
		p.Fingerprint, p.OrgID, p.RoomID, p.Serial, p.CreatedAt.UnixMilli())
	if isUnique(err) {
		return fmt.Errorf("%w: key %s is already registered", errExists, p.Fingerprint)
	}
	return wrap(err)
}

func (s *sqlStore) UsePrereg(ctx context.Context, fingerprint, serial string, now time.Time) (Prereg, error) {
	p := Prereg{Fingerprint: fingerprint}
	var created int64
	err := s.db.QueryRowContext(ctx, s.q(`UPDATE preregs SET used_at = ? WHERE fingerprint = ? AND used_at IS NULL AND (serial = '' OR serial = ?)
		RETURNING org, room, serial, created_at`), now.UnixMilli(), fingerprint, serial).Scan(&p.OrgID, &p.RoomID, &p.Serial, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return Prereg{}, fmt.Errorf("%w: no unused registration for key %s", errNotFound, fingerprint)
	}
	p.CreatedAt = time.UnixMilli(created)
	return p, wrap(err)
}

func (s *sqlStore) CreateDevice(ctx context.Context, d Device) error {
	_, err := s.exec(ctx, `INSERT INTO devices (id, org, room, fingerprint, state, serial, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		d.ID, d.OrgID, d.RoomID, d.Fingerprint, d.State, d.Serial, d.CreatedAt.UnixMilli())
	if isUnique(err) {
		return fmt.Errorf("%w: device key %s", errExists, d.Fingerprint)
	}
	return wrap(err)
}

const deviceCols = `id, org, room, fingerprint, state, serial, created_at`

func scanDevice(row interface{ Scan(...any) error }) (Device, error) {
	var d Device
	var ms int64
	err := row.Scan(&d.ID, &d.OrgID, &d.RoomID, &d.Fingerprint, &d.State, &d.Serial, &ms)
	if errors.Is(err, sql.ErrNoRows) {
		return d, errNotFound
	}
	d.CreatedAt = time.UnixMilli(ms)
	return d, wrap(err)
}

func (s *sqlStore) Device(ctx context.Context, id string) (Device, error) {
	return scanDevice(s.db.QueryRowContext(ctx, s.q(`SELECT `+deviceCols+` FROM devices WHERE id = ?`), id))
}

func (s *sqlStore) DeviceByFingerprint(ctx context.Context, fp string) (Device, error) {
	return scanDevice(s.db.QueryRowContext(ctx, s.q(`SELECT `+deviceCols+` FROM devices WHERE fingerprint = ?`), fp))
}

func (s *sqlStore) SetDeviceState(ctx context.Context, id, state string) error {
	r, err := s.exec(ctx, `UPDATE devices SET state = ? WHERE id = ?`, state, id)
	if err != nil {
		return wrap(err)
	}
	if n, _ := r.RowsAffected(); n == 0 {
		return fmt.Errorf("%w: device %s", errNotFound, id)
	}
	return nil
}

func (s *sqlStore) RoomDevices(ctx context.Context, org, room string) ([]Device, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT `+deviceCols+` FROM devices WHERE org = ? AND room = ? ORDER BY id`), org, room)
	if err != nil {
		return nil, wrap(err)
	}
	defer rows.Close()
	var ds []Device
	for rows.Next() {
		d, err := scanDevice(rows)
		if err != nil {
			return nil, err
		}
		ds = append(ds, d)
	}
	return ds, wrap(rows.Err())
}

func (s *sqlStore) RoomConfig(ctx context.Context, org, room string) (string, error) {
	var c string
	err := s.db.QueryRowContext(ctx, s.q(`SELECT config FROM rooms WHERE org = ? AND id = ?`), org, room).Scan(&c)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("%w: room %s/%s", errNotFound, org, room)
	}
	return c, wrap(err)
}

func (s *sqlStore) SetRoomConfig(ctx context.Context, org, room, config string) error {
	r, err := s.exec(ctx, `UPDATE rooms SET config = ? WHERE org = ? AND id = ?`, config, org, room)
	if err != nil {
		return wrap(err)
	}
	if n, _ := r.RowsAffected(); n == 0 {
		return fmt.Errorf("%w: room %s/%s", errNotFound, org, room)
	}
	return nil
}

func (s *sqlStore) NextBundleVersion(ctx context.Context, device string) (int64, error) {
	var v int64
	err := s.db.QueryRowContext(ctx, s.q(`UPDATE devices SET next_version = next_version + 1 WHERE id = ? RETURNING next_version - 1`), device).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("%w: device %s", errNotFound, device)
	}
	return v, wrap(err)
}

func (s *sqlStore) PutBundle(ctx context.Context, device string, version int64, raw []byte) error {
	_, err := s.exec(ctx, `INSERT INTO bundles (device, version, raw) VALUES (?, ?, ?)`, device, version, raw)
	return wrap(err)
}

func (s *sqlStore) Bundle(ctx context.Context, device string) (int64, []byte, error) {
	var v int64
	var raw []byte
	err := s.db.QueryRowContext(ctx, s.q(`SELECT version, raw FROM bundles WHERE device = ? ORDER BY version DESC LIMIT 1`), device).Scan(&v, &raw)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil, errNotFound
	}
	return v, raw, wrap(err)
}

func (s *sqlStore) AddReport(ctx context.Context, device string, at time.Time, report string) error {
	_, err := s.exec(ctx, `INSERT INTO reports (device, at, report) VALUES (?, ?, ?)
		ON CONFLICT (device) DO UPDATE SET at = excluded.at, report = excluded.report`, device, at.UnixMilli(), report)
	return wrap(err)
}

func (s *sqlStore) Fleet(ctx context.Context, org string) ([]Health, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT d.id, d.org, d.room, d.fingerprint, d.state, d.serial, d.created_at,
		COALESCE((SELECT max(version) FROM bundles b WHERE b.device = d.id), 0), COALESCE(r.at, 0), COALESCE(r.report, '')
		FROM devices d LEFT JOIN reports r ON r.device = d.id WHERE d.org = ? ORDER BY d.room, d.id`), org)
	if err != nil {
		return nil, wrap(err)
	}
	defer rows.Close()
	var hs []Health
	for rows.Next() {
		var h Health
		var created, at int64
		if err := rows.Scan(&h.ID, &h.OrgID, &h.RoomID, &h.Fingerprint, &h.State, &h.Serial, &created, &h.ConfigVersion, &at, &h.Report); err != nil {
			return nil, wrap(err)
		}
		h.CreatedAt = time.UnixMilli(created)
		if at != 0 {
			h.ReportAt = time.UnixMilli(at)
		}
		hs = append(hs, h)
	}
	return hs, wrap(rows.Err())
}

func (s *sqlStore) DeviceCounts(ctx context.Context, since time.Time) ([]fleetmetrics.DeviceCount, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT d.state,
		CASE WHEN r.at IS NULL THEN 'never' WHEN r.at >= ? THEN 'recent' ELSE 'silent' END AS reports, COUNT(*)
		FROM devices d LEFT JOIN reports r ON r.device = d.id GROUP BY d.state, reports ORDER BY d.state, reports`), since.UnixMilli())
	if err != nil {
		return nil, wrap(err)
	}
	defer rows.Close()
	var cs []fleetmetrics.DeviceCount
	for rows.Next() {
		var c fleetmetrics.DeviceCount
		if err := rows.Scan(&c.State, &c.Reports, &c.Count); err != nil {
			return nil, wrap(err)
		}
		cs = append(cs, c)
	}
	return cs, wrap(rows.Err())
}

func (s *sqlStore) Close() error { return s.db.Close() }

func wrap(err error) error {
	if err == nil || errors.Is(err, errNotFound) {
		return err
	}
	return fmt.Errorf("fleetd: database: %w", err)
}
