// Package eioseam joins package engineio to the Socket.IO server in the
// module's root package for what only that server calls, so that engineio
// exports no API for it.
//
// Package engineio sets the functions at init; the root package, which
// imports engineio, calls them.
package eioseam

// SendTextNow writes one text packet held in buf (laid out as for
// engineio.NewTextMessageInPlace) on conn, an *engineio.Conn, at once when
// its WebSocket writer is idle; otherwise it queues a copy. buf is not kept:
// the caller may reuse it (a pooled buffer).
var SendTextNow func(conn any, buf []byte) error
