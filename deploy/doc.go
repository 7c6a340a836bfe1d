// Package deploy holds what runs next to a service that uses bulwark rather
// than in it: Prometheus alerting rules (prometheus/alerts.yml, unit-tested
// by prometheus/alerts_test.yml) and a Grafana dashboard
// (grafana/bulwark.json), both over the metrics of the prommetrics package.
//
// The package has no code. Its tests check the rules with promtool (check
// and unit tests), and check that every query of the rules and the dashboard
// names a metric prommetrics registers and that the dashboard shows every
// one of them.
//
// # Running the tests
//
// promtool comes with Prometheus (Debian: apt-get install prometheus). With
// CI=true a missing promtool fails the tests; otherwise they skip the
// promtool steps and say so.
package deploy
