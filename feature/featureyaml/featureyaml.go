package featureyaml

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/bulwark-go/bulwark/feature"
)

// Decode decodes a YAML flag file strictly; see the package doc. It does
// not validate the flags: feature.Compile (which feature.New runs) does.
func Decode(data []byte) (*feature.File, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var f feature.File
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("featureyaml: empty flag file")
		}
		return nil, fmt.Errorf("featureyaml: %w", err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("featureyaml: the flag file holds more than one YAML document")
	}
	return &f, nil
}

// DecoderFor returns the decoder for a flag file by its extension: Decode
// for ".yaml" and ".yml", feature.DecodeJSON for ".json" (in any case).
// Any other extension is an error naming it.
func DecoderFor(path string) (func([]byte) (*feature.File, error), error) {
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".yaml", ".yml":
		return Decode, nil
	case ".json":
		return feature.DecodeJSON, nil
	default:
		return nil, fmt.Errorf("featureyaml: %s: unknown flag file extension %q; want .yaml, .yml or .json", path, ext)
	}
}

// New is feature.New with Config.Decode chosen by the file's extension
// (see DecoderFor) when it is nil.
func New(cfg feature.Config) (*feature.Flags, error) {
	if cfg.Decode == nil && cfg.Path != "" {
		d, err := DecoderFor(cfg.Path)
		if err != nil {
			return nil, err
		}
		cfg.Decode = d
	}
	return feature.New(cfg)
}
