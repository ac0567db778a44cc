package hub

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"sync"

	"github.com/watchword/watchword/console/server/hub/entitle"
	"github.com/watchword/watchword/console/server/hub/store"
	"github.com/watchword/watchword/shared/wire"
)

// streamer is a response written piece by piece: a full credential list of a tech with 5,000 accounts is about
// 17 MB of JSON, which writeJSON would first build in memory (and the hub held several at once under load).
type streamer interface {
	stream(w io.Writer) error
}

// credentialStream writes a CredentialsResponse one credential at a time. With pages, the list's versions are
// read as it is written, a page at a time.
type credentialStream struct {
	*wire.CredentialsResponse
	pages *credentialPages
}

var _ streamer = credentialStream{}

// pageSize is how many accounts' versions a full list reads at once: about 1 MB of envelopes, where reading
// them all first held the whole 17 MB of a 5,000-account list (twice, with the driver's copies) while it was
// written, and the garbage collector's headroom doubled that in the hub's resident set.
const pageSize = 256

// credentialPages reads the versions of a full list's entries. Each page is its own short read transaction, so
// that a slow client never holds a database connection: a page may therefore hold versions newer than the
// list's revision, which the next delta hands out again (merging them is idempotent).
type credentialPages struct {
	h      *Hub
	ctx    context.Context
	tenant *store.Tenant
	v      *view
	tech   int64
	items  []pageItem // in the order of the list's entries
}

type pageItem struct {
	g   entitle.Grant
	acc *store.Account
}

// fill sets the versions of creds[lo:hi].
func (p *credentialPages) fill(creds []wire.Credential, lo, hi int) error {
	ids := make([]int64, 0, hi-lo)
	for _, it := range p.items[lo:hi] {
		ids = append(ids, it.acc.ID)
	}
	return p.h.st.Read(p.ctx, func(tx store.Tx) error {
		live, err := tx.LiveVersionsOfAccounts(p.tenant.ID, p.tech, ids)
		if err != nil {
			return err
		}
		for i := lo; i < hi; i++ {
			it := p.items[i]
			creds[i].Versions = p.v.credential(p.tenant, it.g, it.acc, live[it.acc.ID]).Versions
		}
		return nil
	})
}

// streamBufs reuses the 32 KB write buffers of streamed lists.
var streamBufs = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 32<<10) }}

func (s credentialStream) stream(w io.Writer) error {
	bw := streamBufs.Get().(*bufio.Writer)
	bw.Reset(w)
	defer func() {
		bw.Reset(nil)
		streamBufs.Put(bw)
	}()
	// The header fields are the response without its list, which is written after them.
	head := *s.CredentialsResponse
	head.Credentials = nil
	b, err := json.Marshal(head)
	if err != nil {
		return err
	}
	bw.Write(b[:len(b)-1]) // without the closing brace
	bw.WriteString(`,"credentials":[`)
	enc := json.NewEncoder(bw)
	creds := s.Credentials
	for lo := 0; lo < len(creds); lo += pageSize {
		hi := min(lo+pageSize, len(creds))
		if s.pages != nil {
			if err := s.pages.fill(creds, lo, hi); err != nil {
				return err
			}
		}
		for i := lo; i < hi; i++ {
			if i > 0 {
				bw.WriteByte(',')
			}
			if err := enc.Encode(&creds[i]); err != nil {
				return err
			}
			if s.pages != nil {
				creds[i].Versions = nil // written: its envelopes can go
			}
		}
	}
	bw.WriteString("]}\n")
	return bw.Flush()
}
