// Package auditexport is the audit log taken away from the hub: the Console writes the events an admin filtered as
// CSV or JSON lines, with each event's tenant, previous hash and hash, and `watchword-hub verify-audit --file`
// reads either back and computes every hash again, so that an auditor who holds only the file can tell whether an
// event was changed after the hub chained it.
//
// Hash is the chain's one formula: the hub's store links its events with it, and Verify checks a file with it.
// Besides the fields the hash covers, each row carries what a person reads (who acted, a sentence about what
// happened, the device-signature verdict of a tech's event); those are not covered and Verify ignores them.
//
// Names in the log come from techs and admins, and a spreadsheet runs a cell that starts with = + - or @ as a
// formula: a CSV cell starting with one of those, a tab, a carriage return or a quote is written with a leading
// quote ('), which Read takes off again, so the hash still verifies.
//
// auditexport.go holds all of it: Hash, Writer, Read and Verify.
package auditexport

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/watchword/watchword/shared/wire"
)

// Hash is the hash of one audit event linked to its predecessor's hash prev. The encoding is fixed: changing it
// breaks every existing chain.
func Hash(prev string, tenant, seq int64, at time.Time, actorKind string, actorID int64, action, target, detail string) string {
	canon, _ := json.Marshal([]any{seq, tenant, at.UnixNano(), actorKind, actorID, action, target, detail})
	h := sha256.New()
	h.Write([]byte(prev))
	h.Write([]byte{'\n'})
	h.Write(canon)
	return hex.EncodeToString(h.Sum(nil))
}

// EventHash is Hash of a wire event as the hub sent it (Tenant and PrevHash filled in).
func EventHash(e wire.AuditEvent) string {
	return Hash(e.PrevHash, e.Tenant, e.Seq, e.At, e.ActorKind, e.ActorID, e.Action, e.Target, e.Detail)
}

// Format is how an export is written.
type Format string

// The formats.
const (
	CSV   Format = "csv"
	JSONL Format = "jsonl"
)

// Row is one event of an export with what a person reads beside it.
type Row struct {
	wire.AuditEvent
	Actor   string `json:"actorName,omitempty"` // who acted, by name
	Summary string `json:"summary,omitempty"`   // the event in a sentence
	Device  string `json:"deviceSignature,omitempty"`
}

// columns are the CSV header: the hashed fields first, then the ones for people.
var columns = []string{"seq", "at", "tenant", "actor_kind", "actor_id", "action", "target", "detail", "prev_hash", "hash",
	"actor", "summary", "device_signature"}

// Writer writes rows in one format.
type Writer struct {
	f    Format
	csv  *csv.Writer
	json *json.Encoder
	bw   *bufio.Writer
	head bool
}

// NewWriter writes an export of format f to w; call Flush at the end.
func NewWriter(w io.Writer, f Format) (*Writer, error) {
	bw := bufio.NewWriter(w)
	switch f {
	case CSV:
		return &Writer{f: f, csv: csv.NewWriter(bw), bw: bw}, nil
	case JSONL:
		enc := json.NewEncoder(bw)
		enc.SetEscapeHTML(false)
		return &Writer{f: f, json: enc, bw: bw}, nil
	}
	return nil, fmt.Errorf("audit export format %q: want csv or jsonl", f)
}

// Write writes one row.
func (w *Writer) Write(r Row) error {
	if w.f == JSONL {
		return w.json.Encode(r)
	}
	if !w.head {
		w.head = true
		if err := w.csv.Write(columns); err != nil {
			return err
		}
	}
	e := r.AuditEvent
	rec := []string{strconv.FormatInt(e.Seq, 10), e.At.UTC().Format(time.RFC3339Nano), strconv.FormatInt(e.Tenant, 10),
		e.ActorKind, strconv.FormatInt(e.ActorID, 10), e.Action, e.Target, e.Detail, e.PrevHash, e.Hash,
		r.Actor, r.Summary, r.Device}
	for i := range rec {
		rec[i] = Escape(rec[i])
	}
	return w.csv.Write(rec)
}

// Flush writes what is buffered and reports any error of the writes.
func (w *Writer) Flush() error {
	if w.csv != nil {
		if !w.head { // an empty export still says what its columns are
			w.head = true
			if err := w.csv.Write(columns); err != nil {
				return err
			}
		}
		w.csv.Flush()
		if err := w.csv.Error(); err != nil {
			return err
		}
	}
	return w.bw.Flush()
}

// Escape makes a CSV cell safe to open in a spreadsheet: a cell that starts with = + - @, a tab, a carriage
// return or a quote gets a leading quote, so that it shows as text and never runs as a formula. Unescape undoes it.
func Escape(cell string) string {
	if cell != "" && strings.ContainsRune("=+-@\t\r'", rune(cell[0])) {
		return "'" + cell
	}
	return cell
}

// Unescape is the inverse of Escape.
func Unescape(cell string) string {
	if len(cell) > 1 && cell[0] == '\'' && strings.ContainsRune("=+-@\t\r'", rune(cell[1])) {
		return cell[1:]
	}
	return cell
}

