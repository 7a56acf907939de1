package markdown

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

const doc = "# x\n\n```\ngo run ./x\n```\n\n<!-- output of: go run ./x -n 2 -->\n\n```\ncount: 2\n```\n" +
	"text\n  ```go\n  x := 1\n  ```\n<!-- output of: go run ./y -->\nnot a block\n```\nunclosed"

func TestBlocks(t *testing.T) {
	lines := strings.Split(doc, "\n")
	assert.Equal(t, []Block{
		{Info: "", Start: 3, End: 4},
		{Info: "", Command: "go run ./x -n 2", Start: 9, End: 10},
		{Info: "go", Start: 13, End: 14},
		{Info: "", Start: 18, End: 19}, // the marker is not the line just above
	}, Blocks(lines))
	assert.Equal(t, []string{"# x", "", "", "<!-- output of: go run ./x -n 2 -->", "", "text",
		"<!-- output of: go run ./y -->", "not a block"}, Prose(lines))
}
