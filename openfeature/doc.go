// Package openfeature is an OpenFeature provider for bulwark's feature
// flags: applications that evaluate flags through the OpenFeature Go SDK
// (github.com/open-feature/go-sdk) get them from a [feature.Flags].
//
//	flags, err := feature.New(feature.Config{Path: "flags.json"})
//	...
//	p, err := openfeature.New(openfeature.Config{Flags: flags})
//	...
//	err = of.SetProviderAndWait(p)
//	client := of.NewDefaultClient()
//	on, err := client.BooleanValue(ctx, "new-checkout", false,
//		of.NewEvaluationContext("user-42", map[string]any{"country": "NZ"}))
//
// # Mapping
//
// The evaluation context's targeting key becomes feature.Target.Key (the
// rollout key) and its other attributes become Target.Attrs (for targeting
// rules), formatted as strings; see [Target].
//
// Reasons map one to one: static → STATIC, split → SPLIT, targeting_match →
// TARGETING_MATCH, disabled → DISABLED, default → DEFAULT. Variants are the
// feature package's ("on", "off", "override", a rule's variant). Flag
// metadata carries the flag's "type".
//
// Errors: a flag that does not exist is FLAG_NOT_FOUND; asking for a type
// the flag does not have (a bool from a string flag, an int from a number
// that is not whole) is TYPE_MISMATCH; a partial rollout without a
// targeting key is TARGETING_KEY_MISSING; flags that Config.Open could not
// decode or validate give PARSE_ERROR. In every case the caller's default
// is returned.
//
// # Events
//
// The provider implements the SDK's StateHandler and EventHandler. Between
// Init and Shutdown it emits PROVIDER_CONFIGURATION_CHANGED each time the
// flags accept a change (through Flags.Watch or Flags.Reload), with the
// changed flag names in FlagChanges and the set's version in the event
// metadata. A rejected file changes nothing, so it emits nothing.
// Config.Watch makes the provider run Flags.Watch itself between Init and
// Shutdown.
package openfeature
