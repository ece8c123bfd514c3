package deploy

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"

	"github.com/weirflow/weir/run"
)

// manifestDir is what the README tells users to apply: kubectl apply -f deploy/kubernetes/.
const manifestDir = "kubernetes"

const (
	// secretEnv is the variable run.Main reads the cluster secret itself from: the
	// variable of --cluster-secret-file's secret, not of the file's name.
	secretEnv  = "WEIR_CLUSTER_SECRET"
	secretFlag = "cluster-secret-file"
)

// inPod are flags that a pod of the StatefulSet must not set: its process id and the
// addresses come from its hostname and the Service, and --processes would launch local
// copies of the program inside the pod.
var inPod = map[string]string{
	"process-id": "the process id is the pod's ordinal",
	"addresses":  "the addresses are derived from the Service",
	"processes":  "it launches local processes",
}

// manifests is what kubectl creates from manifestDir.
type manifests struct {
	sts *appsv1.StatefulSet
	svc *corev1.Service
}

// loadManifests decodes every file that kubectl apply -f would read from dir, strictly:
// a field the Kubernetes API does not have (a typo, a wrong indentation) is an error
// here, where kubectl apply might only warn or drop it.
func loadManifests(dir string) (*manifests, error) {
	var files []string
	for _, ext := range []string{"*.yaml", "*.yml", "*.json"} {
		f, err := filepath.Glob(filepath.Join(dir, ext))
		if err != nil {
			return nil, err
		}
		files = append(files, f...)
	}
	var m manifests
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		if err := m.decode(data); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
	}
	if m.sts == nil || m.svc == nil {
		return nil, fmt.Errorf("%s: want a StatefulSet and a Service, found StatefulSet %t, Service %t", dir, m.sts != nil, m.svc != nil)
	}
	return &m, nil
}

var documentSeparator = regexp.MustCompile(`(?m)^---`)

// decode decodes one manifest into m by its apiVersion and kind, strictly.
func (m *manifests) decode(data []byte) error {
	if documentSeparator.Match(data) {
		return errors.New("holds a document separator: keep one object per file")
	}
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(data, &tm); err != nil {
		return err
	}
	var into any
	switch tm.APIVersion + " " + tm.Kind {
	case "apps/v1 StatefulSet":
		if m.sts != nil {
			return errors.New("a second StatefulSet")
		}
		m.sts = &appsv1.StatefulSet{}
		into = m.sts
	case "v1 Service":
		if m.svc != nil {
			return errors.New("a second Service")
		}
		m.svc = &corev1.Service{}
		into = m.svc
	default:
		return fmt.Errorf("apiVersion %q kind %q: this test checks no such object; teach it to before adding one", tm.APIVersion, tm.Kind)
	}
	return yaml.UnmarshalStrict(data, into)
}

// runFlags is what run.Main reads: its flags, and the WEIR_ variable of each long flag.
type runFlags struct {
	all    []*flag.Flag
	byName map[string]*flag.Flag // a short or long name → its flag
	env    map[string]*flag.Flag // WEIR_X_Y → --x-y
	long   map[flag.Value]string // a flag's value → its long name, so that -w reads as --workers-per-process
	vars   []string              // every variable run.Main reads, sorted, for messages
}

// envName is the variable of a long flag: WEIR_ and the name upper-cased, - as _.
func envName(long string) string {
	return "WEIR_" + strings.ToUpper(strings.ReplaceAll(long, "-", "_"))
}

func readRunFlags(fs *flag.FlagSet) runFlags {
	rf := runFlags{env: map[string]*flag.Flag{}, long: map[flag.Value]string{}, byName: map[string]*flag.Flag{}}
	fs.VisitAll(func(f *flag.Flag) {
		rf.all = append(rf.all, f)
		rf.byName[f.Name] = f
		if len(f.Name) > 1 {
			rf.env[envName(f.Name)] = f
			rf.long[f.Value] = f.Name
			rf.vars = append(rf.vars, envName(f.Name))
		}
	})
	if rf.byName[secretFlag] != nil {
		rf.vars = append(rf.vars, secretEnv)
	}
	slices.Sort(rf.vars)
	return rf
}

// longName is the long name of f, also when f is a short flag sharing its value.
func (rf runFlags) longName(f *flag.Flag) string {
	if l, ok := rf.long[f.Value]; ok {
		return l
	}
	return f.Name
}

