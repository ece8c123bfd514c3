package systemtest

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weirflow/weir/internal/kafkatest"
)

// The Kafka crash loops: a keyed running sum from an input topic to an output topic,
// through the Kafka source and sink, killed with SIGKILL again and again and resumed on
// one recovery directory, while the broker, a process of its own, lives on. The test
// binary is three programs here: the tests, the broker (kafkatest.ServeIfChild) and the
// job's processes (kafkaEnv beside childEnv: the flow of kafka_flow_test.go).

func init() {
	kafkatest.ServeIfChild()
	if os.Getenv(childEnv) != "" && os.Getenv(kafkaEnv) != "" {
		var spec kafkaSpec
		if err := json.Unmarshal([]byte(os.Getenv(kafkaEnv)), &spec); err != nil {
			fmt.Fprintf(os.Stderr, "systemtest: bad %s: %v\n", kafkaEnv, err)
			os.Exit(3)
		}
		os.Exit(kafkaChild(spec))
	}
}

// kafkaEnv names the variable that makes a job's process run the Kafka flow: its value is
// a kafkaSpec in JSON. The test sets it in its own environment, which the processes it
// starts inherit.
const kafkaEnv = "WEIR_SYSTEMTEST_KAFKA"

// kafkaSpec is the Kafka flow's settings.
type kafkaSpec struct {
	Brokers []string
	In, Out string        // the topics
	Exactly bool          // the sink's exactly-once mode; at-least-once otherwise
	Every   int           // the pace: a worker sleeps Pace after every Every items; 0: none
	Pace    time.Duration //
}

// kafkaKeys is the number of keys of the input: each key's records are in one partition
// of the input topic (the producer partitions by key), in order.
const kafkaKeys = 64

// kafkaInput is record i of the input: a key and an amount.
func kafkaInput(i int) *kgo.Record {
	return &kgo.Record{
		Key:   []byte(fmt.Sprintf("k%02d", mix(0, i, 7)%kafkaKeys)),
		Value: []byte(strconv.Itoa(1 + mix(0, i, 8)%100)),
	}
}

// kafkaValue is the flow's output value for a key's n-th record, whose running sum is sum:
// both, so that a record written twice, lost, or computed from a wrong state shows.
func kafkaValue(n, sum int) string { return strconv.Itoa(n) + ":" + strconv.Itoa(sum) }

// kafkaWant returns what a fault-free run writes for the input as it is in the topic:
// per key, the values in order.
func kafkaWant(t testing.TB, b *kafkatest.Broker, in string) map[string][]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	recs, err := kafkatest.ReadCommitted(ctx, b.Addrs(), in)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{}
	sums := map[string]int{}
	for _, r := range recs { // partition by partition, each in offset order: each key's order
		v, err := strconv.Atoi(string(r.Value))
		if err != nil {
			t.Fatalf("input record %d/%d: %v", r.Partition, r.Offset, err)
		}
		k := string(r.Key)
		sums[k] += v
		want[k] = append(want[k], kafkaValue(len(want[k])+1, sums[k]))
	}
	return want
}

// tally is what the output holds against what a fault-free run writes.
type tally struct {
	want, got int // records
	missing   int // wanted records not in the output
	doubled   int // copies beyond the first of wanted records
	wrong     int // records that no fault-free run writes
	reordered int // keys whose records, all in one partition, are not in the wanted order
	example   string
}

func (t tally) String() string {
	return fmt.Sprintf("%d records (want %d): %d missing, %d doubled, %d wrong, %d keys out of order",
		t.got, t.want, t.missing, t.doubled, t.wrong, t.reordered)
}

