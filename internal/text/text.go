// Package text holds the small text helpers that weir's line connectors share.
package text

import "strings"

// TrimEOL removes a line's ending, "\n" or "\r\n", as bufio.Reader.ReadString('\n')
// returns it. A "\r" without "\n" is part of the line.
func TrimEOL(line string) string {
	if l, ok := strings.CutSuffix(line, "\n"); ok {
		return strings.TrimSuffix(l, "\r")
	}
	return line
}
