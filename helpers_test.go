package socketio

import (
	"net/http"
	"time"

	"github.com/socketio-go/socketio/adapter"
)

type adapterAck = adapter.AckResponse

var testHTTP = &http.Client{Timeout: testWait}

// httpGet returns the status of a GET.
func httpGet(url string) (int, error) {
	resp, err := testHTTP.Get(url)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

var _ = time.Second
