package redisadapter

// Pending returns the numbers of requests and of broadcasts with
// acknowledgements waiting for answers (tests check that an outage leaves
// nothing behind).
func (a *Adapter) Pending() (requests, acks int) {
	return a.reqs.Pending()
}
