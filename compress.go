package socketio

import "github.com/socketio-go/socketio/engineio"

// uncompressed returns the prepared packet for compress(false): the same
// messages marked never to be compressed, made once for all the recipients
// of a broadcast (they share the encoded bytes).
func (pp *prepared) uncompressed() *prepared {
	pp.plainOnce.Do(func() {
		q := &prepared{packet: pp.packet, err: pp.err}
		if pp.text != nil {
			q.text = pp.text.Uncompressed()
		}
		if pp.all != nil {
			q.all = make([]*engineio.Message, len(pp.all))
			for i, m := range pp.all {
				q.all[i] = m.Uncompressed()
			}
			q.all[0] = q.text
		}
		pp.plain = q
	})
	return pp.plain
}
