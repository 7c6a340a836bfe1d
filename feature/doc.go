// Package feature serves feature flags from a file: booleans, strings and
// numbers, with percentage rollouts, targeting rules, kill switches,
// environment overrides and hot reload.
//
//	flags, err := feature.New(feature.Config{Path: "/etc/app/flags.json"})
//	if err != nil {
//		return err
//	}
//	go flags.Watch(ctx) // reload when the file changes
//
//	if flags.Bool("new-search", false) { ... }
//	t := feature.Target{Key: userID, Attrs: map[string]string{"country": country}}
//	if flags.BoolFor("new-checkout", t, false) { ... }
//	ev := flags.Evaluate("new-checkout", t) // Value, Type, Variant, Reason, Err
//	cancel := flags.Subscribe(func(c feature.Change) { log.Println("changed:", c.Changed) })
//
// Use it to ship code dark and turn it on by share of users, by country or
// plan, or off in an emergency, without a flag service: the file can come
// from a ConfigMap, a deploy, or an operator's editor.
//
// A flag check reads an immutable [Set] through an atomic pointer: no lock,
// no allocation, a few tens of nanoseconds. The package imports only the
// standard library; YAML files are read through the featureyaml package and
// the openfeature package adapts [Flags] to OpenFeature.
//
// # The file
//
//	{
//	  "kill": false,
//	  "flags": [
//	    {"name": "new-search", "type": "bool", "value": true},
//	    {"name": "new-checkout", "type": "bool", "value": true, "rollout": 25,
//	     "rules": [{"attribute": "country", "in": ["NZ", "AU"], "value": true},
//	               {"attribute": "plan", "in": ["free"], "value": false, "variant": "free-plan"}]},
//	    {"name": "banner", "type": "string", "value": "spring sale", "off": "", "kill": true},
//	    {"name": "discount", "type": "number", "value": 0.15}
//	  ]
//	}
//
// Each flag has a name (letters, digits, '.', '_', '-'), a type ("bool",
// "string" or "number") and a value of that type. Optional: "off" (the
// value of a killed flag and of keys outside the rollout; default false, ""
// or 0), "rollout" (a percentage 0..100), "rules", "kill" and
// "description". Unknown fields are errors. Every problem of a file is
// reported at once, each naming the flag, the field and the line: the
// decoder's (an unknown field, a field given twice, a list where a string
// belongs) and [Compile]'s (an unknown type, a value of the wrong type, a
// percentage outside 0..100, a duplicate name, a rule without attribute or
// values).
//
// # Evaluation
//
// A flag evaluates, in this order:
//
//  1. killed (its own "kill", or the file's global "kill"): its off value,
//     reason [ReasonDisabled];
//  2. overridden from the environment: the override, [ReasonStatic];
//  3. the first rule whose attribute is in its list: the rule's value,
//     [ReasonTargetingMatch];
//  4. with a rollout: the value for keys inside the percentage, the off
//     value for the others, [ReasonSplit]; a partial rollout needs a
//     target key, and without one the caller's default applies
//     ([ErrMissingKey]);
//  5. otherwise its value: [ReasonStatic], or [ReasonDefault] when it has
//     rules and none matched.
//
// The rollout hashes the flag name and the key (FNV-1a, then a mixing
// step) into 2^32 buckets; a key is inside when its bucket is below
// percent% of them. The same key always lands on the same side, raising the
// percentage only adds keys, and different flags split independently;
// over 100,000 keys the share is within half a point of the percentage.
//
// The typed getters ([Flags.Bool], [Flags.StringFor], ...) return the
// caller's default for a missing flag, a flag of another type or an
// evaluation error; [Flags.Evaluate] says what happened.
//
// # Environment overrides
//
// BULWARK_FLAG_<NAME> forces a flag's value for everyone, where <NAME> is
// the flag name in upper case with every other character than a letter or
// digit turned into '_' ("new-checkout" → BULWARK_FLAG_NEW_CHECKOUT; see
// [EnvName]). The value is parsed by the flag's type (strconv.ParseBool,
// strconv.ParseFloat, or taken as is); one that does not parse makes the
// load fail with a [ValidationError] naming the variable. A kill switch
// still wins over an override. Variables with the prefix that name no flag
// are logged and ignored. The environment is read at every load.
//
// # Reloading
//
// [Flags.Watch] looks at the file every interval (its size and
// modification time, then a hash of its content) and loads it when it
// changed; [Flags.Reload] loads it now. A file that does not decode or
// validate is rejected, logged once and counted in the snapshot's
// Rejected, and the flags in force stay in force; a missing file is logged
// once and sets the snapshot's Missing, and the flags stay too. Listeners
// registered with [Flags.Subscribe] hear of every accepted change, outside
// any lock, with the old and new sets and the names of the flags that
// changed.
package feature
