package main

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// helpFlags are the flags a command's help lists, with the environment
// variable each falls back to ("-" for none).
func helpFlags(t *testing.T, help string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^  --([a-z-]+)\s+(\S+)\s`).FindAllStringSubmatch(help, -1) {
		out[m[1]] = m[2]
	}
	return out
}

// TestHelpOfEveryCommand: `kelas help COMMAND` and `kelas COMMAND -h` print
// the same help to stdout and exit 0; it names the command's flags with
// their environment variables.
func TestHelpOfEveryCommand(t *testing.T) {
	for _, c := range commands() {
		t.Run(c.name, func(t *testing.T) {
			help, stderr, err := runCmd(t, env(), "", append([]string{"help"}, strings.Fields(c.name)...)...)
			require.NoError(t, err, stderr)
			assert.Empty(t, stderr)
			assert.True(t, strings.HasPrefix(help, "Usage:\n  kelas "+c.synopsis[0]), help)
			dash, stderr, err := runCmd(t, env(), "", append(strings.Fields(c.name), "-h")...)
			require.NoError(t, err, stderr)
			assert.Equal(t, help, dash, "-h prints the same help")
			if c.name == "help" || c.name == "version" {
				return
			}
			flags := helpFlags(t, help)
			require.NotEmpty(t, flags)
			for name, env := range flags {
				assert.True(t, env == "-" || strings.HasPrefix(env, "KELAS_"), "--%s: %s", name, env)
			}
		})
	}
	// A command with one sub-command answers for it.
	admin, _, err := runCmd(t, env(), "", "help", "admin")
	require.NoError(t, err)
	dash, _, err := runCmd(t, env(), "", "admin", "-h")
	require.NoError(t, err)
	assert.Equal(t, admin, dash)
	assert.Contains(t, helpFlags(t, admin), "dpo")
	serve, _, err := runCmd(t, env(), "", "help", "serve")
	require.NoError(t, err)
	assert.Equal(t, "KELAS_ADDR", helpFlags(t, serve)["addr"])
	assert.Equal(t, "KELAS_DEMO", helpFlags(t, serve)["demo"])

	_, stderr, err := runCmd(t, env(), "", "help", "frobnicate")
	var ue usageError
	require.ErrorAs(t, err, &ue)
	assert.Contains(t, stderr, "Usage:")
}

// TestUsageAndReadmeListEveryFlag: no flag is missing from the usage or
// from the README's command table.
func TestUsageAndReadmeListEveryFlag(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	all, _, err := runCmd(t, env(), "", "help")
	require.NoError(t, err)
	for _, c := range commands() {
		help, _, err := runCmd(t, env(), "", append([]string{"help"}, strings.Fields(c.name)...)...)
		require.NoError(t, err)
		for name, env := range helpFlags(t, help) {
			assert.Contains(t, all, "--"+name, "the usage lists --%s of %s", name, c.name)
			inTable := regexp.MustCompile("`kelas " + regexp.QuoteMeta(c.name) + "[^`]*--" + name + "\\b").Match(readme)
			assert.True(t, inTable, "the README's command table lists --%s of %s", name, c.name)
			if env != "-" {
				assert.True(t, strings.Contains(string(readme), "`"+env+"`"), "the README names %s", env)
			}
		}
	}
}

// TestVersionPrintsBuildInfo: the module version and the VCS revision come
// from the build info (a test binary records no revision).
func TestVersionPrintsBuildInfo(t *testing.T) {
	out, _, err := runCmd(t, env(), "", "version")
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.GreaterOrEqual(t, len(lines), 3, out)
	assert.Equal(t, versionString(), lines[0])
	assert.Regexp(t, `^module:   kelas \S+$`, lines[1])
	assert.Regexp(t, `^revision: \S`, lines[2])
	_, stderr, err := runCmd(t, env(), "", "version", "extra")
	var ue usageError
	require.ErrorAs(t, err, &ue)
	assert.Contains(t, stderr, "Usage:")
}
