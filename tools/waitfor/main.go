// Command waitfor evaluates a `pulumi.com/waitFor` JSONPath annotation against Kubernetes objects
// the way pulumi-kubernetes does: strip `jsonpath=`, split an optional `=value` outside the braces,
// unwrap the braces, root the path at `$`, select with theory/jsonpath (RFC 9535), and match when
// the selection is non-empty (and, with a value, when its first node prints as that value).
//
//	waitfor 'jsonpath={...}' < objects.jsonl    # one object per line; prints true or false per line
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/theory/jsonpath"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: waitfor 'jsonpath={...}' < objects.jsonl")
		os.Exit(2)
	}
	path, value, err := split(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	expr, err := jsonpath.NewParser().Parse(path)
	if err != nil {
		fmt.Fprintf(os.Stderr, "parsing %q: %v\n", path, err)
		os.Exit(2)
	}
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<20)
	for in.Scan() {
		var obj any
		if err := json.Unmarshal(in.Bytes(), &obj); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		nodes := expr.Select(obj)
		matched := len(nodes) > 0 && (value == "" || fmt.Sprint(nodes[0]) == value)
		fmt.Println(matched)
	}
}

// split takes `jsonpath={path}` or `jsonpath={path}=value` apart; an `=` inside the braces belongs
// to the path.
func split(raw string) (string, string, error) {
	if !strings.HasPrefix(raw, "jsonpath=") {
		return "", "", fmt.Errorf("%q does not begin with jsonpath=", raw)
	}
	raw = strings.TrimPrefix(raw, "jsonpath=")
	depth, end := 0, -1
	for i, c := range raw {
		if c == '{' {
			depth++
		} else if c == '}' {
			depth--
			if depth == 0 {
				end = i
				break
			}
		}
	}
	if !strings.HasPrefix(raw, "{") || end < 0 {
		return "", "", fmt.Errorf("%q is not wrapped in braces", raw)
	}
	path := strings.TrimSpace(raw[1:end])
	if !strings.HasPrefix(path, "$") {
		path = "$" + path
	}
	value := strings.TrimPrefix(raw[end+1:], "=")
	return path, value, nil
}
