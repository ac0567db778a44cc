package admincli

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/watchword/watchword/shared/atomicfile"
	"github.com/watchword/watchword/shared/auditexport"
	"github.com/watchword/watchword/shared/wire"
)

var auditCommands = []command{
	{name: "audit query", args: "[--action A] [--prefix P] [--about WHO] [--limit N]", doc: "Lists audit events, oldest first.", run: connected(auditQuery),
		flags: func(fs *flag.FlagSet) {
			fs.String("action", "", "only this `action` (tech.approve)")
			fs.String("prefix", "", "only the actions with this `prefix` (tech.)")
			fs.String("about", "", "only the events done by or about this principal (\"tech 8\")")
			fs.Int("limit", 100, "at most this many events")
		}},
	{name: "audit export", args: "FILE [--format jsonl|csv]", run: connected(auditExport),
		doc: `Exports the whole audit log to FILE (0600) with each event's chain hashes.
The file verifies offline with ` + "`watchword audit verify --file FILE`" + ` or ` + "`watchword-hub verify-audit --export FILE`" + `.`,
		flags: func(fs *flag.FlagSet) { fs.String("format", string(auditexport.JSONL), "jsonl or csv") }},
	{name: "audit verify", args: "[--file FILE]", doc: "Asks the hub to verify its audit chain, or verifies an export offline.", run: auditVerify,
		flags: func(fs *flag.FlagSet) { fs.String("file", "", "verify this export `file` offline instead") }},
	{name: "policy get", doc: "Prints the tenant's password policy.", run: connected(policyGet)},
	{name: "policy set", args: "FILE.json", doc: "Replaces the tenant's password policy with the JSON in FILE (from `policy get --json`; - for standard input).", run: connected(policySet)},
}

func auditRows(evs []wire.AuditEvent) [][]string {
	rows := [][]string{{"SEQ", "AT", "ACTOR", "ACTION", "TARGET", "DETAIL"}}
	for _, ev := range evs {
		rows = append(rows, []string{strconv.FormatInt(ev.Seq, 10), when(ev.At), ev.ActorKind + " " + strconv.FormatInt(ev.ActorID, 10), ev.Action, ev.Target, ev.Detail})
	}
	return rows
}

func auditQuery(e *env, fs *flag.FlagSet, args []string) error {
	limit := fs.Lookup("limit").Value.(flag.Getter).Get().(int)
	evs, err := e.client.Audit(e.ctx, wire.AuditQuery{Action: str(fs, "action"), ActionPrefix: str(fs, "prefix"), About: str(fs, "about"), Limit: limit})
	if err != nil {
		return err
	}
	return e.print(evs, func() [][]string { return auditRows(evs) })
}

// auditPage is the hub's largest page of audit events.
const auditPage = 1000

// allAudit reads the whole log a page at a time, up to a short page: an API identity's every read adds an
// api.read event, so "until an empty page" would never end.
func (e *env) allAudit() ([]wire.AuditEvent, error) {
	var all []wire.AuditEvent
	after := int64(0)
	for {
		page, err := e.client.Audit(e.ctx, wire.AuditQuery{AfterSeq: after, Limit: auditPage})
		if err != nil {
			return nil, err
		}
		all = append(all, page...)
		if len(page) < auditPage {
			return all, nil
		}
		after = page[len(page)-1].Seq
	}
}

func auditExport(e *env, fs *flag.FlagSet, args []string) error {
	if err := nargs(args, 1, "the export file"); err != nil {
		return err
	}
	evs, err := e.allAudit()
	if err != nil {
		return err
	}
	var b strings.Builder
	w, err := auditexport.NewWriter(&b, auditexport.Format(str(fs, "format")))
	if err != nil {
		return err
	}
	for _, ev := range evs {
		if err := w.Write(auditexport.Row{AuditEvent: ev}); err != nil {
			return err
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if err := atomicfile.Write(args[0], []byte(b.String()), 0o600); err != nil {
		return err
	}
	rep := auditexport.Verify(evs)
	return e.print(map[string]any{"file": args[0], "events": len(evs), "report": rep.String()}, func() [][]string {
		return [][]string{{"FILE", "EVENTS", "CHAIN"}, {args[0], strconv.Itoa(len(evs)), rep.String()}}
	})
}

func auditVerify(e *env, fs *flag.FlagSet, args []string) error {
	if f := str(fs, "file"); f != "" {
		r, err := os.Open(f)
		if err != nil {
			return err
		}
		defer r.Close()
		evs, err := auditexport.Read(r)
		if err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		rep := auditexport.Verify(evs)
		if err := e.print(rep, func() [][]string { return [][]string{{"RESULT"}, {rep.String()}} }); err != nil {
			return err
		}
		if len(rep.Problems) > 0 {
			return fmt.Errorf("%s does not verify: %s", f, rep.Problems[0])
		}
		return nil
	}
	if err := e.connect(); err != nil {
		return err
	}
	defer e.client.Close()
	v, err := e.client.VerifyAudit(e.ctx)
	if err != nil {
		return err
	}
	if err := e.print(v, func() [][]string {
		return [][]string{{"OK", "EVENTS", "ERROR"}, {strconv.FormatBool(v.OK), strconv.FormatInt(v.Events, 10), orDash(v.Error)}}
	}); err != nil {
		return err
	}
	if !v.OK {
		return fmt.Errorf("the hub's audit chain does not verify: %s", v.Error)
	}
	return nil
}

func policyGet(e *env, fs *flag.FlagSet, args []string) error {
	t, err := e.client.Tenant(e.ctx)
	if err != nil {
		return err
	}
	p := t.Policy
	return e.print(p, func() [][]string {
		return [][]string{{"INTERVAL", "LENGTH", "DIGITS", "SYMBOLS", "NAMING", "ROTATE AFTER USE", "HISTORY"},
			{strconv.FormatInt(p.IntervalSeconds, 10) + "s", strconv.Itoa(p.Length), strconv.Itoa(p.Digits), strconv.Itoa(p.Symbols), p.NamingFormat,
				strconv.FormatInt(p.RotateAfterUseSeconds, 10) + "s", strconv.Itoa(p.HistoryDepth)}}
	})
}

func policySet(e *env, fs *flag.FlagSet, args []string) error {
	if err := nargs(args, 1, "one JSON file"); err != nil {
		return err
	}
	var r io.Reader = e.stdin
	if args[0] != "-" {
		f, err := os.Open(args[0])
		if err != nil {
			return err
		}
		defer f.Close()
		r = f
	}
	var p wire.Policy
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return fmt.Errorf("%s: %w", args[0], err)
	}
	if p == (wire.Policy{}) {
		return errors.New("the policy is empty")
	}
	t, err := e.client.SetPolicy(e.ctx, p)
	if err != nil {
		return err
	}
	return e.print(t.Policy, func() [][]string { return [][]string{{"POLICY"}, {"set"}} })
}
