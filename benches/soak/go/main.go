// One Go instance of the soak: the traffic and the protocol of ../instance.py (read its
// docstring), through the Go package and so through the C ABI (libjwtgate_ffi, jwtgate.h): this
// instance stands for the C face too. argv[1]: the configuration (snake_case JSON, given to
// NewFromJSON as a C host would give it); argv[2]: the feed directory. Stdlib only.
//
// The JWT loop runs in one goroutine, opaque tokens in a second one at a bounded rate; a third
// reports once a second. Counts are kept per goroutine and read under a mutex.
package main

import (
	"bufio"
	"context"
	crand "crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jwtgate/jwtgate-go"
)

var mix = []struct {
	name string
	n    int
}{{"hot", 50}, {"fresh", 15}, {"expired", 8}, {"forged", 9}, {"unknown_kid", 9}, {"revoked", 9}}

const (
	opaquePeriod        = 20 * time.Millisecond
	garbagePeriod       = 200 * time.Millisecond
	opaqueRevokedPeriod = 500 * time.Millisecond
	b64chars            = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
)

type feedData struct {
	FreshFile     string   `json:"fresh_file"`
	Hot           []string `json:"hot"`
	Expired       []string `json:"expired"`
	Revoked       []string `json:"revoked"`
	RevokeJTIs    []string `json:"revoke_jtis"`
	Opaque        []string `json:"opaque"`
	OpaqueRevoked []string `json:"opaque_revoked"`
}

type feed struct {
	dir       string
	mtime     int64
	freshName string
	applied   map[string]bool
	mu        sync.RWMutex
	data      feedData
	fresh     []string
}

func (f *feed) reload(v *jwtgate.Validator) error {
	path := filepath.Join(f.dir, "feed.json")
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if st.ModTime().UnixNano() == f.mtime {
		return nil
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var d feedData
	if err := json.Unmarshal(raw, &d); err != nil {
		return err
	}
	fresh := f.fresh
	if d.FreshFile != f.freshName {
		raw, err := os.ReadFile(filepath.Join(f.dir, d.FreshFile))
		if err != nil {
			return err
		}
		fresh = nil
		if err := json.Unmarshal(raw, &fresh); err != nil {
			return err
		}
		f.freshName = d.FreshFile
	}
	for _, jti := range d.RevokeJTIs {
		if !f.applied[jti] {
			if _, err := v.RevokeJTI(jti, time.Time{}); err != nil {
				return err
			}
			f.applied[jti] = true
		}
	}
	f.mtime = st.ModTime().UnixNano()
	f.mu.Lock()
	f.data, f.fresh = d, fresh
	f.mu.Unlock()
	return nil
}

func (f *feed) snapshot() (feedData, []string) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.data, f.fresh
}

type counter struct {
	mu sync.Mutex
	m  map[string]map[string]uint64
}

func (c *counter) add(category, kind string) {
	c.mu.Lock()
	byKind := c.m[category]
	if byKind == nil {
		byKind = map[string]uint64{}
		c.m[category] = byKind
	}
	byKind[kind]++
	c.mu.Unlock()
}

func (c *counter) copyInto(out map[string]map[string]uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for cat, byKind := range c.m {
		o := map[string]uint64{}
		for k, n := range byKind {
			o[k] = n
		}
		out[cat] = o
	}
}

func kindOf(err error) string {
	if err == nil {
		return "ok"
	}
	var e *jwtgate.Error
	if errors.As(err, &e) {
		return e.Kind()
	}
	return "exception"
}

var out = bufio.NewWriter(os.Stdout)
var outMu sync.Mutex

func send(v any) {
	b, _ := json.Marshal(v)
	outMu.Lock()
	out.Write(b)
	out.WriteByte('\n')
	out.Flush()
	outMu.Unlock()
}

func fail(what string, err error) {
	fmt.Fprintf(os.Stderr, "soak go instance: %s: %v\n", what, err)
	os.Exit(1)
}

