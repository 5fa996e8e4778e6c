// Package wire is the wire format of Node's Redis cluster packages
// (npm @socket.io/redis-adapter 8.x, classic and sharded, and
// @socket.io/redis-emitter 5.x), shared by packages redisadapter and
// redisemitter.
//
// Messages are built as JSON text in which binary values are Socket.IO
// placeholders ({"_placeholder":true,"num":N}) indexing a list of
// attachments: the form the socketio packages use for packets. When a
// message goes out as MessagePack, JSONToMsgpack turns that text into the
// bytes npm notepack.io 3.x would write for the same JavaScript object (keys
// in order, integers in their smallest form, other numbers as float64,
// strings as str, placeholders as bin). MsgpackToJSON goes the other way, so
// every received message, JSON or MessagePack, is handled as JSON text plus
// attachments.
//
// The package is an implementation detail of the two packages above; its API
// may change with them.
package wire
