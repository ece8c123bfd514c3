package kafkatest

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

// childEnv names the variable that makes a test binary a broker process (ServeIfChild).
const childEnv = "WEIR_KAFKATEST_BROKER"

// addrPrefix starts the line a broker process prints its address on.
const addrPrefix = "kafkatest: broker listening on "

// Serve runs a broker until SIGINT or SIGTERM (or, with -stdin, until its standard input
// ends: a child of a test dies with the test that started it). It prints
// "kafkatest: broker listening on host:port" to out once it listens. args are its flags:
// -port (0: a free one), -topic name:partitions (repeatable), -stdin.
func Serve(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("broker", flag.ContinueOnError)
	port := fs.Int("port", 0, "the port to listen on (0: a free one)")
	watchStdin := fs.Bool("stdin", false, "exit when standard input ends")
	var topics []kfake.Opt
	fs.Func("topic", "a topic to create, as name:partitions (repeatable)", func(s string) error {
		name, n, ok := strings.Cut(s, ":")
		parts, err := strconv.Atoi(n)
		if !ok || err != nil || parts < 1 || name == "" {
			return fmt.Errorf("want name:partitions, got %q", s)
		}
		topics = append(topics, kfake.SeedTopics(int32(parts), name))
		return nil
	})
	if err := fs.Parse(args); err != nil {
		return err
	}
	b, err := NewCluster(append(topics, kfake.Ports(*port))...)
	if err != nil {
		return err
	}
	defer b.Close()
	fmt.Fprintln(out, addrPrefix+strings.Join(b.Addrs(), ","))
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	ended := make(chan struct{})
	if *watchStdin {
		go func() { io.Copy(io.Discard, os.Stdin); close(ended) }()
	}
	select {
	case <-stop:
	case <-ended:
	}
	return nil
}

// ServeIfChild makes this process a broker and exits when StartProcess started it; it
// returns at once otherwise. A test package that calls StartProcess calls it from an init
// function (or first thing in TestMain), since StartProcess re-executes the test binary.
func ServeIfChild() {
	env, ok := os.LookupEnv(childEnv) // set, if empty, by StartProcess without topics
	if !ok {
		return
	}
	var args []string
	for a := range strings.SplitSeq(env, " ") {
		if a != "" {
			args = append(args, a)
		}
	}
	if err := Serve(append(args, "-stdin"), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	os.Exit(0)
}

// StartProcess returns the real cluster WEIR_KAFKA_BROKERS names, or else a broker in a
// process of its own, the test binary re-executed, which outlives any process the test
// kills and ends with the test's cleanup (or with the test process itself: it exits when
// its standard input closes). topics are created in it at start, as name:partitions; on a
// real cluster, create them with Topic instead. The test binary must call ServeIfChild.
func StartProcess(t testing.TB, topics ...string) *Broker {
	t.Helper()
	if addrs := EnvBrokers(); addrs != nil {
		t.Logf("kafkatest: the real cluster at %s (%s)", strings.Join(addrs, ","), BrokersEnv)
		return Existing(addrs)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var args []string
	for _, tp := range topics {
		args = append(args, "-topic", tp)
	}
	// -test.run matches nothing: a binary that does not call ServeIfChild runs no test and
	// exits, and the missing address says what is wrong.
	cmd := exec.Command(self, "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+strings.Join(args, " "))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("kafkatest: start the broker process: %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	stop := func() error {
		stdin.Close()
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		return nil
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), addrPrefix); ok {
				addr <- a
				break
			}
		}
		io.Copy(io.Discard, stdout)
		close(addr)
	}()
	var a string
	select {
	case a = <-addr:
	case <-time.After(30 * time.Second):
	}
	if a == "" {
		stop()
		t.Fatalf("%v (does the test binary call kafkatest.ServeIfChild?)", ErrNoBroker)
	}
	b := &Broker{addrs: strings.Split(a, ","), stop: stop}
	t.Cleanup(func() { b.Close() })
	t.Logf("kafkatest: a broker process (pid %d) at %s", cmd.Process.Pid, a)
	return b
}
