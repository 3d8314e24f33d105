package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// This file holds the claims that keep two labeling runs of one labeler
// (two terminals, a CLI run beside a workbench run, two machines on a shared
// disk) from paying for the same pair.
//
// A run claims a pair before it asks a model about it: a row in leases, the
// table that also holds annotators' leases (see assign.go), keyed by (pair,
// labeler), with the claiming process's owner token. Claims are taken a
// batch at a time in one transaction (ClaimPairs); a verdict on the pair
// releases the claim (the lease triggers), except a failed attempt the run
// retries at once (Judgment.Retrying). A live process renews its claims
// (RenewClaims); the claims of a process that died expire after their TTL,
// or at once when the process is known to be gone (it ran on this machine
// and its pid no longer exists, see FreeDeadClaims), and are taken over.
// Claims never count towards the K human grades a pair is served for.

// DefaultClaimTTL is how long a claim (and a run's liveness) lasts unless
// its process renews it.
const DefaultClaimTTL = 30 * time.Second

var (
	machineOnce sync.Once
	machine     string // hostname/boot id: where a pid means something
	liveOwners  sync.Map
)

func thisMachine() string {
	machineOnce.Do(func() {
		host, _ := os.Hostname()
		boot, _ := os.ReadFile("/proc/sys/kernel/random/boot_id")
		b := strings.TrimSpace(string(boot))
		if host == "" || b == "" {
			return // pids cannot be checked: claims only expire
		}
		machine = strings.ReplaceAll(host, "/", "_") + "/" + b
	})
	return machine
}

// NewOwner returns a new owner token for claims and runs, unique to this
// process and call, and records it as live until EndOwner.
func NewOwner() string {
	var b [6]byte
	rand.Read(b[:])
	o := fmt.Sprintf("%s/%d/%s", thisMachine(), os.Getpid(), hex.EncodeToString(b[:]))
	liveOwners.Store(o, true)
	return o
}

// EndOwner records that the owner's work is over (its claims are released
// by ReleaseClaims).
func EndOwner(owner string) { liveOwners.Delete(owner) }

// ownerGone reports whether the process behind an owner token is known to
// have ended: the token comes from this machine since its last boot and no
// process has its pid any more, or it is this process's and its work ended.
// Tokens from elsewhere are never known gone: their claims expire.
func ownerGone(owner string) bool {
	m := thisMachine()
	if m == "" || !strings.HasPrefix(owner, m+"/") {
		return false
	}
	rest := strings.TrimPrefix(owner, m+"/")
	pid, err := strconv.Atoi(rest[:max(strings.IndexByte(rest, '/'), 0)])
	if err != nil || pid <= 0 {
		return false
	}
	if pid == os.Getpid() {
		_, live := liveOwners.Load(owner)
		return !live
	}
	return processGone(pid)
}

