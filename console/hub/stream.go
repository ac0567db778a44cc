package hub

import (
	"bufio"
	"encoding/json"
	"io"

	"github.com/watchword/watchword/shared/wire"
)

// streamer is a response written piece by piece: a full credential list of a tech with 5,000 accounts is about
// 17 MB of JSON, which writeJSON would first build in memory (and the hub held several at once under load).
type streamer interface {
	stream(w io.Writer) error
}

// credentialStream writes a CredentialsResponse one credential at a time.
type credentialStream struct{ *wire.CredentialsResponse }

var _ streamer = credentialStream{}

func (s credentialStream) stream(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 32<<10)
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
	for i := range s.Credentials {
		if i > 0 {
			bw.WriteByte(',')
		}
		if err := enc.Encode(&s.Credentials[i]); err != nil {
			return err
		}
	}
	bw.WriteString("]}\n")
	return bw.Flush()
}