func main() {
	var config map[string]any
	if err := json.Unmarshal([]byte(os.Args[1]), &config); err != nil {
		fail("config", err)
	}
	name, _ := config["soak_name"].(string)
	delete(config, "soak_name")
	raw, _ := json.Marshal(config)
	v, err := jwtgate.NewFromJSON(raw)
	if err != nil {
		fail("new", err)
	}
	ctx := context.Background()
	if err := v.Ready(ctx); err != nil {
		fail("ready", err)
	}
	f := &feed{dir: os.Args[2], applied: map[string]bool{}}
	if err := f.reload(v); err != nil {
		fail("feed", err)
	}

	var stopped atomic.Bool
	go func() {
		io.Copy(io.Discard, os.Stdin)
		stopped.Store(true)
	}()

	order := []string{}
	for _, m := range mix {
		for i := 0; i < m.n; i++ {
			order = append(order, m.name)
		}
	}
	rand.New(rand.NewPCG(17, 17)).Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })

	jwtCounts := &counter{m: map[string]map[string]uint64{}}
	opaqueCounts := &counter{m: map[string]map[string]uint64{}}
	report := func(final bool) {
		st, err := v.Stats()
		if err != nil {
			fail("stats", err)
		}
		outcomes := map[string]map[string]uint64{}
		jwtCounts.copyInto(outcomes)
		opaqueCounts.copyInto(outcomes)
		send(map[string]any{"final": final, "stats": st, "outcomes": outcomes})
	}

	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // opaque tokens
		defer wg.Done()
		i := 0
		var nextGarbage, nextRevoked time.Time
		buf := make([]byte, 43)
		for !stopped.Load() {
			d, _ := f.snapshot()
			now := time.Now()
			var category, token string
			switch {
			case !now.Before(nextGarbage):
				nextGarbage = now.Add(garbagePeriod)
				crand.Read(buf)
				b := make([]byte, 43)
				for k, c := range buf {
					b[k] = b64chars[c&63]
				}
				category, token = "opaque_garbage", string(b)
			case !now.Before(nextRevoked) && len(d.OpaqueRevoked) > 0:
				nextRevoked = now.Add(opaqueRevokedPeriod)
				category, token = "opaque_revoked", d.OpaqueRevoked[i%len(d.OpaqueRevoked)]
			case len(d.Opaque) > 0:
				category, token = "opaque", d.Opaque[i%len(d.Opaque)]
			default:
				time.Sleep(opaquePeriod)
				continue
			}
			i++
			_, err := v.Validate(ctx, token)
			opaqueCounts.add(category, kindOf(err))
			if category == "opaque" {
				time.Sleep(opaquePeriod)
			}
		}
	}()
	go func() { // JWTs at full speed
		defer wg.Done()
		n := 0
		ix := map[string]int{} // one index per category (see instance.py)
		local := map[string]map[string]uint64{}
		flush := func() {
			jwtCounts.mu.Lock()
			for cat, byKind := range local {
				dst := jwtCounts.m[cat]
				if dst == nil {
					dst = map[string]uint64{}
					jwtCounts.m[cat] = dst
				}
				for k, c := range byKind {
					dst[k] += c
				}
			}
			jwtCounts.mu.Unlock()
			clear(local)
		}
		for !stopped.Load() {
			d, fresh := f.snapshot()
			for k := 0; k < 500; k++ {
				category := order[n%len(order)]
				n++
				ix[category]++
				i := ix[category]
				var token string
				switch category {
				case "hot":
					token = d.Hot[i%len(d.Hot)]
				case "fresh":
					token = fresh[i%len(fresh)]
				case "expired":
					token = d.Expired[i%len(d.Expired)]
				case "revoked":
					if len(d.Revoked) == 0 {
						continue
					}
					token = d.Revoked[i%len(d.Revoked)]
				case "forged":
					a, b := fresh[i%len(fresh)], fresh[(i+1)%len(fresh)]
					token = a[:strings.LastIndexByte(a, '.')] + b[strings.LastIndexByte(b, '.'):]
				default:
					a := fresh[i%len(fresh)]
					header, _ := json.Marshal(map[string]string{"alg": "RS256", "typ": "at+jwt", "kid": fmt.Sprintf("%s-unknown-%d", name, i)})
					token = base64.RawURLEncoding.EncodeToString(header) + a[strings.IndexByte(a, '.'):]
				}
				_, err := v.Validate(ctx, token)
				kind := kindOf(err)
				byKind := local[category]
				if byKind == nil {
					byKind = map[string]uint64{}
					local[category] = byKind
				}
				byKind[kind]++
			}
			flush()
		}
	}()

	send(map[string]any{"ready": true, "face": "go", "pid": os.Getpid()})
	ticker := time.NewTicker(time.Second)
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
loop:
	for {
		select {
		case <-ticker.C:
			if err := f.reload(v); err != nil {
				fail("feed", err)
			}
			report(false)
		case <-done:
			break loop
		}
	}
	report(true)
	v.Close()
}
