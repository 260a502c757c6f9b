// Package jwtgate validates OAuth 2 / OpenID Connect bearer tokens (JWTs) with the jwtgate
// engine: keys fetched and cached per issuer, signatures and claims checked locally,
// verified tokens remembered under a keyed hash. It is a thin layer over the C ABI of the
// Rust core (bindings-ffi/include/jwtgate.h): the same configuration, defaults and error
// kinds as every other jwtgate face.
//
//	v, err := jwtgate.New(jwtgate.Config{
//		Issuer:    "https://id.example.com",
//		Audience:  jwtgate.Audiences{"https://api.example.com"},
//		TokenType: "at+jwt",
//	})
//	if err != nil { ... }
//	defer v.Close()
//	claims, err := v.Validate(ctx, token)
//	switch {
//	case errors.Is(err, jwtgate.ErrInvalidToken): // 401
//	case errors.Is(err, jwtgate.ErrProviderUnavailable): // 503
//	}
//
// Linking: the published module (`go get github.com/jwtgate/jwtgate-go`) carries the release
// static library for linux/amd64 and needs no Rust toolchain; with `-tags jwtgate_pkgconfig` it
// links an installed C library instead (`pkg-config jwtgate`, any platform it was built for).
// Inside the jwtgate repository the package links `target/debug/libjwtgate_ffi.a` (built by
// `make -C bindings-ffi build`), or `target/release` with `-tags jwtgate_release`: the link_*.go
// files say which, and `make dist` swaps the in-repository ones for the published ones.
package jwtgate

