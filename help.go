package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// command is one `kelas` command as its help shows it.
type command struct {
	name     string   // as typed: "admin create"
	synopsis []string // usage lines, after "kelas "
	summary  string
	// env are the variables the command reads besides its flags' own.
	env []string
}

// commands lists every command, in the order the usage shows them.
func commands() []command {
	// Variables several commands read.
	masterKeyEnv := []string{"KELAS_MASTER_KEY", "KELAS_MASTER_KEY_FILE"}
	offsiteEnv := []string{"KELAS_BACKUP_TARGET", "KELAS_BACKUP_S3_ACCESS_KEY", "KELAS_BACKUP_S3_SECRET_KEY",
		"KELAS_BACKUP_SFTP_KEY", "KELAS_BACKUP_SFTP_KNOWN_HOSTS"}
	join := func(lists ...[]string) []string {
		var out []string
		for _, l := range lists {
			out = append(out, l...)
		}
		return out
	}
	return []command{
		{name: "serve", synopsis: []string{"[serve] [--addr 127.0.0.1:8080] [--data ./kelas-data] [--base-url URL] [--domain NAME] [--demo]\n" +
			"                [--https-addr :443] [--http-addr :80]"},
			summary: "Serve kelas (the default command). --domain turns on automatic HTTPS; --demo seeds sample trainings.",
			env: join(masterKeyEnv, []string{"KELAS_SMTP_URL", "KELAS_MAIL_FROM", "KELAS_BCRYPT_COST", "KELAS_TRUSTED_PROXIES",
				"KELAS_ERASURE_GRACE", "KELAS_BACKUP_RECIPIENT"}, offsiteEnv,
				[]string{"KELAS_ACME_DIRECTORY", "KELAS_ACME_CA_ROOT", "KELAS_ACME_EMAIL"})},
		{name: "admin create", synopsis: []string{"admin create --email E [--role operator|consultant|backoffice] [--dpo]\n" +
			"                [--first-name N] [--surname N] [--data DIR]"},
			summary: "Create an operator account; the password is read from stdin, or generated and printed once.",
			env:     join(masterKeyEnv, []string{"KELAS_BCRYPT_COST"})},
		{name: "keys rotate", synopsis: []string{"keys rotate [--data DIR]",
			"keys rotate --new-master-key-file FILE [--data DIR] [--recipient AGE_PUBLIC_KEY]"},
			summary: "Add a key-wrapping key version and re-wrap every data key; with --new-master-key-file (kelas stopped),\n" +
				"move every key to a new master key.",
			env: masterKeyEnv},
		{name: "backup", synopsis: []string{"backup [--data DIR] [--recipient AGE_PUBLIC_KEY]"},
			summary: "Take an encrypted backup now and print its files; with an off-site target, copy them there.",
			env:     join(masterKeyEnv, offsiteEnv)},
		{name: "restore", synopsis: []string{"restore [--data DIR] [--keys KEYS_BACKUP] [--identity FILE] [--accept-loss] FILE",
			"restore [--data DIR] [--identity FILE] [--accept-loss] --from TARGET_URL [--at STAMP]"},
			summary: "With kelas stopped: verify and restore a backup pair, then re-apply every erasure.",
			env:     join(masterKeyEnv, []string{"KELAS_BACKUP_RECIPIENT"}, offsiteEnv[1:])},
		{name: "audit verify", synopsis: []string{"audit verify [--data DIR]"},
			summary: "Verify the audit log's hash chain; exit non-zero naming the first bad entry.",
			env:     masterKeyEnv},
		{name: "doctor", synopsis: []string{"doctor [--data DIR]"},
			summary: "Check the installation; exit non-zero when a check fails.",
			env:     join(masterKeyEnv, []string{"KELAS_SMTP_URL", "KELAS_DOMAIN"}, offsiteEnv)},
		{name: "settings show", synopsis: []string{"settings show [--data DIR]"},
			summary: "Show the operator settings, or change one (checked as on /console/settings; \"\" restores the default).",
			env:     masterKeyEnv},
		{name: "settings set", synopsis: []string{"settings set [--data DIR] KEY VALUE"},
			summary: "Change one operator setting (keys as `kelas settings show` lists them; \"\" restores the default).",
			env:     masterKeyEnv},
		{name: "healthcheck", synopsis: []string{"healthcheck [--addr 127.0.0.1:8080]"},
			summary: "Exit 0 when /healthz of a running kelas answers ok (for container health checks)."},
		{name: "version", synopsis: []string{"version"},
			summary: "Print the version, the VCS revision and the Go version kelas was built with."},
		{name: "help", synopsis: []string{"help [COMMAND]"},
			summary: "Print the usage of every command, or the flags and environment variables of one."},
	}
}

