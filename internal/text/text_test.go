package text

import "testing"

func TestTrimEOL(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"", ""},
		{"a", "a"},
		{"a\n", "a"},
		{"a\r\n", "a"},
		{"a\r", "a\r"},
		{"\n", ""},
		{"\r\n", ""},
		{"a\r\r\n", "a\r"},
	} {
		if got := TrimEOL(tt.in); got != tt.want {
			t.Errorf("TrimEOL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
