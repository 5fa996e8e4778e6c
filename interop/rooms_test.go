package interop

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/socketio-go/socketio"
)

// roomOp is an operation a script asks the server to run.
type roomOp struct {
	Op     string   `json:"op"`
	Tag    string   `json:"tag"`    // the payload of the "msg" event
	Rooms  []string `json:"rooms"`  // To/In
	Except []string `json:"except"` // Except
	Target []string `json:"target"` // rooms to join or leave
	Close  bool     `json:"close"`  // DisconnectSockets(close)
}

type socketView struct {
	ID    string   `json:"id"`
	Rooms []string `json:"rooms"`
}

// TestRooms: join and leave, room broadcasts from the server and from a
// socket (which excludes the sender), Except, FetchSockets, SocketsJoin,
// SocketsLeave and DisconnectSockets.
//
// Each broadcast is followed by a "barrier" event to every socket: a socket
// that got the barrier without the message was rightly left out, since
// events on one connection arrive in order.
func TestRooms(t *testing.T) {
	e := newEnv(t, nil, func(e *env, srv *socketio.Server) {
		srv.OnConnection(func(s *socketio.Socket) {
			e.track(s)
			s.On("join", func(rooms []string, ack func([]string)) {
				s.Join(rooms...)
				ack(sorted(s.Rooms()))
			})
			s.On("leave", func(room string, ack func([]string)) {
				s.Leave(room)
				ack(sorted(s.Rooms()))
			})
			s.On("op", func(op roomOp, ack func(any, string)) {
				res, err := runRoomOp(srv, s, op)
				if err != nil {
					ack(nil, err.Error())
					return
				}
				if err := srv.Emit("barrier", op.Tag); err != nil {
					ack(nil, err.Error())
					return
				}
				ack(res, "")
			})
		})
	})
	e.run("rooms.test.mjs")
}

func runRoomOp(srv *socketio.Server, s *socketio.Socket, op roomOp) (any, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	switch op.Op {
	case "server-to":
		return nil, srv.To(op.Rooms...).Except(op.Except...).Emit("msg", op.Tag)
	case "server-except":
		return nil, srv.Except(op.Except...).Emit("msg", op.Tag)
	case "broadcast":
		return nil, s.Broadcast().Emit("msg", op.Tag)
	case "socket-to":
		return nil, s.To(op.Rooms...).Emit("msg", op.Tag)
	case "socket-except":
		return nil, s.Broadcast().Except(op.Except...).Emit("msg", op.Tag)
	case "fetch":
		sockets, err := srv.In(op.Rooms...).FetchSockets(ctx)
		if err != nil {
			return nil, err
		}
		out := make([]socketView, 0, len(sockets))
		for _, rs := range sockets {
			out = append(out, socketView{ID: rs.ID, Rooms: sorted(rs.Rooms)})
		}
		slices.SortFunc(out, func(a, b socketView) int { return strings.Compare(a.ID, b.ID) })
		return out, nil
	case "sockets-join":
		return nil, srv.In(op.Rooms...).SocketsJoin(op.Target...)
	case "sockets-leave":
		return nil, srv.In(op.Rooms...).SocketsLeave(op.Target...)
	case "disconnect-sockets":
		return nil, srv.In(op.Rooms...).DisconnectSockets(op.Close)
	case "remote-emit":
		// Emit through a RemoteSocket found by FetchSockets.
		sockets, err := srv.In(op.Rooms...).FetchSockets(ctx)
		if err != nil {
			return nil, err
		}
		for _, rs := range sockets {
			if err := rs.Emit("msg", op.Tag); err != nil {
				return nil, err
			}
		}
		return len(sockets), nil
	}
	return nil, fmt.Errorf("unknown op %q", op.Op)
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}
