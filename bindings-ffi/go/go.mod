module github.com/jwtgate/jwtgate-go

go 1.23
