package jwtgate

/*
#include <stdlib.h>
#include "jwtgate.h"
*/
import "C"

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"runtime"
	"sort"
	"sync"
	"time"
	"unsafe"
)

// MetricFamily is one family of the engine's Prometheus text, as data: what the
// client_golang collector (module github.com/jwtgate/jwtgate-go/prometheus) exports.
type MetricFamily struct {
	Name    string         `json:"name"`
	Help    string         `json:"help"`
	Type    string         `json:"type"` // "counter", "gauge" or "histogram"
	Samples []MetricSample `json:"samples"`
}

// MetricSample is one sample of a family. For a histogram, Name ends in _bucket, _sum or
// _count and a bucket's Labels hold "le".
type MetricSample struct {
	Name   string      `json:"name"`
	Labels [][2]string `json:"labels"`
	Value  float64     `json:"value"`
}

// MetricFamilies returns the families of MetricsText as data.
func (v *Validator) MetricFamilies() ([]MetricFamily, error) {
	text, err := v.ownedString(func(p *C.jwtgate_validator, out **C.char) C.jwtgate_result {
		return C.jwtgate_metric_families_json(p, out)
	})
	if err != nil {
		return nil, err
	}
	var families []MetricFamily
	err = json.Unmarshal([]byte(text), &families)
	return families, err
}

// adminMaxBody: the engine refuses larger admin bodies (a typed 400); reading stops one byte
// past it.
const adminMaxBody = 16 * 1024

type adminRoute struct {
	Method     string `json:"method"`
	Path       string `json:"path"`
	NeedsToken bool   `json:"needs_token"`
}

type adminReply struct {
	Status      int         `json:"status"`
	ContentType string      `json:"content_type"`
	Headers     [][2]string `json:"headers"`
	Body        string      `json:"body"`
}

// AdminHandler serves the admin routes; mount it under a prefix of your choice with
// http.StripPrefix:
//
//	mux.Handle("/admin/", http.StripPrefix("/admin", jwtgate.AdminHandler(v, "jwtgate:admin")))
//
// GET stats, GET health (503 while keys are unavailable), GET metrics (the Prometheus text),
// POST jwks/refresh, POST cache/clear, POST revoke ({"jti": ...} or {"sub": ...}; anything
// else is a typed 400) and GET dashboard. Every route but the dashboard page needs a bearer
// token v accepts that carries scope (Middleware with Scopes: {scope}): none → 401, another
// scope → 403. The route rules and answers are the engine's (jwtgate::admin).
//
// scope is required: AdminHandler panics when it is empty or not one scope token, as
// http.ServeMux does for a bad pattern (a mistake in the program, never open routes).
func AdminHandler(v *Validator, scope string) http.Handler {
	sp, sn := bytesOf(scope)
	var cerr *C.jwtgate_error
	if r := C.jwtgate_admin_check_scope(sp, sn, &cerr); r != C.JWTGATE_OK {
		panic("jwtgate: AdminHandler: " + takeError(cerr).Error())
	}
	runtime.KeepAlive(scope)
	var out *C.char
	if r := C.jwtgate_admin_routes_json(&out); r != C.JWTGATE_OK {
		panic("jwtgate: AdminHandler: " + resultError(r).Error())
	}
	var routes []adminRoute
	err := json.Unmarshal([]byte(C.GoString(out)), &routes)
	C.jwtgate_string_free(out)
	if err != nil {
		panic("jwtgate: AdminHandler: " + err.Error())
	}
	protect := Middleware(v, MiddlewareOptions{Scopes: []string{scope}})
	mux := http.NewServeMux()
	for _, route := range routes {
		var h http.Handler = adminEndpoint(v, route)
		if route.NeedsToken {
			h = protect(h)
		}
		mux.Handle(route.Method+" /"+route.Path, h)
	}
	return mux
}

func adminEndpoint(v *Validator, route adminRoute) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body []byte
		if route.Method == http.MethodPost {
			body, _ = io.ReadAll(io.LimitReader(r.Body, adminMaxBody+1))
		}
		reply, err := v.admin(route.Method, route.Path, body)
		if err != nil {
			http.Error(w, `{"error":"server_error"}`, http.StatusInternalServerError)
			return
		}
		h := w.Header()
		h.Set("Content-Type", reply.ContentType)
		for _, kv := range reply.Headers {
			h.Set(kv[0], kv[1])
		}
		w.WriteHeader(reply.Status)
		_, _ = io.WriteString(w, reply.Body)
	})
}