// recorder passes a flag's value to run's own parser, which checks it, and records it
// under the flag's long name.
type recorder struct {
	flag.Value
	long string
	got  map[string]string
}

func (r recorder) Set(s string) error {
	if err := r.Value.Set(s); err != nil {
		return err
	}
	r.got[r.long] = s
	return nil
}

func (r recorder) IsBoolFlag() bool {
	b, ok := r.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// check returns every way in which m disagrees with itself or with what run.Main reads.
func check(m *manifests, rf runFlags) []string {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	sts, svc := m.sts, m.svc

	if sts.APIVersion != "apps/v1" || sts.Kind != "StatefulSet" {
		bad("StatefulSet: apiVersion %q kind %q, want apps/v1 StatefulSet", sts.APIVersion, sts.Kind)
	}
	if svc.APIVersion != "v1" || svc.Kind != "Service" {
		bad("Service: apiVersion %q kind %q, want v1 Service", svc.APIVersion, svc.Kind)
	}

	// The Service: headless, and publishing pods before they are ready, so that the
	// processes find each other while they wait for each other.
	if svc.Spec.ClusterIP != corev1.ClusterIPNone {
		bad("Service %s: clusterIP %q, want None (headless: each pod's own DNS name)", svc.Name, svc.Spec.ClusterIP)
	}
	if !svc.Spec.PublishNotReadyAddresses {
		bad("Service %s: publishNotReadyAddresses is not true: pods could not find each other before they are ready", svc.Name)
	}
	if sts.Spec.ServiceName != svc.Name {
		bad("StatefulSet %s: serviceName %q, but the Service is %q", sts.Name, sts.Spec.ServiceName, svc.Name)
	}
	if sts.Spec.Replicas == nil || *sts.Spec.Replicas < 1 {
		bad("StatefulSet %s: replicas not set", sts.Name)
	}
	if sts.Spec.PodManagementPolicy != appsv1.ParallelPodManagement {
		bad("StatefulSet %s: podManagementPolicy %q, want Parallel (the processes wait for each other)", sts.Name, sts.Spec.PodManagementPolicy)
	}

	// Labels: the StatefulSet's selector and the Service's both select the pods.
	podLabels := labels.Set(sts.Spec.Template.Labels)
	if sel, err := metav1.LabelSelectorAsSelector(sts.Spec.Selector); err != nil || sel.Empty() || !sel.Matches(podLabels) {
		bad("StatefulSet %s: the selector %v does not select the pod labels %v (%v)", sts.Name, sts.Spec.Selector, podLabels, err)
	}
	if len(svc.Spec.Selector) == 0 || !labels.SelectorFromSet(svc.Spec.Selector).Matches(podLabels) {
		bad("Service %s: the selector %v does not select the pod labels %v", svc.Name, svc.Spec.Selector, podLabels)
	}

	pod := sts.Spec.Template.Spec
	if g := pod.TerminationGracePeriodSeconds; g == nil || *g < 30 {
		bad("StatefulSet %s: terminationGracePeriodSeconds %v, want it set, at least Kubernetes' default 30, for SIGTERM to stop the run cleanly", sts.Name, g)
	}
	if len(pod.Containers) != 1 {
		bad("StatefulSet %s: %d containers, want the weir program's alone", sts.Name, len(pod.Containers))
		return problems
	}
	c := pod.Containers[0]
	if c.Image == "" {
		bad("container %s: no image", c.Name)
	}
	if len(c.Resources.Requests) == 0 {
		bad("container %s: no resource requests", c.Name)
	}

	// The settings the container gives run.Main: its WEIR_ variables, then its flags, which
	// beat them.
	settings := map[string]string{}
	if len(c.EnvFrom) > 0 {
		bad("container %s: envFrom hides the variables' names from this check: list each in env", c.Name)
	}
	seen := map[string]bool{}
	for _, e := range c.Env {
		if seen[e.Name] {
			bad("container %s: %s is set twice", c.Name, e.Name)
		}
		seen[e.Name] = true
		if !strings.HasPrefix(e.Name, "WEIR_") {
			continue
		}
		if e.Name == secretEnv && rf.byName[secretFlag] != nil {
			if e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil || e.Value != "" {
				bad("container %s: %s must come from a Secret (valueFrom.secretKeyRef), not be written in the manifest", c.Name, e.Name)
			}
			continue
		}
		f := rf.env[e.Name]
		if f == nil {
			bad("container %s: %s is no variable run.Main reads (it reads %s)", c.Name, e.Name, strings.Join(rf.vars, ", "))
			continue
		}
		if why, ok := inPod[f.Name]; ok {
			bad("container %s: %s must not be set in a pod: %s", c.Name, e.Name, why)
			continue
		}
		if e.ValueFrom != nil {
			continue // its value is known only in the pod
		}
		if err := f.Value.Set(e.Value); err != nil {
			bad("container %s: %s=%q: run.Main would refuse it: %v", c.Name, e.Name, e.Value, err)
			continue
		}
		settings[f.Name] = e.Value
	}
	args := c.Args
	if len(c.Command) > 0 {
		args = append(slices.Clone(c.Command[1:]), c.Args...)
	}
	fs := flag.NewFlagSet(c.Name, flag.ContinueOnError)
	fs.SetOutput(discard{})
	for _, f := range rf.all {
		fs.Var(recorder{Value: f.Value, long: rf.longName(f), got: settings}, f.Name, f.Usage)
	}
	if err := fs.Parse(args); err != nil {
		bad("container %s: args %q: run.Main would refuse them: %v", c.Name, args, err)
	}
	fs.Visit(func(f *flag.Flag) {
		long := rf.longName(rf.byName[f.Name])
		if why, ok := inPod[long]; ok {
			bad("container %s: -%s must not be given in a pod: %s", c.Name, f.Name, why)
		}
	})

	// What the pods derive their cluster from: the Service's name, the process count and
	// the port.
	if got := settings["statefulset-service"]; got != svc.Name || got != sts.Spec.ServiceName {
		bad("container %s: %s %q, want the Service's name %q, the StatefulSet's serviceName %q", c.Name, envName("statefulset-service"), got, svc.Name, sts.Spec.ServiceName)
	}
	if sts.Spec.Replicas != nil {
		if got, want := settings["statefulset-replicas"], strconv.Itoa(int(*sts.Spec.Replicas)); got != want {
			bad("container %s: %s %q, but the StatefulSet has %s replicas", c.Name, envName("statefulset-replicas"), got, want)
		}
	}
	port, err := strconv.Atoi(settings["cluster-port"])
	if err != nil {
		bad("container %s: %s %q: set it to the container's cluster port", c.Name, envName("cluster-port"), settings["cluster-port"])
	}
	var named *corev1.ContainerPort
	for i, p := range c.Ports {
		if int(p.ContainerPort) == port {
			named = &c.Ports[i]
		}
	}
	if named == nil || named.Name == "" {
		bad("container %s: no named containerPort %d (%s)", c.Name, port, envName("cluster-port"))
	} else {
		found := false
		for _, sp := range svc.Spec.Ports {
			target := sp.TargetPort
			if target == (intstr.IntOrString{}) {
				target = intstr.FromInt32(sp.Port) // Kubernetes' default
			}
			toPod := (target.Type == intstr.String && target.StrVal == named.Name) ||
				(target.Type == intstr.Int && target.IntVal == named.ContainerPort)
			found = found || (int(sp.Port) == port && toPod)
		}
		if !found {
			bad("Service %s: no port %d to the container's port %s (%d): pods reach each other at <pod>.%s:%d", svc.Name, port, named.Name, named.ContainerPort, svc.Name, port)
		}
	}

	// The recovery directory: on the pod's own volume claim, which outlives the pod.
	dir := settings["recovery-directory"]
	claims := map[string]bool{}
	for _, t := range sts.Spec.VolumeClaimTemplates {
		claims[t.Name] = true
	}
	for _, v := range pod.Volumes {
		delete(claims, v.Name) // a pod volume of the same name would be mounted instead
	}
	onClaim := false
	for _, vm := range c.VolumeMounts {
		mp := strings.TrimSuffix(vm.MountPath, "/")
		if claims[vm.Name] && !vm.ReadOnly && (dir == mp || strings.HasPrefix(dir, mp+"/")) {
			onClaim = true
		}
	}
	if !onClaim {
		bad("container %s: %s %q is not on a writable mount of a volumeClaimTemplate: the pod's partitions would be lost with the pod", c.Name, envName("recovery-directory"), dir)
	}
	return problems
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func TestManifestsMatchRunMain(t *testing.T) {
	m, err := loadManifests(manifestDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range check(m, readRunFlags(run.Flags())) {
		t.Error(p)
	}
}

// TestCheckFindsMistakes makes one mistake at a time in the manifests and wants check to
// name it: a check that passes whatever the manifests say would prove nothing.
func TestCheckFindsMistakes(t *testing.T) {
	good, err := loadManifests(manifestDir)
	if err != nil {
		t.Fatal(err)
	}
	rf := readRunFlags(run.Flags())
	container := func(m *manifests) *corev1.Container { return &m.sts.Spec.Template.Spec.Containers[0] }
	setEnv := func(m *manifests, name, value string) {
		c := container(m)
		for i := range c.Env {
			if c.Env[i].Name == name {
				c.Env[i].Value = value
				return
			}
		}
		c.Env = append(c.Env, corev1.EnvVar{Name: name, Value: value})
	}
	renameEnv := func(m *manifests, from, to string) {
		c := container(m)
		for i := range c.Env {
			if c.Env[i].Name == from {
				c.Env[i].Name = to
			}
		}
	}
	tests := []struct {
		name   string
		change func(m *manifests)
		want   string
	}{
		{"misspelled variable", func(m *manifests) { renameEnv(m, "WEIR_WORKERS_PER_PROCESS", "WEIR_WORKER_PER_PROCESS") },
			"WEIR_WORKER_PER_PROCESS is no variable run.Main reads"},
		{"misspelled flag", func(m *manifests) { container(m).Args = []string{"--worker-per-process", "2"} },
			"flag provided but not defined: -worker-per-process"},
		{"flag with a bad value", func(m *manifests) { container(m).Args = []string{"-s", "ten"} },
			`invalid value "ten" for flag -s`},
		{"variable with a bad value", func(m *manifests) { setEnv(m, "WEIR_LOG_LEVEL", "loud") },
			`WEIR_LOG_LEVEL="loud": run.Main would refuse it`},
		{"variable set twice", func(m *manifests) {
			c := container(m)
			c.Env = append(c.Env, corev1.EnvVar{Name: "WEIR_WORKERS_PER_PROCESS", Value: "1"})
		}, "WEIR_WORKERS_PER_PROCESS is set twice"},
		{"envFrom", func(m *manifests) {
			container(m).EnvFrom = []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{}}}
		}, "envFrom hides"},
		{"process id in the environment", func(m *manifests) { setEnv(m, "WEIR_PROCESS_ID", "0") },
			"WEIR_PROCESS_ID must not be set in a pod"},
		{"addresses as a flag", func(m *manifests) { container(m).Args = []string{"-a", "weir-0.weir:9000;weir-1.weir:9000"} },
			"-a must not be given in a pod"},
		{"replicas disagree", func(m *manifests) { n := int32(4); m.sts.Spec.Replicas = &n },
			"WEIR_STATEFULSET_REPLICAS \"3\", but the StatefulSet has 4 replicas"},
		{"replicas disagree through a flag", func(m *manifests) { container(m).Args = []string{"--statefulset-replicas", "2"} },
			"WEIR_STATEFULSET_REPLICAS \"2\", but the StatefulSet has 3 replicas"},
		{"service name", func(m *manifests) { setEnv(m, "WEIR_STATEFULSET_SERVICE", "weir-headless") },
			`WEIR_STATEFULSET_SERVICE "weir-headless", want the Service's name "weir"`},
		{"serviceName", func(m *manifests) { m.sts.Spec.ServiceName = "other" }, `serviceName "other"`},
		{"not headless", func(m *manifests) { m.svc.Spec.ClusterIP = "" }, "want None"},
		{"ready addresses only", func(m *manifests) { m.svc.Spec.PublishNotReadyAddresses = false }, "publishNotReadyAddresses"},
		{"pods one by one", func(m *manifests) { m.sts.Spec.PodManagementPolicy = appsv1.OrderedReadyPodManagement }, "podManagementPolicy"},
		{"cluster port", func(m *manifests) { setEnv(m, "WEIR_CLUSTER_PORT", "9001") }, "no named containerPort 9001"},
		{"service port", func(m *manifests) { m.svc.Spec.Ports[0].Port = 9001 }, "Service weir: no port 9000"},
		{"service target", func(m *manifests) { m.svc.Spec.Ports[0].TargetPort = intstr.FromString("http") }, "Service weir: no port 9000"},
		{"service selector", func(m *manifests) { m.svc.Spec.Selector = map[string]string{"app": "other"} }, "Service weir: the selector"},
		{"statefulset selector", func(m *manifests) {
			m.sts.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "other"}}
		}, "StatefulSet weir: the selector"},
		{"recovery off the claim", func(m *manifests) { setEnv(m, "WEIR_RECOVERY_DIRECTORY", "/tmp/recovery") },
			"is not on a writable mount of a volumeClaimTemplate"},
		{"no claim", func(m *manifests) { m.sts.Spec.VolumeClaimTemplates = nil }, "is not on a writable mount of a volumeClaimTemplate"},
		{"secret in the manifest", func(m *manifests) {
			c := container(m)
			for i := range c.Env {
				if c.Env[i].Name == secretEnv {
					c.Env[i] = corev1.EnvVar{Name: secretEnv, Value: "hunter2"}
				}
			}
		}, "must come from a Secret"},
		{"no grace period", func(m *manifests) { m.sts.Spec.Template.Spec.TerminationGracePeriodSeconds = nil }, "terminationGracePeriodSeconds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &manifests{sts: good.sts.DeepCopy(), svc: good.svc.DeepCopy()}
			tt.change(m)
			problems := check(m, rf)
			for _, p := range problems {
				if strings.Contains(p, tt.want) {
					return
				}
			}
			t.Errorf("no problem reads %q; got %q", tt.want, problems)
		})
	}
}

