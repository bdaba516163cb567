package app

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// axeSource is axe-core (app/testdata/axe), the accessibility checker,
// injected into pages by the browser tests through DevTools, which runs it
// even though the page's own scripts are off.
//
//go:embed testdata/axe/axe.min.js
var axeSource string

// axeViolation is one rule axe found broken, with the elements breaking it.
type axeViolation struct {
	ID    string `json:"id"`
	Help  string `json:"help"`
	Nodes []struct {
		Target []any `json:"target"`
	} `json:"nodes"`
}

// axeCheck runs axe (WCAG 2.x A and AA rules) on the page the browser
// shows and fails the test for every violation.
func axeCheck(t *testing.T, ctx context.Context, what string) {
	t.Helper()
	// axe schedules its work on timers, which pages without scripts do not
	// run: scripts are switched on for the check only, and off again.
	_, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: false})
	require.NoError(t, err)
	defer func() {
		_, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
		require.NoError(t, err)
	}()
	_, err = chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](axeSource+";true"))
	require.NoError(t, err, "inject axe")
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[string](
		`axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}).then(r => JSON.stringify(r.violations))`,
		chromedp.EvalAwaitPromise))
	require.NoError(t, err, "run axe")
	var vs []axeViolation
	require.NoError(t, json.Unmarshal([]byte(raw), &vs))
	var msgs []string
	for _, v := range vs {
		var targets []string
		for _, n := range v.Nodes {
			targets = append(targets, fmt.Sprint(n.Target...))
		}
		msgs = append(msgs, fmt.Sprintf("%s (%s): %s", v.ID, v.Help, strings.Join(targets, ", ")))
	}
	require.Empty(t, msgs, "%s: accessibility violations", what)
}
