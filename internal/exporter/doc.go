// Package exporter is what prommetrics, otelmetrics and health share behind
// [bulwark.Watchable]: the watched policies ([Set]), the instruments each
// kind of policy gets once ([Kinds]), and the lookup from an event's policy
// and name to an exporter's series ([Index]). Each exporter keeps only what
// is its backend's own: the making and reporting of its instruments.
package exporter