// compare tallies got, records of the output topic in partition and offset order, against
// want, per key the values in order.
func compare(want map[string][]string, got []*kgo.Record) tally {
	var t tally
	count := map[string]int{}
	byKey := map[string][]string{}
	parts := map[string]map[int32]bool{}
	for _, r := range got {
		k := string(r.Key)
		count[k+"\x00"+string(r.Value)]++
		byKey[k] = append(byKey[k], string(r.Value))
		if parts[k] == nil {
			parts[k] = map[int32]bool{}
		}
		parts[k][r.Partition] = true
	}
	t.got = len(got)
	note := func(s string) {
		if t.example == "" {
			t.example = s
		}
	}
	wanted := map[string]bool{}
	for k, vs := range want {
		t.want += len(vs)
		for _, v := range vs {
			wanted[k+"\x00"+v] = true
			switch c := count[k+"\x00"+v]; {
			case c == 0:
				t.missing++
				note(fmt.Sprintf("missing %s=%s", k, v))
			case c > 1:
				t.doubled += c - 1
			}
		}
		// The order is that of the key's partition, when its records are all in one
		// partition and none is doubled: a doubled record's copy may come anywhere.
		if len(parts[k]) == 1 && len(byKey[k]) == len(vs) && !slices.Equal(byKey[k], vs) {
			t.reordered++
			note(fmt.Sprintf("key %s's values %v, want %v", k, head(byKey[k]), head(vs)))
		}
	}
	for kv, c := range count {
		if !wanted[kv] {
			t.wrong += c
			note(fmt.Sprintf("unexpected %q", strings.Replace(kv, "\x00", "=", 1)))
		}
	}
	return t
}

// head returns the first few of vs.
func head(vs []string) []string { return vs[:min(len(vs), 6)] }

