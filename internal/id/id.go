// Package id generates session and socket identifiers.
package id

import (
	"crypto/rand"
	"encoding/base64"
)

// New returns a random identifier of 20 URL-safe characters (15 random
// bytes, base64url), the shape of the Node server's ids. The ids are secrets
// of a sort (knowing a session id lets one post to that session), hence the
// cryptographic source.
func New() string {
	var b [15]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return base64.RawURLEncoding.EncodeToString(b[:])
}