func unixMS(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// ClaimPairs claims, for owner, up to n pairs that f selects and that no one
// holds a live claim on, in (query, pair) order, in one transaction, and
// returns them with their texts. f.UngradedBy names the labeler. Claims
// expire after ttl unless renewed.
func (s *Store) ClaimPairs(ctx context.Context, f PairFilter, owner string, n int, ttl time.Duration) ([]PairView, error) {
	if f.UngradedBy == 0 || owner == "" || n <= 0 {
		return nil, errors.New("ClaimPairs needs a labeler, an owner and a batch size")
	}
	f.Unclaimed, f.ClaimedByOther, f.Limit = true, "", 0
	var views []PairView
	err := s.Tx(ctx, func(tx *Store) error {
		now := time.Now()
		where, args := f.where(now)
		type pick struct{ id, query int64 }
		picks, err := queryAll(ctx, tx.h, func(sc scanner) (pick, error) {
			var p pick
			err := sc.Scan(&p.id, &p.query)
			return p, err
		}, `SELECT p.id, p.query_id FROM pairs p JOIN queries q ON q.id = p.query_id`+where+` ORDER BY p.query_id, p.id LIMIT ?`, append(args, n)...)
		if err != nil || len(picks) == 0 {
			return err
		}
		exp := now.Add(ttl).UnixMilli()
		ids := make([]any, len(picks))
		for i, p := range picks {
			ids[i] = p.id
			// An expired claim (or an annotator's lapsed lease) is taken over.
			if _, err := tx.exec(ctx, `INSERT INTO leases(pair_id, labeler_id, query_id, expires_at, owner) VALUES (?,?,?,?,?)
				ON CONFLICT(pair_id, labeler_id) DO UPDATE SET query_id = excluded.query_id, expires_at = excluded.expires_at, owner = excluded.owner`,
				p.id, f.UngradedBy, p.query, exp, owner); err != nil {
				return err
			}
		}
		views, err = queryAll(ctx, tx.h, scanPairView, pairViewSelect+` WHERE p.id IN (`+placeholders(len(ids))+`) ORDER BY p.query_id, p.id`, ids...)
		return err
	})
	return views, err
}

// RenewClaims extends every claim of owner, and the liveness of its run
// (0: none), to now+ttl.
func (s *Store) RenewClaims(ctx context.Context, owner string, runID int64, ttl time.Duration) error {
	exp := time.Now().Add(ttl).UnixMilli()
	return s.Tx(ctx, func(tx *Store) error {
		if _, err := tx.exec(ctx, `UPDATE leases SET expires_at = ? WHERE owner = ?`, exp, owner); err != nil {
			return err
		}
		if runID == 0 {
			return nil
		}
		_, err := tx.exec(ctx, `UPDATE runs SET alive_until = ? WHERE id = ? AND owner = ?`, exp, runID, owner)
		return err
	})
}

// ReleaseClaims gives back every pair owner still holds (its run stopped
// before their answers came).
func (s *Store) ReleaseClaims(ctx context.Context, owner string) error {
	_, err := s.exec(ctx, `DELETE FROM leases WHERE owner = ?`, owner)
	return err
}

// FreeDeadClaims releases the labeler's claims held by processes known to
// be gone (see NewOwner), other than me, and returns how many it released.
func (s *Store) FreeDeadClaims(ctx context.Context, labelerID int64, me string) (int, error) {
	owners, err := queryAll(ctx, s.h, func(sc scanner) (string, error) {
		var o string
		err := sc.Scan(&o)
		return o, err
	}, `SELECT DISTINCT owner FROM leases WHERE labeler_id = ? AND owner != '' AND owner != ? AND expires_at > ?`, labelerID, me, time.Now().UnixMilli())
	if err != nil {
		return 0, err
	}
	freed := 0
	for _, o := range owners {
		if !ownerGone(o) {
			continue
		}
		res, err := s.exec(ctx, `DELETE FROM leases WHERE owner = ?`, o)
		if err != nil {
			return freed, err
		}
		n, _ := res.RowsAffected()
		freed += int(n)
	}
	return freed, nil
}

// runLive reports whether a process is working on the run now.
func runLive(r Run, now time.Time) bool {
	return r.Status == RunRunning && r.Owner != "" && r.AliveUntil.After(now) && !ownerGone(r.Owner)
}

// LiveRuns lists the runs of this kind and labeler that a live process is
// working on, other than except.
func (s *Store) LiveRuns(ctx context.Context, kind string, labelerID, except int64) ([]int64, error) {
	now := time.Now()
	runs, err := queryAll(ctx, s.h, scanRun, `SELECT `+runColumns+` FROM runs r LEFT JOIN labelers l ON l.id = r.labeler_id
		WHERE r.kind = ? AND COALESCE(r.labeler_id, 0) = ? AND r.status = 'running' AND r.alive_until > ? AND r.id != ?`,
		kind, labelerID, now.UnixMilli(), except)
	if err != nil {
		return nil, err
	}
	var out []int64
	for _, r := range runs {
		if runLive(r, now) {
			out = append(out, r.ID)
		}
	}
	return out, nil
}

// ResumableRun returns the run a new invocation continues: the newest
// unfinished run of this kind and labeler that no live process is working
// on, when it was asked the same (params); ok is false when a new run should
// be started. With an owner the run is taken in the same transaction
// (running, owned, alive for ttl), so two processes never resume one run,
// and the runs passed over whose process died are marked interrupted.
// Without one (runs that claim nothing) it is UnfinishedRun.
func (s *Store) ResumableRun(ctx context.Context, kind string, labelerID int64, params []byte, owner string, ttl time.Duration) (Run, bool, error) {
	if owner == "" {
		r, ok, err := s.UnfinishedRun(ctx, kind, labelerID)
		if err != nil || !ok || string(r.Params) != string(params) {
			return Run{}, false, err
		}
		return r, true, nil
	}
	var out Run
	var found bool
	err := s.Tx(ctx, func(tx *Store) error {
		now := time.Now()
		runs, err := queryAll(ctx, tx.h, scanRun, `SELECT `+runColumns+` FROM runs r LEFT JOIN labelers l ON l.id = r.labeler_id
			WHERE r.kind = ? AND COALESCE(r.labeler_id, 0) = ? AND r.status != 'done' ORDER BY r.id DESC`, kind, labelerID)
		if err != nil {
			return err
		}
		for _, r := range runs {
			if runLive(r, now) {
				continue // another process is working on it
			}
			if !found && string(r.Params) == string(params) {
				found, out = true, r
				out.Status, out.Owner, out.AliveUntil = RunRunning, owner, now.Add(ttl)
				_, err := tx.exec(ctx, `UPDATE runs SET status = ?, owner = ?, alive_until = ?, error = '', finished_at = '', updated_at = ? WHERE id = ?`,
					RunRunning, owner, unixMS(out.AliveUntil), now.UTC().Format(time.RFC3339Nano), r.ID)
				if err != nil {
					return err
				}
				continue
			}
			if r.Status == RunRunning {
				_, err := tx.exec(ctx, `UPDATE runs SET status = ?, error = ?, finished_at = ?, updated_at = ? WHERE id = ?`, RunInterrupted,
					fmt.Sprintf("interrupted: its process stopped without finishing (killed, or the machine went down) after %d pairs", r.Done),
					now.UTC().Format(time.RFC3339Nano), now.UTC().Format(time.RFC3339Nano), r.ID)
				if err != nil {
					return err
				}
			}
		}
		return nil
	})
	if errors.Is(err, sql.ErrNoRows) {
		err = nil
	}
	return out, found, err
}
