module jwtgate

go 1.23
