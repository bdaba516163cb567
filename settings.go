package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"text/tabwriter"

	"kelas/app"
	"kelas/store"
)

// runSettings shows or changes the operator settings, as /console/settings
// does, with the same checks; each change is audited as made on the server.
func runSettings(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return badUsage(stderr, "settings needs a command: `kelas settings show` or `kelas settings set KEY VALUE`")
	}
	switch args[0] {
	case "show":
		return runSettingsShow(ctx, args[1:], getenv, stdout, stderr)
	case "set":
		return runSettingsSet(ctx, args[1:], getenv, stdout, stderr)
	}
	if isHelpFlag(args[0]) {
		return runSettingsShow(ctx, args, getenv, stdout, stderr)
	}
	return badUsage(stderr, fmt.Sprintf("unknown settings command %q; use show or set", args[0]))
}

func runSettingsShow(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	f := newFlags("settings show", getenv)
	dir := f.str("data", "KELAS_DATA", "./kelas-data", "data directory")
	if err := f.parse(args, stdout, stderr); err != nil {
		return err
	}
	if f.NArg() > 0 {
		return f.badUsage(stderr, "settings show takes no arguments")
	}
	if !store.Exists(*dir) {
		return fmt.Errorf("no kelas data in %s", *dir)
	}
	st, err := openStore(ctx, *dir, getenv, newLogger(stderr))
	if err != nil {
		return err
	}
	defer st.Close()
	s, err := st.Settings(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	for _, k := range store.SettingKeys() {
		fmt.Fprintf(tw, "%s\t%q\n", k, s.Get(k))
	}
	logo := "none"
	if s.Logo != nil {
		logo = fmt.Sprintf("%d bytes (change it on /console/settings)", len(s.Logo))
	}
	fmt.Fprintf(tw, "logo\t%s\n", logo)
	return tw.Flush()
}

func runSettingsSet(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	f := newFlags("settings set", getenv)
	dir := f.str("data", "KELAS_DATA", "./kelas-data", "data directory")
	if err := f.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			f.help(stdout)
			return errHelpShown
		}
		return f.badUsage(stderr, err.Error())
	}
	if f.NArg() != 2 {
		return f.badUsage(stderr, "settings set needs a KEY and a VALUE (\"\" for the default)")
	}
	key, raw := f.Arg(0), f.Arg(1)
	if key == store.SettingLogo {
		return errors.New("the logo is an image: upload it on /console/settings")
	}
	if !slices.Contains(store.SettingKeys(), key) {
		return f.badUsage(stderr, fmt.Sprintf("unknown setting %q; `kelas settings show` lists them", key))
	}
	value, problem := app.ValidateSetting(key, raw)
	if problem != nil {
		return fmt.Errorf("%s: %s", key, problem.English())
	}
	if !store.Exists(*dir) {
		return fmt.Errorf("no kelas data in %s", *dir)
	}
	st, err := openStore(ctx, *dir, getenv, newLogger(stderr))
	if err != nil {
		return err
	}
	defer st.Close()
	cur, err := st.Settings(ctx)
	if err != nil {
		return err
	}
	s, err := st.SaveSettings(ctx, store.ActorCLI, cur.Revision, map[string]string{key: value})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s = %q\n", key, s.Get(key))
	return nil
}