// admin answers one admin route through the engine (blocking for jwks/refresh).
func (v *Validator) admin(method, path string, body []byte) (adminReply, error) {
	var reply adminReply
	err := v.withPtr(func(p *C.jwtgate_validator) error {
		mp, mn := bytesOf(method)
		pp, pn := bytesOf(path)
		var bp *C.uint8_t
		if len(body) > 0 {
			bp = (*C.uint8_t)(unsafe.Pointer(unsafe.SliceData(body)))
		}
		var out *C.char
		var cerr *C.jwtgate_error
		r := C.jwtgate_admin_handle(p, mp, mn, pp, pn, bp, C.size_t(len(body)), &out, &cerr)
		runtime.KeepAlive(method)
		runtime.KeepAlive(path)
		runtime.KeepAlive(body)
		if r != C.JWTGATE_OK {
			return takeError(cerr)
		}
		text := C.GoString(out)
		C.jwtgate_string_free(out)
		return json.Unmarshal([]byte(text), &reply)
	})
	return reply, err
}

// ---- events ----

// engineEvent is one event as the C ABI hands it over (jwtgate_events_wait).
type engineEvent struct {
	Level    string            `json:"level"`
	Severity int               `json:"severity"`
	Target   string            `json:"target"`
	Message  string            `json:"message"`
	Fields   map[string]string `json:"fields"`
	Time     float64           `json:"time"`
}

var events struct {
	mu     sync.Mutex
	logger *slog.Logger
	stop   chan struct{}
	done   chan struct{}
}

// SetLogger sends the engine's audit and key-set events to logger (log/slog), as Python's
// records and Node's logger objects carry them: the message, attribute "target"
// ("jwtgate::audit", "jwtgate::jwks", ...) and one string attribute per field of the event
// ("event", "kind", "issuer", "removed", ...). None are logged by default. Events are the
// process's (every validator's) and are delivered by one goroutine as they happen,
// background key refreshes included; the engine's own threads never call Go. The levels
// logged are those logger's handler enables when SetLogger is called. SetLogger(nil) stops
// the delivery and waits for the goroutine.
func SetLogger(logger *slog.Logger) {
	events.mu.Lock()
	defer events.mu.Unlock()
	if events.stop != nil {
		close(events.stop)
		C.jwtgate_events_wake()
		<-events.done
		events.stop, events.done = nil, nil
	}
	events.logger = logger
	if logger == nil {
		return
	}
	severity := 40
	for _, l := range []struct {
		level    slog.Level
		severity int
	}{{slog.LevelWarn, 30}, {slog.LevelInfo, 20}, {slog.LevelDebug, 10}} {
		if logger.Enabled(context.Background(), l.level) {
			severity = l.severity
		}
	}
	stop, done := make(chan struct{}), make(chan struct{})
	events.stop, events.done = stop, done
	go deliverEvents(logger, severity, stop, done)
}

func deliverEvents(logger *slog.Logger, severity int, stop, done chan struct{}) {
	defer close(done)
	for {
		select {
		case <-stop:
			return
		default:
		}
		var out *C.char
		if C.jwtgate_events_wait(500, C.int(severity), &out) != C.JWTGATE_OK {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		text := C.GoString(out)
		C.jwtgate_string_free(out)
		var batch struct {
			Dropped uint64        `json:"dropped"`
			Events  []engineEvent `json:"events"`
		}
		if json.Unmarshal([]byte(text), &batch) != nil {
			continue
		}
		ctx := context.Background()
		if batch.Dropped > 0 {
			logger.LogAttrs(ctx, slog.LevelWarn, "jwtgate events were dropped (queue full)",
				slog.String("target", "jwtgate"), slog.Uint64("dropped", batch.Dropped))
		}
		for _, e := range batch.Events {
			logger.LogAttrs(ctx, slogLevel(e.Severity), e.Message, eventAttrs(e)...)
		}
	}
}

func slogLevel(severity int) slog.Level {
	switch {
	case severity >= 40:
		return slog.LevelError
	case severity >= 30:
		return slog.LevelWarn
	case severity >= 20:
		return slog.LevelInfo
	default:
		return slog.LevelDebug
	}
}

func eventAttrs(e engineEvent) []slog.Attr {
	attrs := make([]slog.Attr, 0, len(e.Fields)+1)
	attrs = append(attrs, slog.String("target", e.Target))
	// The engine's field order is lost in a JSON object; "event" first, then by name.
	if ev, ok := e.Fields["event"]; ok {
		attrs = append(attrs, slog.String("event", ev))
	}
	names := make([]string, 0, len(e.Fields))
	for name := range e.Fields {
		if name != "event" {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		attrs = append(attrs, slog.String(name, e.Fields[name]))
	}
	return attrs
}