func findCommand(name string) (command, bool) {
	for _, c := range commands() {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

// usage is the usage of every command.
func usage() string {
	var b strings.Builder
	b.WriteString("kelas: a privacy-first online training portal\n\nUsage:\n")
	for _, c := range commands() {
		for _, s := range c.synopsis {
			b.WriteString("  kelas " + s + "\n")
		}
	}
	b.WriteString(`
"kelas help COMMAND" (or "kelas COMMAND -h") lists a command's flags and the
environment variables it reads. Flags that configure the installation (--addr,
--data, --base-url, --domain, --https-addr, --http-addr, --demo, --recipient,
--identity) fall back to a KELAS_* variable; the flag wins when both are given.
The master key comes from KELAS_MASTER_KEY (base64 of 32 bytes) or
KELAS_MASTER_KEY_FILE; on the very first run kelas creates DATA/master.key.
With --domain, certificates come from KELAS_ACME_DIRECTORY (default Let's
Encrypt), trusting KELAS_ACME_CA_ROOT (a PEM file) for a private ACME server;
KELAS_ACME_EMAIL receives expiry notices.
`)
	return b.String()
}

// runHelp prints the usage of every command, or the help of one.
func runHelp(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	switch {
	case len(args) == 0:
		fmt.Fprint(stdout, usage())
		return nil
	case isHelpFlag(args[0]):
		f := newFlags("help", getenv)
		f.help(stdout)
		return nil
	case args[0] == "help":
		return runHelp(ctx, []string{"-h"}, getenv, stdin, stdout, stderr)
	}
	// The command itself prints its help on -h, from the flags it declares.
	name := strings.Join(args, " ")
	if _, ok := findCommand(name); !ok {
		sub := map[string]string{"admin": "admin create", "keys": "keys rotate", "audit": "audit verify", "settings": "settings show"}[name]
		if sub == "" {
			return badUsage(stderr, fmt.Sprintf("no help for %q: unknown command", name))
		}
		name = sub
	}
	return dispatch(ctx, append(strings.Fields(name), "-h"), getenv, stdin, stdout, stderr)
}

// help prints the command's usage, its flags with their environment
// variables and defaults, and the other variables it reads.
func (f flags) help(w io.Writer) {
	c, _ := findCommand(f.name)
	fmt.Fprintln(w, "Usage:")
	for _, s := range c.synopsis {
		fmt.Fprintln(w, "  kelas "+s)
	}
	if c.summary != "" {
		fmt.Fprintf(w, "\n%s\n", c.summary)
	}
	n := 0
	f.VisitAll(func(*flag.Flag) { n++ })
	if n > 0 {
		fmt.Fprint(w, "\nFlags (and the environment variable each falls back to):\n")
	}
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	f.VisitAll(func(fl *flag.Flag) {
		env := f.env[fl.Name]
		if env == "" {
			env = "-"
		}
		meaning := fl.Usage
		if fl.DefValue != "" && fl.DefValue != "false" {
			meaning += " (default " + fl.DefValue + ")"
		}
		fmt.Fprintf(tw, "  --%s\t%s\t%s\n", fl.Name, env, meaning)
	})
	tw.Flush()
	if len(c.env) > 0 {
		fmt.Fprint(w, "\nAlso reads:")
		col := len("Also reads:")
		for i, e := range c.env {
			if i > 0 {
				fmt.Fprint(w, ",")
				col++
			}
			if col+len(e)+1 > 78 {
				fmt.Fprint(w, "\n ")
				col = 1
			}
			fmt.Fprint(w, " "+e)
			col += len(e) + 1
		}
		fmt.Fprintln(w)
	}
}
