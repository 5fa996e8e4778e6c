package engineio

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// CORSOptions configure Cross-Origin Resource Sharing, with the behaviour of
// the npm "cors" package that Node's engine.io uses.
type CORSOptions struct {
	// Origins lists the allowed origins. "*" allows every origin and answers
	// with "Access-Control-Allow-Origin: *" (which browsers refuse together
	// with credentials: use AllowOrigin to reflect any origin instead). Other
	// entries must equal the request's Origin header, which is then reflected.
	// Without "*", WebSocket requests from other origins are refused (see
	// Options.CORS).
	Origins []string
	// AllowOrigin, when set, is asked about origins that Origins does not
	// list; returning true reflects the origin.
	AllowOrigin func(origin string, r *http.Request) bool
	// Methods answered to preflight requests. Default
	// GET,HEAD,PUT,PATCH,POST,DELETE.
	Methods []string
	// AllowedHeaders answered to preflight requests. Default: the headers
	// the request asks for.
	AllowedHeaders []string
	// ExposedHeaders lists response headers that scripts may read.
	ExposedHeaders []string
	// Credentials sends "Access-Control-Allow-Credentials: true".
	Credentials bool
	// MaxAge lets browsers cache preflight answers (whole seconds are sent).
	MaxAge time.Duration
}

var defaultCORSMethods = "GET,HEAD,PUT,PATCH,POST,DELETE"

// Apply sets the CORS headers for r on h. It reports whether r is a
// preflight request, which the caller should then answer with 204 and
// nothing else.
func (c *CORSOptions) Apply(h http.Header, r *http.Request) (preflight bool) {
	origin := r.Header.Get("Origin")
	c.setOrigin(h, origin, r)
	if c.Credentials {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
	if len(c.ExposedHeaders) > 0 {
		h.Set("Access-Control-Expose-Headers", strings.Join(c.ExposedHeaders, ","))
	}
	if r.Method != http.MethodOptions {
		return false
	}
	methods := defaultCORSMethods
	if len(c.Methods) > 0 {
		methods = strings.Join(c.Methods, ",")
	}
	h.Set("Access-Control-Allow-Methods", methods)
	if len(c.AllowedHeaders) > 0 {
		h.Set("Access-Control-Allow-Headers", strings.Join(c.AllowedHeaders, ","))
	} else if req := r.Header.Get("Access-Control-Request-Headers"); req != "" {
		h.Add("Vary", "Access-Control-Request-Headers")
		h.Set("Access-Control-Allow-Headers", req)
	}
	if c.MaxAge > 0 {
		h.Set("Access-Control-Max-Age", strconv.Itoa(int(c.MaxAge/time.Second)))
	}
	return true
}

func (c *CORSOptions) setOrigin(h http.Header, origin string, r *http.Request) {
	for _, o := range c.Origins {
		if o == "*" {
			h.Set("Access-Control-Allow-Origin", "*")
			return
		}
	}
	h.Add("Vary", "Origin")
	if origin == "" {
		return
	}
	allowed := false
	for _, o := range c.Origins {
		if o == origin {
			allowed = true
			break
		}
	}
	if !allowed && c.AllowOrigin != nil {
		allowed = c.AllowOrigin(origin, r)
	}
	if allowed {
		h.Set("Access-Control-Allow-Origin", origin)
	}
}
