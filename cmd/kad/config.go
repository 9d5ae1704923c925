package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/urfave/cli/v2"
	"github.com/urfave/cli/v2/altsrc"
	"gopkg.in/yaml.v3"
)

// maxConfig bounds the size of a --config file.
const maxConfig = 1 << 20

// configFlag is --config FILE.
func configFlag() cli.Flag {
	return &cli.StringFlag{Name: "config", EnvVars: []string{"KAD_CONFIG"},
		Usage: "read settings from `FILE`, YAML (or TOML if it ends in .toml) with the flags' names as keys; flags and KAD_* variables win over it"}
}

// configurable returns flags with each one a --config file may set wrapped for altsrc,
// and --config itself added.
func configurable(flags []cli.Flag) []cli.Flag {
	out := make([]cli.Flag, 0, len(flags)+1)
	for _, f := range flags {
		switch f := f.(type) {
		case *cli.StringFlag:
			out = append(out, altsrc.NewStringFlag(f))
		case *cli.StringSliceFlag:
			out = append(out, altsrc.NewStringSliceFlag(f))
		case *cli.IntFlag:
			out = append(out, altsrc.NewIntFlag(f))
		case *cli.BoolFlag:
			out = append(out, altsrc.NewBoolFlag(f))
		case *cli.DurationFlag:
			out = append(out, altsrc.NewDurationFlag(f))
		default:
			out = append(out, f) // not settable from a file
		}
	}
	return append(out, configFlag())
}

// loadConfig is the Before hook of a command whose flags are configurable: it applies the
// settings of the --config file to the flags that neither the command line nor a KAD_*
// variable set. Every problem with the file is a usage error naming it.
func loadConfig(flags []cli.Flag) cli.BeforeFunc {
	return func(c *cli.Context) error {
		path := c.String("config")
		if path == "" {
			return nil
		}
		settings, err := readConfig(path, flags)
		if err != nil {
			return usageErrorf("--config %s: %v", path, err)
		}
		if err := altsrc.ApplyInputSourceValues(c, altsrc.NewMapInputSource(path, settings), flags); err != nil {
			return usageErrorf("--config %s: %v", path, err)
		}
		return nil
	}
}

// readConfig reads the settings of a config file and checks each against the flag it
// names: an unknown key, or a value of the wrong kind, is an error that says which.
func readConfig(path string, flags []cli.Flag) (map[any]any, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxConfig+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxConfig {
		return nil, fmt.Errorf("larger than %d bytes", maxConfig)
	}
	raw := map[string]any{}
	if strings.EqualFold(filepath.Ext(path), ".toml") {
		if _, err := toml.NewDecoder(bytes.NewReader(data)).Decode(&raw); err != nil {
			return nil, fmt.Errorf("TOML: %v", err)
		}
	} else if err := yaml.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("YAML: %v", err)
	}
	byName := map[string]cli.Flag{}
	var names []string
	for _, fl := range flags {
		for _, n := range fl.Names() {
			if n != "config" {
				byName[n] = fl
				names = append(names, n)
			}
		}
	}
	slices.Sort(names)
	settings := make(map[any]any, len(raw))
	for key, v := range raw {
		fl, ok := byName[key]
		if !ok {
			return nil, fmt.Errorf("unknown setting %q; the settings are %s", key, strings.Join(names, ", "))
		}
		v, err := settingValue(fl, v)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", key, err)
		}
		settings[key] = v
	}
	return settings, nil
}

// settingValue checks v, as YAML or TOML decoded it, against the kind of value fl takes,
// and returns it in the form altsrc reads.
func settingValue(fl cli.Flag, v any) (any, error) {
	switch fl.(type) {
	case *altsrc.StringFlag:
		if s, ok := v.(string); ok {
			return s, nil
		}
		return nil, fmt.Errorf("%v: want a string (quote it)", v)
	case *altsrc.StringSliceFlag:
		switch v := v.(type) {
		case string:
			return []any{v}, nil
		case []any:
			for i, e := range v {
				if _, ok := e.(string); !ok {
					return nil, fmt.Errorf("item %d, %v: want a string (quote it)", i, e)
				}
			}
			return v, nil
		}
		return nil, fmt.Errorf("%v: want a string or a list of strings", v)
	case *altsrc.IntFlag:
		switch v := v.(type) {
		case int:
			return v, nil
		case int64: // TOML's integers
			return int(v), nil
		}
		return nil, fmt.Errorf("%v: want a whole number", v)
	case *altsrc.BoolFlag:
		if b, ok := v.(bool); ok {
			return b, nil
		}
		return nil, fmt.Errorf("%v: want true or false", v)
	case *altsrc.DurationFlag:
		if s, ok := v.(string); ok {
			if _, err := time.ParseDuration(s); err == nil {
				return s, nil
			}
		}
		return nil, fmt.Errorf("%v: want a duration such as \"1.5s\" or \"2m\"", v)
	}
	return nil, fmt.Errorf("cannot be set from a file")
}
