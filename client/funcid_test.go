package client

import "testing"

type counter struct{ n int }

func (c *counter) inc() { c.n++ }

func topLevel() {}

// TestFuncID: function identity as JavaScript's ===, for Off.
func TestFuncID(t *testing.T) {
	mk := func(i int) func() { return func() { _ = i } }
	a, b := mk(1), mk(2)
	c := a
	var asAny any = a
	if funcID(a) == nil || funcID(a) != funcID(c) || funcID(a) != funcID(asAny) {
		t.Error("one closure value, copied, has several identities")
	}
	if funcID(a) == funcID(b) {
		t.Error("two closures of one literal have the same identity")
	}
	if funcID(topLevel) != funcID(topLevel) {
		t.Error("a top-level function has several identities")
	}
	if funcID(topLevel) == funcID(a) {
		t.Error("two functions have the same identity")
	}
	x := &counter{}
	m := x.inc
	if funcID(m) != funcID(m) || funcID(x.inc) == funcID(m) {
		t.Error("method values: each evaluation is a new function, as bind in JavaScript")
	}
	type handler func()
	if funcID(handler(a)) != funcID(a) {
		t.Error("a conversion changes the identity")
	}
	if funcID(nil) != nil || funcID((func())(nil)) != nil || funcID(42) != nil {
		t.Error("nil or a non-function has an identity")
	}
}