// TestDecodeIsStrict: a field the API does not have, as a typo or a wrong indentation
// makes, fails the decoding rather than being dropped.
func TestDecodeIsStrict(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(manifestDir, "statefulset.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ name, from, to string }{
		{"misspelled field", "podManagementPolicy:", "podManagmentPolicy:"},
		{"field at the wrong level", "      terminationGracePeriodSeconds:", "      podManagementPolicy: Parallel\n      terminationGracePeriodSeconds:"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(string(data), tt.from) {
				t.Fatalf("statefulset.yaml has no %q", tt.from)
			}
			var m manifests
			if err := m.decode([]byte(strings.Replace(string(data), tt.from, tt.to, 1))); err == nil {
				t.Errorf("decoded with %q in place of %q", tt.to, tt.from)
			}
		})
	}
	var m manifests
	if err := m.decode([]byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n")); err == nil || !strings.Contains(err.Error(), "checks no such object") {
		t.Errorf("a ConfigMap: %v, want refused as an object this test does not check", err)
	}
	if err := m.decode(append([]byte("---\n"), data...)); err == nil {
		t.Error("a file with a document separator decoded")
	}
}

// TestDocsMatchManifests: the README's commands and table and the Dockerfile name what
// the manifests use, so that following the README verbatim gives a cluster that starts.
func TestDocsMatchManifests(t *testing.T) {
	m, err := loadManifests(manifestDir)
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(manifestDir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	dockerfile, err := os.ReadFile(filepath.Join(manifestDir, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	c := m.sts.Spec.Template.Spec.Containers[0]

	build := "docker build -f deploy/kubernetes/Dockerfile -t " + c.Image + " ."
	for name, doc := range map[string][]byte{"README.md": readme, "Dockerfile": dockerfile} {
		if !strings.Contains(string(doc), build) {
			t.Errorf("%s does not say %q, which builds the StatefulSet's image", name, build)
		}
	}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil:
			ref := e.ValueFrom.SecretKeyRef
			create := "kubectl create secret generic " + ref.Name + " --from-literal=" + ref.Key + "="
			if !strings.Contains(string(readme), create) {
				t.Errorf("README.md does not create the Secret that %s reads: want %q", e.Name, create)
			}
		case e.ValueFrom == nil:
			row := "| `" + e.Name + "` | `" + e.Value + "` |"
			if !strings.Contains(string(readme), row) {
				t.Errorf("README.md's table lacks the row %q", row)
			}
		}
	}

	// The Dockerfile's default program exists, as a main package.
	arg := func(name string) string {
		m := regexp.MustCompile(`(?m)^ARG ` + name + `=(\S+)$`).FindSubmatch(dockerfile)
		if m == nil {
			t.Fatalf("the Dockerfile has no ARG %s=default", name)
		}
		return string(m[1])
	}
	dir := filepath.Join("..", arg("MODULE"), arg("PROGRAM"))
	if _, err := os.Stat(filepath.Join("..", arg("MODULE"), "go.mod")); err != nil {
		t.Errorf("the Dockerfile's MODULE: %v", err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	main := false
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		main = main || regexp.MustCompile(`(?m)^package main$`).Match(src)
	}
	if !main {
		t.Errorf("the Dockerfile's default program %s is no main package", dir)
	}
}