/*
#include <stdlib.h>
#include <string.h>
#include "jwtgate.h"

// Flags of jg_validate.
enum {
	JG_LOCAL = 1,  // no network I/O (jwtgate_validate_local): JWTGATE_KEYS_NOT_LOADED instead
	JG_HEADER = 2, // the input is an Authorization header value, not a bare token
	JG_ANSWER = 4, // on failure, the HTTP answer too (jwtgate_http_answer)
	JG_KEEP = 8,   // keep the claims of a cache hit, whatever `known` says
};

// Slots of Go's table of claims it has copied (convertedClaims), a power of two.
enum { JG_KNOWN_SLOTS = 4096 };

// One cgo transition per request in the common case: validate (a bare token or a whole
// Authorization header, locally or blocking), check the required scopes, and read what Go
// needs. On a cache hit whose claims Go has copied before (`known`, Go's table of copied
// claims ids, says so) the claims are released here and only their id goes back. On failure:
// the error and, with JG_ANSWER, the engine's HTTP answer to it.
typedef struct {
	jwtgate_result result;
	jwtgate_claims *claims; // on success, unless released here: Go copies it (or not) and frees it
	jwtgate_error *err;     // on failure: Go copies the message and releases it (jg_release)
	uint64_t id;
	int from_cache;
	size_t json_len;
	const char *kind;    // static
	const char *message; // borrowed from err
	uint16_t status;
	uint16_t answer_status; // JG_ANSWER: the answer; challenge and body are owned (jg_release)
	char *challenge;
	char *body;
} jg_outcome;

static jg_outcome jg_validate(const jwtgate_validator *v, const uint8_t *input, size_t len,
                              const uint8_t *scopes, size_t scopes_len,
                              const uint8_t *realm, size_t realm_len, const uint64_t *known,
                              int flags) {
	jg_outcome o = {0};
	int local = flags & JG_LOCAL;
	if (flags & JG_HEADER) {
		o.result = local ? jwtgate_validate_authorization_local(v, input, len, scopes, scopes_len, &o.claims, &o.err)
		                 : jwtgate_validate_authorization(v, input, len, scopes, scopes_len, &o.claims, &o.err);
	} else {
		o.result = local ? jwtgate_validate_local(v, input, len, &o.claims, &o.err)
		                 : jwtgate_validate(v, input, len, &o.claims, &o.err);
		if (o.result == JWTGATE_OK && scopes_len > 0) {
			o.result = jwtgate_claims_require_scopes(o.claims, scopes, scopes_len, &o.err);
			if (o.result != JWTGATE_OK) {
				jwtgate_claims_free(o.claims);
				o.claims = NULL;
			}
		}
	}
	if (o.result != JWTGATE_OK) {
		o.kind = jwtgate_error_kind(o.err);
		o.message = jwtgate_error_message(o.err);
		o.status = jwtgate_error_http_status(o.err);
		// A local call that needs keys is retried blocking: no answer to it is sent.
		if ((flags & JG_ANSWER) && !(local && o.result == JWTGATE_KEYS_NOT_LOADED))
			jwtgate_http_answer(o.err, realm, realm_len, scopes, scopes_len, &o.answer_status,
			                    &o.challenge, &o.body, NULL);
		return o;
	}
	const uint8_t *json = NULL;
	jwtgate_claims_json(o.claims, &json, &o.json_len);
	o.id = jwtgate_claims_id(o.claims);
	o.from_cache = strcmp(jwtgate_claims_source(o.claims), "cache") == 0;
	// Go writes `known` with atomic stores while this runs on other threads.
	if (o.from_cache && !(flags & JG_KEEP) &&
	    __atomic_load_n(&known[o.id & (JG_KNOWN_SLOTS - 1)], __ATOMIC_ACQUIRE) == o.id) {
		jwtgate_claims_free(o.claims);
		o.claims = NULL;
	}
	return o;
}

static void jg_release(jwtgate_error *err, char *challenge, char *body) {
	jwtgate_error_free(err);
	jwtgate_string_free(challenge);
	jwtgate_string_free(body);
}

// The engine's answer to a refusal of Go's own (an error of kind `code` without a message).
static jg_outcome jg_answer(uint32_t code, const uint8_t *realm, size_t realm_len,
                            const uint8_t *scopes, size_t scopes_len) {
	jg_outcome o = {0};
	o.result = jwtgate_error_new(code, NULL, 0, &o.err);
	if (o.result == JWTGATE_OK)
		o.result = jwtgate_http_answer(o.err, realm, realm_len, scopes, scopes_len,
		                               &o.answer_status, &o.challenge, &o.body, NULL);
	return o;
}

// Copies the claims' JSON, their scopes, `sub` and `jti` into buf (cap bytes), one after the
// other: lens gets the four lengths (-1 for a `sub` or `jti` that is absent or not a string).
// Returns the bytes they need; when that is more than cap nothing is copied (Go retries with
// a larger buf). `sub` and `jti` come from what the engine keeps (no parse of the payload), so
// Claims.Subject and Claims.ID need no JSON decoding in Go either.
static size_t jg_copy_claims(const jwtgate_claims *c, uint8_t *buf, size_t cap, double *expires_at,
                             int64_t *lens) {
	const uint8_t *part[4] = {NULL};
	size_t n[4] = {0};
	jwtgate_claims_json(c, &part[0], &n[0]);
	jwtgate_claims_scopes(c, &part[1], &n[1]);
	jwtgate_claims_string(c, (const uint8_t *)"sub", 3, &part[2], &n[2]);
	jwtgate_claims_string(c, (const uint8_t *)"jti", 3, &part[3], &n[3]);
	*expires_at = jwtgate_claims_expires_at(c);
	size_t need = 0;
	for (int i = 0; i < 4; i++) {
		lens[i] = (i >= 2 && part[i] == NULL) ? -1 : (int64_t)n[i];
		need += n[i];
	}
	if (need <= cap) {
		size_t at = 0;
		for (int i = 0; i < 4; i++) {
			if (n[i] > 0)
				memcpy(buf + at, part[i], n[i]);
			at += n[i];
		}
	}
	return need;
}
*/
import "C"

