package main

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// podsEnv runs TestStatefulSetPods, which needs root, ip and unshare.
const podsEnv = "DEPLOY_PODS_TEST"

// TestStatefulSetPods runs the example as the pods of deploy/kubernetes would: each
// process in a network namespace of its own (one address; every process on the
// manifests' port), with the pod's name as its hostname and /etc/hosts resolving every
// pod's name under the Service, and with the container's variables from
// statefulset.yaml (the recovery directory moved to a directory per pod, the secret
// made up, as the Secret would give it). So the pods place themselves as on
// Kubernetes: process id from the hostname, addresses from the Service's names.
//
// It kills one pod with SIGKILL and wants the others to stop with status 1 within the
// heartbeat timeout, naming it; then starts all the pods again, as Kubernetes would, and
// wants them to resume: the summaries printed over both runs are those of one process.
//
// It needs root, ip and unshare, and makes namespaces: set DEPLOY_PODS_TEST=1 to run it.
func TestStatefulSetPods(t *testing.T) {
	if os.Getenv(podsEnv) != "1" {
		t.Skipf("set %s=1 to run the StatefulSet's pods in network namespaces (root, ip and unshare)", podsEnv)
	}
	sts, svc := readManifests(t)
	replicas := int(*sts.Spec.Replicas)
	c := sts.Spec.Template.Spec.Containers[0]
	port := c.Ports[0].ContainerPort
	tmp := t.TempDir()
	secret := make([]byte, 32)
	rand.Read(secret)

	if _, err := os.Stat("/etc/netns"); os.IsNotExist(err) {
		t.Cleanup(func() { os.Remove("/etc/netns") }) // after the pods' folders in it
	}

	// The pods' network: a bridge in a namespace of its own, a namespace per pod.
	tag := fmt.Sprintf("wd%d", os.Getpid()%100000)
	ip := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	bridge := tag + "-br"
	ip("netns", "add", bridge)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", bridge).Run() })
	ip("-n", bridge, "link", "add", "br0", "type", "bridge")
	ip("-n", bridge, "link", "set", "br0", "up")
	var hosts strings.Builder
	hosts.WriteString("127.0.0.1 localhost\n")
	for k := range replicas {
		fmt.Fprintf(&hosts, "10.250.%d.%d %s-%d.%s\n", os.Getpid()%200, 10+k, sts.Name, k, svc.Name)
	}
	pods := make([]string, replicas)
	for k := range replicas {
		ns := fmt.Sprintf("%s-%d", tag, k)
		pods[k] = ns
		ip("netns", "add", ns)
		t.Cleanup(func() {
			exec.Command("ip", "netns", "del", ns).Run()
			os.RemoveAll(filepath.Join("/etc/netns", ns))
		})
		veth := fmt.Sprintf("v%s-%d", tag, k)
		ip("-n", bridge, "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns)
		ip("-n", bridge, "link", "set", veth, "master", "br0", "up")
		ip("-n", ns, "addr", "add", fmt.Sprintf("10.250.%d.%d/24", os.Getpid()%200, 10+k), "dev", "eth0")
		ip("-n", ns, "link", "set", "eth0", "up")
		ip("-n", ns, "link", "set", "lo", "up")
		// ip netns exec mounts /etc/netns/NS/hosts over /etc/hosts: the cluster's DNS.
		if err := os.MkdirAll(filepath.Join("/etc/netns", ns), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join("/etc/netns", ns, "hosts"), []byte(hosts.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	run := func(args ...string) *processes {
		cmds := make([]*exec.Cmd, replicas)
		for k := range replicas {
			env := []string{asMain + "=1"}
			for _, e := range c.Env {
				switch {
				case e.Name == "WEIR_RECOVERY_DIRECTORY":
					env = append(env, e.Name+"="+filepath.Join(tmp, fmt.Sprintf("volume-%d", k), "recovery"))
				case e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil:
					env = append(env, e.Name+"="+base64.StdEncoding.EncodeToString(secret))
				case e.ValueFrom == nil:
					env = append(env, e.Name+"="+e.Value)
				default:
					t.Fatalf("%s: a value from %v, which this test cannot give", e.Name, e.ValueFrom)
				}
			}
			host := fmt.Sprintf("%s-%d", sts.Name, k)
			cmd := exec.Command("ip", append([]string{"netns", "exec", pods[k], "unshare", "--uts",
				"sh", "-c", `hostname "$0" && exec "$@"`, host, os.Args[0]}, args...)...)
			cmd.Env = append(withoutWeir(os.Environ()), env...)
			cmds[k] = cmd
		}
		return start(t, cmds)
	}

	// A pod lost: the others stop, naming it. Epochs of 100 ms (the manifest leaves the
	// default 10 s) so that some are committed before.
	p := run("-s", "100ms", "--interval", "5ms")
	for !p.printed(300) {
		select {
		case <-time.After(60 * time.Second):
			t.Fatalf("no summary of 300 readings after 60 s: %s", p.errs[0])
		case k := <-p.done:
			t.Fatalf("pod %d ended: %v: %s", k, p.results[k], p.errs[k])
		case <-time.After(20 * time.Millisecond):
		}
	}
	lost := 1
	killed := time.Now()
	p.cmds[lost].Process.Kill()
	first, _ := p.wait(t, 0)
	took := time.Since(killed)
	peer := fmt.Sprintf("process %d (%s-%d.%s:%d)", lost, sts.Name, lost, svc.Name, port)
	for k, err := range p.results {
		if k == lost {
			continue
		}
		if code := p.cmds[k].ProcessState.ExitCode(); code != 1 || !strings.Contains(p.errs[k].String(), peer) {
			t.Errorf("pod %d: %v, want status 1 and an error naming %s: %s", k, err, peer, p.errs[k])
		}
	}
	if took > 10*time.Second {
		t.Errorf("the other pods stopped %v after the kill, later than the default heartbeat timeout", took)
	}
	t.Logf("pod %d killed: the others stopped within %v", lost, took.Round(time.Millisecond))

	// All restarted: they resume, and go on to 600 readings.
	p = run("-s", "100ms", "--interval", "0", "--count", "600")
	second, errs := p.wait(t, 600)
	for k, err := range errs {
		if err != nil {
			t.Errorf("pod %d after the restart: %v", k, err)
		}
		if !strings.Contains(p.errs[k].String(), `from="epoch `) {
			t.Errorf("pod %d did not resume from a committed epoch: %s", k, p.errs[k])
		}
	}
	want, errs := cluster(t, 600, []string{filepath.Join(tmp, "one")})
	if errs[0] != nil {
		t.Fatal(errs[0])
	}
	got := append(first, second...)
	slices.Sort(got)
	got = slices.Compact(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("the pods printed\n%s\none process printed\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// readManifests decodes deploy/kubernetes' StatefulSet and Service (deploy's own test
// checks them strictly and against each other).
func readManifests(t *testing.T) (*appsv1.StatefulSet, *corev1.Service) {
	t.Helper()
	var sts appsv1.StatefulSet
	var svc corev1.Service
	for f, into := range map[string]any{"statefulset.yaml": &sts, "service.yaml": &svc} {
		data, err := os.ReadFile(filepath.Join("..", "kubernetes", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := yaml.UnmarshalStrict(data, into); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	return &sts, &svc
}

// withoutWeir returns env without WEIR_ variables, so that only the manifest's reach the
// pods.
func withoutWeir(env []string) []string {
	return slices.DeleteFunc(slices.Clone(env), func(kv string) bool { return strings.HasPrefix(kv, "WEIR_") })
}
