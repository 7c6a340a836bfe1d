module github.com/bulwark-go/bulwark

go 1.26.0
