module github.com/bulwark-go/bulwark/feature/featureyaml

go 1.26.0

require go.yaml.in/yaml/v3 v3.0.6

require github.com/bulwark-go/bulwark v0.0.0

replace github.com/bulwark-go/bulwark => ../..
