// Command broker runs franz-go's Kafka-protocol test broker (kfake) on its own until
// interrupted, and prints the address it listens on:
//
//	go run ./internal/kafkatest/cmd/broker -port 9092 -topic in:4 -topic out:4
//
// It keeps everything in memory: stopping it loses every topic. It is what weir's
// multi-process Kafka tests start, and a broker to try the Kafka example against without
// installing Kafka.
package main

import (
	"fmt"
	"os"

	"github.com/weirflow/weir/internal/kafkatest"
)

func main() {
	if err := kafkatest.Serve(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
}
