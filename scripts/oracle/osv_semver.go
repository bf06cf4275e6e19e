// Evaluates OSV SEMVER ranges of the Go vulnerability database with the Go
// project's own version comparison, golang.org/x/mod/semver (Debian's
// golang-golang-x-mod-dev, built offline in GOPATH mode by oracle-scan.py).
//
// stdin: one JSON object {"checks": [{"version": "v1.19.8", "events": [{"introduced": "0"}, {"fixed": "1.19.9"}]}, ...]}
// where versions already carry the "v" prefix x/mod wants (the events do not:
// OSV writes Go versions without it, and "0" means "since the beginning").
// stdout: one JSON array with "true", "false" or "invalid: <why>" per check.
//
// The algorithm is the OSV specification's: sort the events by version, then
// walk them; "introduced" at or below the version opens the range, "fixed" at
// or below it and "last_affected" below it close it again.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"

	"golang.org/x/mod/semver"
)

type event struct {
	Introduced   *string `json:"introduced,omitempty"`
	Fixed        *string `json:"fixed,omitempty"`
	LastAffected *string `json:"last_affected,omitempty"`
	Limit        *string `json:"limit,omitempty"`
}

type check struct {
	Version string  `json:"version"`
	Events  []event `json:"events"`
}

type input struct {
	Checks []check `json:"checks"`
}

// eventVersion returns the event's version with the "v" x/mod wants, and
// whether it is the special "0" (before every version).
func eventVersion(e event) (string, string, bool) {
	switch {
	case e.Introduced != nil:
		return "introduced", *e.Introduced, *e.Introduced == "0"
	case e.Fixed != nil:
		return "fixed", *e.Fixed, false
	case e.LastAffected != nil:
		return "last_affected", *e.LastAffected, false
	case e.Limit != nil:
		return "limit", *e.Limit, false
	}
	return "", "", false
}

func evaluate(c check) string {
	if !semver.IsValid(c.Version) {
		return fmt.Sprintf("invalid: version %q is not valid to x/mod/semver", c.Version)
	}
	type keyed struct {
		kind, version string
		zero          bool
	}
	events := make([]keyed, 0, len(c.Events))
	for _, e := range c.Events {
		kind, version, zero := eventVersion(e)
		if kind == "" {
			return "invalid: empty event"
		}
		if kind == "limit" {
			continue // limits only bound git ranges
		}
		if !zero {
			version = "v" + version
			if !semver.IsValid(version) {
				return fmt.Sprintf("invalid: event version %q is not valid to x/mod/semver", version)
			}
		}
		events = append(events, keyed{kind, version, zero})
	}
	sort.SliceStable(events, func(i, j int) bool {
		a, b := events[i], events[j]
		if a.zero || b.zero {
			return a.zero && !b.zero
		}
		return semver.Compare(a.version, b.version) < 0
	})
	vulnerable := false
	for _, e := range events {
		switch e.kind {
		case "introduced":
			if e.zero || semver.Compare(c.Version, e.version) >= 0 {
				vulnerable = true
			}
		case "fixed":
			if semver.Compare(c.Version, e.version) >= 0 {
				vulnerable = false
			}
		case "last_affected":
			if semver.Compare(c.Version, e.version) > 0 {
				vulnerable = false
			}
		}
	}
	if vulnerable {
		return "true"
	}
	return "false"
}

func main() {
	var in input
	if err := json.NewDecoder(os.Stdin).Decode(&in); err != nil {
		fmt.Fprintln(os.Stderr, "osv_semver: invalid input:", err)
		os.Exit(2)
	}
	out := make([]string, 0, len(in.Checks))
	for _, c := range in.Checks {
		out = append(out, evaluate(c))
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		fmt.Fprintln(os.Stderr, "osv_semver:", err)
		os.Exit(2)
	}
}
