package socketio

import ev "github.com/socketio-go/socketio/internal/event"

// Args are the arguments of a received event or acknowledgement, kept in
// their JSON form until decoded: Len, Raw(i), Decode(ptrs...),
// DecodeAt(i, ptr), Values() and String(). Binary values (attachments on the
// wire) decode into []byte, or into an any as a []byte. Decoding follows
// encoding/json (tags, case-insensitive field names). An Args value is
// immutable and safe to use from any goroutine. The client package shares
// the same type.
type Args = ev.Args
