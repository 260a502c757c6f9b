module jwtgate-soak

go 1.23

require jwtgate v0.0.0

replace jwtgate => ../../../bindings-ffi/go
