// Package event turns Go values into Socket.IO event arguments and back
// (JSON with binary attachments), and calls typed handlers; the server
// (package socketio) and the client share it.
package event