import (
	"context"
	"encoding/json"
	"math"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// Validator validates tokens for one issuer and policy, or several (Config.Issuers). It is
// safe for concurrent use;
// share one per API. Close releases it (a finalizer does so too, for validators that are
// dropped without Close).
type Validator struct {
	// mu guards ptr: calls hold it shared for the duration of the C call, Close holds it
	// exclusively, so the C validator is never freed under a running call.
	mu  sync.RWMutex
	ptr *C.jwtgate_validator
	// converted holds the Go copies of claims the engine's result cache returns.
	converted convertedClaims
}

// finalized counts validators released by their finalizer (read by the GC stress test).
var finalized atomic.Int64

// emptyByte gives an empty Go string a non-NULL address: the C ABI refuses NULL pointers
// even for zero lengths.
var emptyByte byte

func bytesOf(s string) (*C.uint8_t, C.size_t) {
	if len(s) == 0 {
		return (*C.uint8_t)(unsafe.Pointer(&emptyByte)), 0
	}
	return (*C.uint8_t)(unsafe.Pointer(unsafe.StringData(s))), C.size_t(len(s))
}

// New builds a validator from cfg. Static keys (Config.JWKS) are imported and checked
// here; remote keys are fetched on first use or by Ready. An invalid configuration is an
// *Error matching ErrConfig whose message names the field.
func New(cfg Config) (*Validator, error) {
	doc, err := json.Marshal(cfg)
	if err != nil {
		return nil, ErrConfig.withMessage("cannot encode the configuration: " + err.Error())
	}
	return NewFromJSON(doc)
}

// NewFromJSON builds a validator from the canonical JSON configuration (the document every
// jwtgate face accepts, e.g. read from a file).
func NewFromJSON(config []byte) (*Validator, error) {
	ptr, n := bytesOf(string(config))
	var out *C.jwtgate_validator
	var cerr *C.jwtgate_error
	r := C.jwtgate_validator_new(ptr, n, &out, &cerr)
	runtime.KeepAlive(config)
	if r != C.JWTGATE_OK {
		return nil, takeError(cerr)
	}
	v := &Validator{ptr: out}
	runtime.SetFinalizer(v, func(v *Validator) {
		finalized.Add(1)
		v.Close()
	})
	return v, nil
}

// Close releases the validator. It waits for calls in progress (a call waiting on the
// network is bounded by the configured fetch timeouts) and is idempotent; later calls
// fail with ErrClosed.
func (v *Validator) Close() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.ptr != nil {
		C.jwtgate_validator_free(v.ptr)
		v.ptr = nil
		runtime.SetFinalizer(v, nil)
	}
	return nil
}

// Validate checks a bearer token (without the "Bearer " prefix) and returns its claims.
//
// A token already verified, or one whose keys are loaded, is answered without waiting.
// When keys must be fetched first, Validate waits for them, but returns ctx.Err() as soon
// as ctx is done (the fetch goes on in the background, bounded by the configured fetch
// timeouts, and serves later calls).
//
// Errors are *Error values: use errors.Is with ErrInvalidToken (HTTP 401),
// ErrInsufficientScope (403), ErrProviderUnavailable (503), a class such as ErrSignature or
// a specific kind such as ErrExpired.
func (v *Validator) Validate(ctx context.Context, token string) (*Claims, error) {
	c, _, err := v.validate(ctx, query{input: token})
	return c, err
}

// ValidateScopes is Validate, then the engine's check that every scope in scopes was granted
// (ErrInsufficientScope otherwise, RFC 6750 §3.1).
func (v *Validator) ValidateScopes(ctx context.Context, token string, scopes ...string) (*Claims, error) {
	c, _, err := v.validate(ctx, query{input: token, scopes: strings.Join(scopes, " ")})
	return c, err
}

// query is one validation: a bare token or an Authorization header value, the scopes
// required (space-separated), and for Middleware the realm of the answer to a refusal.
type query struct {
	input  string
	header bool // input is an Authorization header value
	absent bool // the request has no Authorization header at all
	scopes string
	realm  string
	answer bool // on failure, the engine's HTTP answer too
}

// refusal is the engine's HTTP answer to a refused request (the same in every face).
type refusal struct {
	status    int
	challenge string // the WWW-Authenticate value; "" for none
	body      string // JSON
}

