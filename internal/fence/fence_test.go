package fence

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The rule alone: a token lower than the highest seen, read or write, is
// refused, and so is no token at all.
func TestStorageRefusesLowerTokens(t *testing.T) {
	var s Storage
	for _, step := range []struct {
		token   int64
		write   bool
		count   int
		refused bool
	}{
		{0, true, 1, true}, // no token, no write: not even on a storage that has seen none
		{-1, false, 0, true},
		{5, false, 0, false},
		{5, true, 1, false}, // the same holder again
		{7, false, 0, false},
		{5, true, 2, true}, // 7 has read: 5 may no longer write
		{5, false, 0, true},
		{7, true, 2, false},
		{9, true, 3, false},
	} {
		n, err := s.Do(step.token, step.write, step.count)
		if step.refused {
			assert.ErrorIs(t, err, ErrRefused, "token %d", step.token)
		} else if assert.NoError(t, err, "token %d", step.token) && step.write {
			assert.Equal(t, step.count, n)
		}
	}
	n, err := s.Do(9, false, 0)
	require.NoError(t, err)
	assert.Equal(t, 3, n, "refused writes changed nothing")
	assert.Equal(t, 3, s.Count())
	_, err = s.Do(4, true, 2)
	assert.EqualError(t, err, "refused by the storage: token 4 is lower than 9")
}

// Over HTTP the refusal arrives as the same error, and a write lands.
func TestClient(t *testing.T) {
	var s Storage
	url, stop, err := Serve(&s)
	require.NoError(t, err)
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := Client{URL: url}
	require.NoError(t, c.Write(ctx, 5, 1))
	n, err := c.Read(ctx, 5)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	err = c.Write(ctx, 4, 2)
	assert.ErrorIs(t, err, ErrRefused)
	assert.EqualError(t, err, "refused by the storage: token 4 is lower than 5")
	_, err = c.Read(ctx, 0)
	assert.EqualError(t, err, "refused by the storage: token 0 is lower than 5")
	assert.Equal(t, 1, s.Count())
}
