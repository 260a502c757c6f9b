module jwtgate-soak

go 1.23

require github.com/jwtgate/jwtgate-go v0.0.0

replace github.com/jwtgate/jwtgate-go => ../../../bindings-ffi/go
