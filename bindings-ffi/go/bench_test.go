package jwtgate

import (
	"context"
	"testing"
)

// The cost of one Go -> C call that does no work, for reading the other numbers.
func BenchmarkCgoRoundTrip(b *testing.B) {
	for i := 0; i < b.N; i++ {
		if cgoRoundTrip() != 0 {
			b.Fatal("jwtgate_error_code(NULL) must be 0")
		}
	}
}

// A cached token through the whole Go face (one cgo call, copy of the claims).
func BenchmarkValidateHit(b *testing.B) {
	f := loadFixture(b)
	v := mustValidator(b, f.config)
	defer v.Close()
	ctx := context.Background()
	if _, err := v.Validate(ctx, f.token); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := v.Validate(ctx, f.token); err != nil {
			b.Fatal(err)
		}
	}
}

// A refused token (bad signature, cached keys): the error path.
func BenchmarkValidateRefused(b *testing.B) {
	f := loadFixture(b)
	v := mustValidator(b, f.config)
	defer v.Close()
	ctx := context.Background()
	bad := f.token[:len(f.token)-6] + "AAAAAA"
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := v.Validate(ctx, bad); err == nil {
			b.Fatal("accepted")
		}
	}
}
