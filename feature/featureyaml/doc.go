// Package featureyaml reads feature flag files written in YAML for the
// feature package, which itself reads only JSON so that it needs nothing
// beyond the standard library.
//
//	flags, err := featureyaml.New(feature.Config{Path: "/etc/app/flags.yaml"})
//
// New is feature.New with the decoder chosen by the file's extension
// ([DecoderFor]): YAML for .yaml and .yml, JSON for .json. The YAML file has
// the same fields as the JSON one:
//
//	kill: false
//	flags:
//	  - name: new-checkout
//	    type: bool
//	    value: true
//	    rollout: 25
//	    rules:
//	      - attribute: country
//	        in: [NZ, AU]
//	  - name: banner
//	    type: string
//	    value: spring sale
//	    kill: true
//
// # Strictness
//
// Unknown fields, keys given twice, values of the wrong type, several
// documents in one file and an empty file are errors. A file's every
// problem is reported at once, the decoder's and feature.Compile's
// together, each naming the flag, the field and the line:
//
//	feature: flag "a": extra: unknown field; want one of "name", ... (line 5)
//	feature: flag "a": rollout: 120 is outside 0..100 (line 6)
//
// Values keep their YAML types: `value: yes` is the string "yes", not a
// bool, so a bool flag must say true or false.
package featureyaml
