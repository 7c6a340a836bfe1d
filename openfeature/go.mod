module github.com/bulwark-go/bulwark/openfeature

go 1.26.0

require github.com/open-feature/go-sdk v1.20.0

require go.yaml.in/yaml/v3 v3.0.6 // indirect

require (
	github.com/bulwark-go/bulwark v0.0.0
	go.uber.org/mock v0.6.0 // indirect
)

replace github.com/bulwark-go/bulwark => ../.
