// One Go instance of the fleet benchmark (benches/fleet/run.py starts it): the protocol of
// instance.py, command by command, with the Go face (bindings-ffi/go, linked against the
// release build of the C ABI: `go build -tags jwtgate_release`) and go-redis for the bare GET.
//
// Clock: clock_gettime(CLOCK_MONOTONIC) through cgo, the clock Python's time.monotonic_ns()
// and Node's process.hrtime read (run.py checks that they agree).
package main

// #include <time.h>
// static long long mono_ns(void) {
//     struct timespec ts;
//     clock_gettime(CLOCK_MONOTONIC, &ts);
//     return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
// }
import "C"

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"sort"
	"time"

	"github.com/jwtgate/jwtgate-go"
	"github.com/redis/go-redis/v9"
)

func monoNS() int64 { return int64(C.mono_ns()) }

var out = bufio.NewWriter(os.Stdout)

func send(v any) {
	b, _ := json.Marshal(v)
	out.Write(b)
	out.WriteByte('\n')
	out.Flush()
}

func kind(err error) string {
	var e *jwtgate.Error
	if errors.As(err, &e) {
		return e.Kind()
	}
	return "exception"
}

func outcome(v *jwtgate.Validator, token string) string {
	if _, err := v.Validate(context.Background(), token); err != nil {
		return kind(err)
	}
	return "ok"
}

func timed(n int, before func(), call func()) []int64 {
	samples := make([]int64, 0, n)
	for i := 0; i < n; i++ {
		before()
		t0 := time.Now()
		call()
		samples = append(samples, int64(time.Since(t0)))
	}
	return samples
}

type command struct {
	Op      string          `json:"op"`
	Config  json.RawMessage `json:"config"`
	Tokens  json.RawMessage `json:"tokens"`
	Token   string          `json:"token"`
	JTI     string          `json:"jti"`
	Seconds float64         `json:"seconds"`
	PollUS  int             `json:"poll_us"`
	N       int             `json:"n"`
	URL     string          `json:"url"`
	Key     string          `json:"key"`
}

func config(raw json.RawMessage) jwtgate.Config {
	var cfg jwtgate.Config
	if err := json.Unmarshal(raw, &cfg); err != nil {
		send(map[string]string{"error": "config: " + err.Error()})
		os.Exit(1)
	}
	return cfg
}

func mustValidator(cfg jwtgate.Config) *jwtgate.Validator {
	v, err := jwtgate.New(cfg)
	if err != nil {
		send(map[string]string{"error": "new: " + err.Error()})
		os.Exit(1)
	}
	return v
}

func main() {
	var v *jwtgate.Validator
	ctx := context.Background()
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 64<<20)
	send(map[string]any{"hello": "go", "pid": os.Getpid()})
	for in.Scan() {
		var cmd command
		if err := json.Unmarshal(in.Bytes(), &cmd); err != nil {
			send(map[string]string{"error": err.Error()})
			continue
		}
		switch cmd.Op {
		case "start":
			t0 := monoNS()
			v = mustValidator(config(cmd.Config))
			if err := v.Ready(ctx); err != nil {
				send(map[string]any{"ok": false, "kind": kind(err)})
				continue
			}
			send(map[string]any{"ok": true, "ready_ms": float64(monoNS()-t0) / 1e6})
		case "now":
			send(map[string]any{"mono_ns": monoNS()})
		case "validate":
			var tokens []string
			json.Unmarshal(cmd.Tokens, &tokens)
			counts := map[string]int{}
			for _, t := range tokens {
				counts[outcome(v, t)]++
			}
			send(map[string]any{"counts": counts})
		case "watch":
			// Validate is local for a cached token (or a JWT whose keys are loaded): no I/O.
			deadline := monoNS() + int64(cmd.Seconds*1e9)
			send(map[string]any{"watching": true, "before": outcome(v, cmd.Token)})
			var seen *int64
			var other *string
			polls := 0
			for monoNS() < deadline {
				polls++
				if _, err := v.Validate(ctx, cmd.Token); err != nil {
					if k := kind(err); k == "revoked" {
						now := monoNS()
						seen = &now
						break
					} else {
						other = &k
					}
				}
				if cmd.PollUS > 0 {
					time.Sleep(time.Duration(cmd.PollUS) * time.Microsecond)
				}
			}
			send(map[string]any{"seen_ns": seen, "polls": polls, "other": other})
		case "revoke":
			t0 := monoNS()
			v.RevokeJTI(cmd.JTI, time.Time{})
			send(map[string]any{"t0_ns": t0, "t1_ns": monoNS()})
		case "stats":
			st, _ := v.Stats()
			h, _ := v.Health()
			send(map[string]any{"stats": st, "health": h})
		case "l2":
			kinds := map[string]bool{outcome(v, cmd.Token): true}
			samples := timed(cmd.N, func() { v.ClearCache() }, func() { kinds[outcome(v, cmd.Token)] = true })
			list := []string{}
			for k := range kinds {
				list = append(list, k)
			}
			sort.Strings(list)
			send(map[string]any{"samples_ns": samples, "outcomes": list})
		case "bare_get":
			opt, err := redis.ParseURL(cmd.URL)
			if err != nil {
				send(map[string]string{"error": err.Error()})
				continue
			}
			client := redis.NewClient(opt)
			value, _ := client.Get(ctx, cmd.Key).Bytes()
			samples := timed(cmd.N, func() {}, func() { client.Get(ctx, cmd.Key).Bytes() })
			client.Close()
			send(map[string]any{"samples_ns": samples, "size": len(value), "client": "go-redis " + goRedisVersion()})
		case "local":
			cfg := config(cmd.Config)
			warm := mustValidator(cfg)
			cfg.CacheMaxEntries = jwtgate.Int(0)
			cold := mustValidator(cfg)
			var tokens map[string]string
			json.Unmarshal(cmd.Tokens, &tokens)
			res := map[string][]int64{}
			var first string
			for _, alg := range []string{"RS256", "ES256", "EdDSA"} {
				t, ok := tokens[alg]
				if !ok {
					continue
				}
				if first == "" {
					first = t
				}
				for i := 0; i < 20; i++ {
					cold.Validate(ctx, t)
				}
				res[alg] = timed(cmd.N, func() {}, func() { cold.Validate(ctx, t) })
			}
			warm.Validate(ctx, first)
			res["l1_hit"] = timed(cmd.N, func() {}, func() { warm.Validate(ctx, first) })
			cold.Close()
			warm.Close()
			send(map[string]any{"samples_ns": res})
		case "exit":
			send(map[string]bool{"bye": true})
			return
		default:
			send(map[string]string{"error": fmt.Sprintf("unknown op %s", cmd.Op)})
		}
	}
}

func goRedisVersion() string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, d := range info.Deps {
			if d.Path == "github.com/redis/go-redis/v9" {
				return d.Version
			}
		}
	}
	return redis.Version()
}
