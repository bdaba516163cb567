package store

import (
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEveryPersonalColumnIsTold: the privacy notice tells of every personal
// column of the data map in a plain sentence, so a new column cannot go
// untold. Each column is in exactly one item; an item names only personal
// columns the data map has; an item's columns belong to one category (the
// notice lists items by category) and are all sealed or none (the notice
// says of each item whether it is encrypted, which would be half true for
// a mixed one: split the item instead).
func TestEveryPersonalColumnIsTold(t *testing.T) {
	byKey := map[string]Field{}
	for _, f := range DataMap() {
		if !f.Personal {
			assert.Empty(t, f.Plain, "%s.%s is not personal data; the notice does not tell of it", f.Table, f.Column)
			continue
		}
		k := f.Table + "." + f.Column
		_, dup := byKey[k]
		require.False(t, dup, "%s: personal tables must be named alike in one database only", k)
		byKey[k] = f
		assert.NotEmpty(t, f.Plain, "%s (%s) is told by no item of the privacy notice: add it to plainItems in store/datamap_notice.go", k, f.Category)
	}

	code := regexp.MustCompile(`^[a-z][a-z_]*$`)
	seen := map[string]string{}
	codes := map[string]bool{}
	for _, it := range plainItems() {
		assert.Regexp(t, code, it.code)
		assert.False(t, codes[it.code], "item %s listed twice", it.code)
		codes[it.code] = true
		require.NotEmpty(t, it.columns, it.code)
		first, ok := byKey[it.columns[0]]
		for _, c := range it.columns {
			f, personal := byKey[c]
			if !assert.True(t, personal, "item %s names %s, which is no personal column of the data map", it.code, c) {
				continue
			}
			if prev, dup := seen[c]; dup {
				t.Errorf("%s is told by two items, %s and %s", c, prev, it.code)
			}
			seen[c] = it.code
			if ok {
				assert.Equal(t, first.Category, f.Category, "item %s mixes categories (%s)", it.code, c)
				assert.Equal(t, first.Encrypted, f.Encrypted, "item %s mixes sealed and unsealed columns (%s): split it", it.code, c)
			}
		}
	}
	assert.Equal(t, len(codes), len(PlainItems()))
}
