package cluster_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"etcd-lock-workshop/internal/cluster"
	"etcd-lock-workshop/internal/workshop"
)

// With 2 of 3 members down, the one left answers but cannot serve a read: a
// chapter must say "no quorum" and name who answers, not "is it running?".
func TestNoQuorumIsNamed(t *testing.T) {
	ctx := context.Background()
	c, err := cluster.Start(ctx, 3, workshop.EmbeddedOptions{})
	require.NoError(t, err)
	defer c.Close()
	for _, m := range c.Members[1:] {
		_, err := c.Stop(ctx, m.Name)
		require.NoError(t, err)
	}
	_, err = workshop.NewClient(ctx, c.Endpoints(), 2*time.Second)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "has no quorum (no leader)")
	assert.Contains(t, err.Error(), "members answering: "+c.Members[0].ClientURL+";")
	assert.Contains(t, err.Error(), "not answering: "+c.Members[1].ClientURL+","+c.Members[2].ClientURL)
}