func (v *Validator) validate(ctx context.Context, q query) (*Claims, *refusal, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	// First without any network I/O: the cache-hit and loaded-keys paths, no goroutine.
	claims, ref, err := v.call(q, true)
	if e, ok := err.(*Error); !ok || e.code != ErrKeysNotLoaded.code {
		return claims, ref, err
	}
	if ctx.Done() == nil {
		return v.call(q, false)
	}
	// The blocking call cannot be interrupted from Go, so it runs on its own goroutine;
	// its result is converted to Go values (and the C objects freed) there, whoever
	// waits for it.
	type outcome struct {
		claims *Claims
		ref    *refusal
		err    error
	}
	done := make(chan outcome, 1)
	go func() {
		c, ref, err := v.call(q, false)
		done <- outcome{c, ref, err}
	}()
	select {
	case o := <-done:
		return o.claims, o.ref, o.err
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	}
}

// call runs one validation through the C ABI and returns Go values.
//
// A result-cache hit in the engine hands back the same claims (same id) as the validation
// that filled the cache, so the Go copy made then is reused: a hit costs one cgo call and no
// copy (the first hit of a token three: the validation, the copy, the release). The scope
// check and the answer to a refusal are the engine's.
func (v *Validator) call(q query, local bool) (*Claims, *refusal, error) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	if v.ptr == nil {
		return nil, nil, ErrClosed
	}
	var ip *C.uint8_t // NULL: no Authorization header
	var in C.size_t
	if !q.absent {
		ip, in = bytesOf(q.input)
	}
	sp, sn := bytesOf(q.scopes)
	rp, rn := bytesOf(q.realm)
	flags := C.int(0)
	if local {
		flags |= C.JG_LOCAL
	}
	if q.header {
		flags |= C.JG_HEADER
	}
	if q.answer {
		flags |= C.JG_ANSWER
	}
	known := (*C.uint64_t)(unsafe.Pointer(&v.converted.ids[0]))
	for {
		o := C.jg_validate(v.ptr, ip, in, sp, sn, rp, rn, known, flags)
		runtime.KeepAlive(v)
		if o.result != C.JWTGATE_OK {
			err, ref := failure(&o)
			return nil, ref, err
		}
		var c *Claims
		if o.from_cache != 0 {
			c = v.converted.get(uint64(o.id))
		}
		if c == nil && o.claims == nil {
			// The copy was replaced since the engine looked (two ids in one slot, at once):
			// ask again for the claims.
			flags |= C.JG_KEEP
			continue
		}
		if c == nil {
			c = copyClaims(o.claims, int(o.json_len))
			if o.from_cache != 0 {
				// Only claims the engine has cached can come back: keeping the others would
				// fill the map with copies that are never asked for again (cache_max_entries 0).
				v.converted.put(uint64(o.id), c)
			}
		}
		if o.claims != nil {
			C.jwtgate_claims_free(o.claims)
		}
		return c, nil, nil
	}
}

// failure converts a failed outcome into an *Error and its answer, and releases the C side.
func failure(o *C.jg_outcome) (*Error, *refusal) {
	code := int(o.result)
	err := &Error{kind: kindName(code, o.kind), code: code, status: int(o.status), message: C.GoString(o.message)}
	ref := refusalOf(o)
	C.jg_release(o.err, o.challenge, o.body)
	return err, ref
}

// refusalOf copies the answer of an outcome (nil when it has none).
func refusalOf(o *C.jg_outcome) *refusal {
	if o.body == nil {
		return nil
	}
	ref := &refusal{status: int(o.answer_status), body: C.GoString(o.body)}
	if o.challenge != nil {
		ref.challenge = C.GoString(o.challenge)
	}
	return ref
}