// Read reads an export in either format (JSON lines start with '{'), in the file's order.
func Read(r io.Reader) ([]wire.AuditEvent, error) {
	br := bufio.NewReader(r)
	first, err := br.Peek(1)
	if errors.Is(err, io.EOF) {
		return nil, errors.New("read audit export: the file is empty")
	}
	if err != nil {
		return nil, fmt.Errorf("read audit export: %w", err)
	}
	if first[0] == '{' {
		return readJSONL(br)
	}
	return readCSV(br)
}

func readJSONL(r *bufio.Reader) ([]wire.AuditEvent, error) {
	var out []wire.AuditEvent
	for line := 1; ; line++ {
		b, err := r.ReadBytes('\n')
		if len(bytes.TrimSpace(b)) > 0 {
			var row Row
			dec := json.NewDecoder(bytes.NewReader(b))
			if derr := dec.Decode(&row); derr != nil {
				return nil, fmt.Errorf("read audit export: line %d: %w", line, derr)
			}
			out = append(out, row.AuditEvent)
		}
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read audit export: %w", err)
		}
	}
}

func readCSV(r io.Reader) ([]wire.AuditEvent, error) {
	cr := csv.NewReader(r)
	head, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("read audit export: header: %w", err)
	}
	col := map[string]int{}
	for i, h := range head {
		col[h] = i
	}
	for _, c := range columns[:10] {
		if _, ok := col[c]; !ok {
			return nil, fmt.Errorf("read audit export: no %q column: neither CSV nor JSON lines of an audit export", c)
		}
	}
	var out []wire.AuditEvent
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read audit export: %w", err)
		}
		line, _ := cr.FieldPos(0)
		get := func(c string) string { return Unescape(rec[col[c]]) }
		num := func(c string) (int64, error) {
			n, err := strconv.ParseInt(get(c), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("read audit export: line %d: %s %q is not a number", line, c, get(c))
			}
			return n, nil
		}
		e := wire.AuditEvent{ActorKind: get("actor_kind"), Action: get("action"), Target: get("target"), Detail: get("detail"),
			PrevHash: get("prev_hash"), Hash: get("hash")}
		if e.Seq, err = num("seq"); err == nil {
			if e.Tenant, err = num("tenant"); err == nil {
				e.ActorID, err = num("actor_id")
			}
		}
		if err != nil {
			return nil, err
		}
		if e.At, err = time.Parse(time.RFC3339Nano, get("at")); err != nil {
			return nil, fmt.Errorf("read audit export: line %d: at %q is not an RFC 3339 time", line, get("at"))
		}
		out = append(out, e)
	}
}

// Report is what Verify found.
type Report struct {
	Events   int
	Tenant   int64
	First    int64 // seq of the first and last event
	Last     int64
	Links    int // consecutive events whose link was checked
	Gaps     int // places where the export leaves events out (a filter), so no link could be checked
	Problems []string
}

// String says the outcome in a sentence.
func (r Report) String() string {
	if len(r.Problems) > 0 {
		return fmt.Sprintf("audit export BROKEN: %d problem(s) in %d events: %s", len(r.Problems), r.Events, strings.Join(r.Problems, "; "))
	}
	return fmt.Sprintf("audit export intact: %d events of tenant %d, seq %d to %d; every hash computes again, %d links to the event before hold, %d gap(s) where the export leaves events out",
		r.Events, r.Tenant, r.First, r.Last, r.Links, r.Gaps)
}

// Verify computes each event's hash again from its fields and its previous hash, and checks that each event whose
// predecessor is in the export names that predecessor's hash. An export of a filter has gaps: the events left out
// cannot be checked there, which the report counts.
func Verify(evs []wire.AuditEvent) Report {
	r := Report{Events: len(evs)}
	if len(evs) == 0 {
		r.Problems = append(r.Problems, "the export holds no event")
		return r
	}
	r.Tenant, r.First, r.Last = evs[0].Tenant, evs[0].Seq, evs[len(evs)-1].Seq
	for i, e := range evs {
		if len(r.Problems) >= 20 {
			r.Problems = append(r.Problems, "and more")
			break
		}
		if e.Tenant != r.Tenant {
			r.Problems = append(r.Problems, fmt.Sprintf("event %d is of tenant %d, not %d", e.Seq, e.Tenant, r.Tenant))
			continue
		}
		if e.Hash == "" || e.PrevHash == "" && e.Seq != 1 {
			r.Problems = append(r.Problems, fmt.Sprintf("event %d carries no chain hashes (exported from a hub before they were sent)", e.Seq))
			continue
		}
		if EventHash(e) != e.Hash {
			r.Problems = append(r.Problems, fmt.Sprintf("event %d was altered: its fields do not hash to %.12s…", e.Seq, e.Hash))
		}
		if i == 0 {
			continue
		}
		prev := evs[i-1]
		switch {
		case e.Seq <= prev.Seq:
			r.Problems = append(r.Problems, fmt.Sprintf("event %d follows event %d: out of order or repeated", e.Seq, prev.Seq))
		case e.Seq == prev.Seq+1 && e.PrevHash != prev.Hash:
			r.Problems = append(r.Problems, fmt.Sprintf("event %d does not link to event %d", e.Seq, prev.Seq))
		case e.Seq == prev.Seq+1:
			r.Links++
		default:
			r.Gaps++
		}
	}
	return r
}