// TestKafkaCompare checks the crash loops' judge on output it must find wrong: a record
// lost, one written twice, one with a wrong sum, one key's records swapped.
func TestKafkaCompare(t *testing.T) {
	want := map[string][]string{"a": {"1:5", "2:7", "3:10"}, "b": {"1:1"}}
	rec := func(k, v string, p int32) *kgo.Record {
		return &kgo.Record{Key: []byte(k), Value: []byte(v), Partition: p}
	}
	good := []*kgo.Record{rec("a", "1:5", 0), rec("a", "2:7", 0), rec("a", "3:10", 0), rec("b", "1:1", 1)}
	for _, c := range []struct {
		name string
		got  []*kgo.Record
		want tally
	}{
		{"right", good, tally{}},
		{"lost", []*kgo.Record{good[0], good[2], good[3]}, tally{missing: 1}},
		{"doubled", []*kgo.Record{good[0], good[1], good[2], good[1], good[2], good[3]}, tally{doubled: 2}},
		{"wrong", []*kgo.Record{good[0], good[1], rec("a", "3:11", 0), good[3]}, tally{missing: 1, wrong: 1, reordered: 1}},
		{"swapped", []*kgo.Record{good[1], good[0], good[2], good[3]}, tally{reordered: 1}},
	} {
		got := compare(want, c.got)
		got.want, got.got, got.example = 0, 0, ""
		if got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

// kafkaLoop is one crash loop's settings.
type kafkaLoop struct {
	layout  layout
	exactly bool
	records int           // input records
	kills   int           // SIGKILLs before the job may finish
	window  time.Duration // a kill comes up to this long after a launch's first commit
}

// TestKafkaCrashLoop runs the keyed running sum from topic to topic in exactly-once mode
// and in at-least-once mode, on 1 process of 2 workers and on 2 processes of 1, killing a
// process with SIGKILL at a random moment after each launch's first committed epoch and
// starting the job again on the same recovery directory, until it has been killed as
// often as asked and then runs to the end of its input. A read_committed consumer of the
// output topic then sees exactly the fault-free run's records in exactly-once mode (no
// record lost, none doubled, every sum right, each key's in order), and every one of them
// in at-least-once mode, where duplicates are counted. What a fault-free run writes is
// computed from the input topic (kafkaWant), and checked first against a run without
// kills. The short version kills a few times; WEIR_SYSTEMTEST_LONG=1 hundreds.
func TestKafkaCrashLoop(t *testing.T) {
	b := kafkatest.StartProcess(t)
	loops := []kafkaLoop{
		{layout{1, 2}, true, 15000, 0, 0}, // the fault-free run: the model's output, unpaced
		{layout{1, 2}, true, 15000, 3, 400 * time.Millisecond},
		{layout{1, 2}, false, 15000, 2, 400 * time.Millisecond},
		{layout{2, 1}, true, 15000, 2, 400 * time.Millisecond},
	}
	if long() {
		loops = []kafkaLoop{
			loops[0],
			// A launch reads about 800 records a process before its kill: the inputs
			// outlast the kills, and the last launch reads the rest.
			{layout{1, 2}, true, 300_000, 200, 300 * time.Millisecond},
			{layout{1, 2}, false, 150_000, 100, 300 * time.Millisecond},
			{layout{2, 1}, true, 300_000, 100, 300 * time.Millisecond},
			{layout{2, 1}, false, 150_000, 50, 300 * time.Millisecond},
		}
	}
	for _, l := range loops {
		mode := "at-least-once"
		if l.exactly {
			mode = "exactly-once"
		}
		if l.kills == 0 {
			mode = "fault-free"
		}
		t.Run(fmt.Sprintf("%s-%v", mode, l.layout), func(t *testing.T) { crashLoop(t, b, l) })
	}
}

// crashLoop runs one crash loop against the broker b.
func crashLoop(t *testing.T, b *kafkatest.Broker, l kafkaLoop) {
	name := strings.ReplaceAll(t.Name(), "/", "-")
	in := b.Topic(t, name+"-in", partitions)
	out := b.Topic(t, name+"-out", partitions)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := kafkatest.ProduceN(ctx, b.Addrs(), in, l.records, kafkaInput); err != nil {
		t.Fatal(err)
	}
	want := kafkaWant(t, b, in)

	// At most 4,000 records a second per process (every process's workers share the
	// pace): the short loops' 15,000 records take about 4 s on one process, 2 s on two,
	// so that the kills, each up to 0.4 s after a launch's first commit, come mid-run.
	spec := kafkaSpec{Brokers: b.Addrs(), In: in, Out: out, Exactly: l.exactly, Every: 20, Pace: 5 * time.Millisecond}
	if l.kills == 0 {
		spec.Every = 0
	}
	env, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(kafkaEnv, string(env))
	j := newJob(t, l.layout, childSpec{Flow: "kafka"}, "-s", "50ms", "-r", filepath.Join(t.TempDir(), "recovery"),
		"--recovery-partitions", "4", "--heartbeat-timeout", heartbeat.String(), "--log-interval", "0", "--log-level", "debug")
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 15))
	var resumes []time.Duration // from a launch's start to its first committed epoch
	killed, committed, resume := 0, 0, 1
	for launch := 1; ; launch++ {
		if launch > l.kills+5 {
			t.Fatalf("the job did not finish in %d launches", launch-1)
		}
		started := time.Now()
		j.start()
		if launch > 1 {
			resume = checkResumed(t, j, committed+1)
		}
		if killed == l.kills {
			if launch > 1 && j.awaitCommitted(resume, time.Minute) {
				resumes = append(resumes, time.Since(started))
			}
			j.mustSucceed(2 * time.Minute)
			break
		}
		if !j.awaitCommitted(resume, time.Minute) {
			j.mustSucceed(time.Minute)
			t.Logf("launch %d finished before it committed an epoch", launch)
			break
		}
		if launch > 1 {
			resumes = append(resumes, time.Since(started))
		}
		at := time.Duration(rng.Int64N(int64(l.window)))
		victim := rng.IntN(l.layout.processes)
		select {
		case <-j.procs[victim].done:
		case <-time.After(at):
		}
		if done(j.procs[victim]) {
			j.mustSucceed(time.Minute) // a finished job is not killed
			t.Logf("launch %d finished before its kill, %v after its first commit:\n%s", launch, at, j.stderrs())
			break
		}
		committed = j.committed()
		j.signal(victim, syscall.SIGKILL)
		killed++
		j.wait(30 * time.Second)
	}
	if killed < l.kills {
		t.Errorf("the job finished after %d kills of %d: its input is too short for the loop", killed, l.kills)
	}
	rctx, rcancel := context.WithTimeout(context.Background(), time.Minute)
	defer rcancel()
	got, err := kafkatest.ReadCommitted(rctx, b.Addrs(), out)
	if err != nil {
		t.Fatal(err)
	}
	res := compare(want, got)
	slices.Sort(resumes)
	var median time.Duration
	if len(resumes) > 0 {
		median = resumes[len(resumes)/2]
	}
	t.Logf("%d kills; a resumed launch's first commit came %v to %v after its start (median %v); output: %v",
		killed, first(resumes), last(resumes), median.Round(time.Millisecond), res)
	if res.missing > 0 || res.wrong > 0 || l.exactly && (res.doubled > 0 || res.reordered > 0) {
		t.Errorf("output against a fault-free run's: %v; e.g. %s", res, res.example)
	}
}

func first(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	return ds[0].Round(time.Millisecond)
}

func last(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	return ds[len(ds)-1].Round(time.Millisecond)
}