// answerFor is the engine's answer to an error of kind e that Go raised itself.
func answerFor(e *Error, realm, scopes string) (*refusal, error) {
	rp, rn := bytesOf(realm)
	sp, sn := bytesOf(scopes)
	o := C.jg_answer(C.uint32_t(e.code), rp, rn, sp, sn)
	ref := refusalOf(&o)
	C.jg_release(o.err, o.challenge, o.body)
	return ref, resultError(o.result)
}

// copyClaims copies the JSON, scopes, `sub` and `jti` of live C claims into a new *Claims.
func copyClaims(h *C.jwtgate_claims, jsonLen int) *Claims {
	// Room for the JSON and, usually, the rest; a second call when the rest needs more.
	buf := make([]byte, jsonLen+256)
	var exp C.double
	var lens [4]C.int64_t
	need := int(C.jg_copy_claims(h, (*C.uint8_t)(unsafe.Pointer(unsafe.SliceData(buf))), C.size_t(len(buf)), &exp, &lens[0]))
	if need > len(buf) {
		buf = make([]byte, need)
		C.jg_copy_claims(h, (*C.uint8_t)(unsafe.Pointer(unsafe.SliceData(buf))), C.size_t(len(buf)), &exp, &lens[0])
	}
	at := int(lens[0])
	next := func(n int) string {
		if n < 0 {
			return ""
		}
		at += n
		return string(buf[at-n : at])
	}
	c := &Claims{raw: buf[:at:at]}
	c.scopes = strings.Fields(next(int(lens[1])))
	c.sub = next(int(lens[2]))
	c.jti = next(int(lens[3]))
	if e := float64(exp); e >= 0 {
		sec, frac := math.Modf(e)
		c.expiresAt = time.Unix(int64(sec), int64(frac*1e9))
	}
	return c
}

// convertedClaims keeps the Go copy of claims the engine has cached, by claims id: a
// direct-mapped table of atomic slots (lock-free, bounded; ids are sequential, so live
// claims rarely share a slot, and a collision only costs one more copy). ids mirrors the
// slots' ids for jg_validate, which reads it during the call (pointer-free Go memory) to
// release the claims of a hit Go needs no copy of without a second cgo call.
type convertedClaims struct {
	slots [convertedSlots]atomic.Pointer[convertedEntry]
	ids   [convertedSlots]atomic.Uint64
}

type convertedEntry struct {
	id     uint64
	claims *Claims
}

const convertedSlots = C.JG_KNOWN_SLOTS

func (cc *convertedClaims) get(id uint64) *Claims {
	if e := cc.slots[id&(convertedSlots-1)].Load(); e != nil && e.id == id {
		return e.claims
	}
	return nil
}

func (cc *convertedClaims) put(id uint64, c *Claims) {
	i := id & (convertedSlots - 1)
	cc.slots[i].Store(&convertedEntry{id: id, claims: c})
	cc.ids[i].Store(id) // after the entry: an id jg_validate sees has its copy

}

// kindName is the kind of a code without allocating (the engine's table), or the static
// name the engine gave.
func kindName(code int, name *C.char) string {
	if k := errorKinds.byCode[code]; k != nil {
		return k.Kind
	}
	return C.GoString(name)
}

// loadErrorKinds reads the engine's error table (jwtgate_error_kinds_json).
func loadErrorKinds() errorTable {
	var out *C.char
	if r := C.jwtgate_error_kinds_json(&out); r != C.JWTGATE_OK {
		panic("jwtgate: the engine's error table is unavailable (result " + strconv.Itoa(int(r)) + ")")
	}
	text := C.GoString(out)
	C.jwtgate_string_free(out)
	t := errorTable{byCode: map[int]*errorKind{}, byName: map[string]*errorKind{}}
	if err := json.Unmarshal([]byte(text), &t.rows); err != nil {
		panic("jwtgate: the engine's error table: " + err.Error())
	}
	for i := range t.rows {
		t.byCode[t.rows[i].Code] = &t.rows[i]
		t.byName[t.rows[i].Kind] = &t.rows[i]
	}
	return t
}

