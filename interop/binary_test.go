package interop

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/socketio-go/socketio"
)

// Blob is a struct with binary fields at several depths.
type Blob struct {
	Name  string   `json:"name"`
	Data  []byte   `json:"data"`
	List  [][]byte `json:"list"`
	Inner struct {
		Blob []byte `json:"blob"`
	} `json:"inner"`
}

// sampleBlob is what the server sends; the scripts build the same value.
func sampleBlob() Blob {
	b := Blob{Name: "from-go", Data: []byte{0, 1, 2, 255}, List: [][]byte{{10}, {}, bytes.Repeat([]byte{0xab}, 3000)}}
	b.Inner.Blob = []byte("inner \x00 bytes")
	return b
}

// TestBinary: binary arguments both ways, at the top level, nested in
// objects and arrays, several attachments in one event, and in
// acknowledgements both ways, over websocket and over polling.
func TestBinary(t *testing.T) {
	e := newEnv(t, nil, func(e *env, srv *socketio.Server) {
		srv.OnConnection(func(s *socketio.Socket) {
			e.track(s)
			// Top level: answers with the bytes reversed and their length.
			s.On("bin-top", func(b []byte, ack func([]byte, int)) {
				r := slices.Clone(b)
				slices.Reverse(r)
				ack(r, len(b))
			})
			// Nested in a struct: answers with the struct, changed.
			s.On("bin-nested", func(b Blob, ack func(Blob, string)) {
				b.Name += "!"
				b.Data = append(b.Data, 0xff)
				b.List = append(b.List, []byte("added"))
				ack(b, fmt.Sprintf("%d/%d/%d", len(b.Data), len(b.List), len(b.Inner.Blob)))
			})
			// Several attachments, some in generic values.
			s.On("bin-multi", func(a, b, c []byte, m map[string]any, list []any, ack func(map[string]any)) {
				inMap, _ := m["x"].([]byte)
				inList, _ := list[1].([]byte)
				ack(map[string]any{
					"lens":   []int{len(a), len(b), len(c), len(inMap), len(inList)},
					"first":  []int{int(a[0]), int(b[0]), int(c[0]), int(inMap[0]), int(inList[0])},
					"mapNum": m["n"],
				})
			})
			// Generic echo: every value decoded to Go and sent back.
			s.On("bin-echo", func(args socketio.Args, ack func(...any)) {
				vals, err := args.Values()
				if err != nil {
					ack("error: " + err.Error())
					return
				}
				ack(vals...)
			})
			// Server to client: events with binary, and acknowledgements
			// carrying binary answered by the client.
			s.On("bin-from-server", func(ack func(map[string]any)) {
				go func() {
					res := map[string]any{}
					_ = s.Emit("srv-bin", []byte{1, 2, 3}, sampleBlob(),
						[]any{[]byte{9}, "text", map[string]any{"deep": []byte{7, 7}}}, []byte{})
					ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
					defer cancel()
					args, err := s.EmitWithAck(ctx, "srv-bin-ack", []byte{4, 5, 6}, sampleBlob())
					if err != nil {
						res["error"] = err.Error()
						ack(res)
						return
					}
					var reply []byte
					var blob Blob
					if err := args.Decode(&reply, &blob); err != nil {
						res["error"] = err.Error()
					}
					res["reply"] = reply
					res["blobName"] = blob.Name
					res["blobData"] = blob.Data
					res["blobInner"] = blob.Inner.Blob
					res["blobList"] = len(blob.List)
					// The same with a Timeout and a typed callback.
					done := make(chan struct{})
					_ = s.Timeout(5*time.Second).Emit("srv-bin-ack", []byte{8}, sampleBlob(), func(err error, b []byte, blob Blob) {
						if err != nil {
							res["cbError"] = err.Error()
						}
						res["cbReply"] = b
						res["cbBlobData"] = blob.Data
						close(done)
					})
					select {
					case <-done:
					case <-ctx.Done():
						res["cbError"] = "no callback"
					}
					ack(res)
				}()
			})
		})
	})
	e.run("binary.test.mjs")
}