// Ready loads the remote key sets now (every issuer's), so that the first requests do not
// wait. It returns ctx.Err() early when ctx is done before the fetch ends. Static and
// shared-secret validators are always ready.
func (v *Validator) Ready(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() {
		done <- v.withPtr(func(p *C.jwtgate_validator) error {
			var cerr *C.jwtgate_error
			if r := C.jwtgate_validator_ready(p, &cerr); r != C.JWTGATE_OK {
				return takeError(cerr)
			}
			return nil
		})
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// RefreshKeys fetches the key sets now: every issuer's when issuer is "", else the one
// configured issuer of that name (compared exactly). A key set fetched within the last
// second is not fetched again. For operators: after a key is withdrawn at the provider,
// RefreshKeys makes it, and every cached result it verified, unusable at once instead of at
// the next scheduled refresh.
//
// It fails like Ready: ErrJWKSUnavailable when a provider cannot be reached, ErrConfig for a
// mistake retrying will not fix (the provider's metadata names another issuer) and for an
// issuer name that is not configured. It returns ctx.Err() early when ctx is done before the
// fetch ends (the fetch completes in the background). Static and shared-secret issuers have
// nothing to fetch.
func (v *Validator) RefreshKeys(ctx context.Context, issuer string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() {
		done <- v.withPtr(func(p *C.jwtgate_validator) error {
			// A zero length selects every issuer.
			ptr, n := bytesOf(issuer)
			var cerr *C.jwtgate_error
			r := C.jwtgate_validator_refresh_keys(p, ptr, n, &cerr)
			runtime.KeepAlive(issuer)
			if r != C.JWTGATE_OK {
				return takeError(cerr)
			}
			return nil
		})
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ClearCache drops every cached result (validated JWTs and introspection answers) and
// returns how many: the tokens are validated afresh on their next use. 0 after Close.
func (v *Validator) ClearCache() int {
	var removed C.size_t
	_ = v.withPtr(func(p *C.jwtgate_validator) error {
		return resultError(C.jwtgate_validator_clear_cache(p, &removed))
	})
	return int(removed)
}

// withPtr runs f with the live C validator, or fails with ErrClosed.
func (v *Validator) withPtr(f func(*C.jwtgate_validator) error) error {
	v.mu.RLock()
	defer v.mu.RUnlock()
	if v.ptr == nil {
		return ErrClosed
	}
	err := f(v.ptr)
	runtime.KeepAlive(v)
	return err
}

// ownedString calls a C function that returns an owned string and copies it.
func (v *Validator) ownedString(get func(*C.jwtgate_validator, **C.char) C.jwtgate_result) (string, error) {
	var s string
	err := v.withPtr(func(p *C.jwtgate_validator) error {
		var out *C.char
		if r := get(p, &out); r != C.JWTGATE_OK {
			return resultError(r)
		}
		s = C.GoString(out)
		C.jwtgate_string_free(out)
		return nil
	})
	return s, err
}

// Stats returns the validator's counters.
func (v *Validator) Stats() (Stats, error) {
	var st Stats
	text, err := v.ownedString(func(p *C.jwtgate_validator, out **C.char) C.jwtgate_result {
		return C.jwtgate_stats_json(p, out)
	})
	if err == nil {
		err = json.Unmarshal([]byte(text), &st)
	}
	return st, err
}

// MetricsText returns the counters in Prometheus text format.
func (v *Validator) MetricsText() (string, error) {
	return v.ownedString(func(p *C.jwtgate_validator, out **C.char) C.jwtgate_result {
		return C.jwtgate_metrics_text(p, out)
	})
}

// Health reports the key source, the key set's freshness and the cache size.
func (v *Validator) Health() (Health, error) {
	var h Health
	text, err := v.ownedString(func(p *C.jwtgate_validator, out **C.char) C.jwtgate_result {
		return C.jwtgate_health_json(p, out)
	})
	if err == nil {
		err = json.Unmarshal([]byte(text), &h)
	}
	return h, err
}

// unixSeconds is t for the C ABI, where exactly 0 means "no time given": the zero
// time.Time becomes 0, every other time its Unix seconds, which the engine checks (a time
// that makes no sense for the call is a config error, never read as "none": audit finding
// 5). Seconds and nanoseconds are converted apart, so that no time overflows (UnixNano
// does outside 1678-2262), and the one instant that would come out as 0, the Unix epoch,
// is sent as the smallest positive number instead: it is not "none".
func unixSeconds(t time.Time) C.double {
	if t.IsZero() {
		return 0
	}
	s := float64(t.Unix()) + float64(t.Nanosecond())/1e9
	if s == 0 {
		s = math.SmallestNonzeroFloat64
	}
	return C.double(s)
}

// RevokeJTI revokes the token with this jti until the given time, usually its expiry (the
// zero time: for the life of the validator). Cached results for it are dropped at once; the
// count is returned.
//
// An empty jti, or an until that is not in the future, revokes nothing and returns an
// *Error matching ErrConfig whose message names the argument: revocation never fails open.
func (v *Validator) RevokeJTI(jti string, until time.Time) (int, error) {
	var removed C.size_t
	err := v.withPtr(func(p *C.jwtgate_validator) error {
		ptr, n := bytesOf(jti)
		var cerr *C.jwtgate_error
		r := C.jwtgate_revoke_jti(p, ptr, n, unixSeconds(until), &removed, &cerr)
		runtime.KeepAlive(jti)
		if r != C.JWTGATE_OK {
			return takeError(cerr)
		}
		return nil
	})
	return int(removed), err
}

// RevokeSubject revokes every token of sub issued at or before issuedBefore (the zero
// time: now); tokens without "iat" are revoked too. Cached results for them are dropped at
// once; the count is returned.
//
// An empty sub, or an issuedBefore before the Unix epoch or in the future (beyond the
// leeway: that would ban tokens not issued yet), revokes nothing and returns an *Error
// matching ErrConfig whose message names the argument.
func (v *Validator) RevokeSubject(sub string, issuedBefore time.Time) (int, error) {
	var removed C.size_t
	err := v.withPtr(func(p *C.jwtgate_validator) error {
		ptr, n := bytesOf(sub)
		var cerr *C.jwtgate_error
		r := C.jwtgate_revoke_subject(p, ptr, n, unixSeconds(issuedBefore), &removed, &cerr)
		runtime.KeepAlive(sub)
		if r != C.JWTGATE_OK {
			return takeError(cerr)
		}
		return nil
	})
	return int(removed), err
}

// Version is the version of the jwtgate engine.
func Version() string {
	return C.GoString(C.jwtgate_version())
}

// takeError converts a C error into an *Error and releases it.
func takeError(cerr *C.jwtgate_error) error {
	if cerr == nil {
		return ErrInternal.withMessage("no error object")
	}
	code := int(C.jwtgate_error_code(cerr))
	e := &Error{
		kind:    kindName(code, C.jwtgate_error_kind(cerr)),
		code:    code,
		message: C.GoString(C.jwtgate_error_message(cerr)),
		status:  int(C.jwtgate_error_http_status(cerr)),
	}
	C.jwtgate_error_free(cerr)
	return e
}

// resultError is the error for a bare result code (calls without an error object).
func resultError(r C.jwtgate_result) error {
	if r == C.JWTGATE_OK {
		return nil
	}
	code := int(r)
	return &Error{kind: kindName(code, C.jwtgate_result_name(C.uint32_t(r))), code: code, status: 500,
		message: "call refused"}
}

// resultName is the stable name the C ABI gives a result code ("" for none).
func resultName(code int) string {
	if code < 0 || code > math.MaxUint32 {
		return ""
	}
	return C.GoString(C.jwtgate_result_name(C.uint32_t(code)))
}

// cgoRoundTrip makes one cgo call that does nothing (jwtgate_error_code(NULL)): the
// benchmarks use it to separate the cost of crossing into C from the engine's work.
func cgoRoundTrip() uint32 {
	return uint32(C.jwtgate_error_code(nil))
}
