package run

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/weirflow/weir"
)

func TestFlags(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		want    Config
		wantErr string
	}{
		{name: "defaults", want: Config{Workers: 1, EpochInterval: 10 * time.Second}},
		{name: "short", args: []string{"-w", "3", "-s", "2"}, want: Config{Workers: 3, EpochInterval: 2 * time.Second}},
		{name: "long", args: []string{"--workers-per-process=4", "--snapshot-interval=250ms"}, want: Config{Workers: 4, EpochInterval: 250 * time.Millisecond}},
		{name: "env", env: map[string]string{"WEIR_WORKERS_PER_PROCESS": "2", "WEIR_SNAPSHOT_INTERVAL": "1.5"}, want: Config{Workers: 2, EpochInterval: 1500 * time.Millisecond}},
		{name: "flag beats env", env: map[string]string{"WEIR_WORKERS_PER_PROCESS": "2"}, args: []string{"-w", "5"}, want: Config{Workers: 5, EpochInterval: 10 * time.Second}},
		{name: "recovery", args: []string{"-r", "/tmp/rec", "-b", "1m"}, want: Config{Workers: 1, EpochInterval: 10 * time.Second, RecoveryDir: "/tmp/rec", BackupInterval: time.Minute}},
		{name: "recovery env", env: map[string]string{"WEIR_RECOVERY_DIRECTORY": "/d", "WEIR_BACKUP_INTERVAL": "30"}, args: []string{"--backup-interval=5s"},
			want: Config{Workers: 1, EpochInterval: 10 * time.Second, RecoveryDir: "/d", BackupInterval: 5 * time.Second}},
		{name: "bad env", env: map[string]string{"WEIR_WORKERS_PER_PROCESS": "many"}, wantErr: "WEIR_WORKERS_PER_PROCESS"},
		{name: "bad interval", args: []string{"-s", "soon"}, wantErr: "not a duration"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			fs, err := newFlagSet(DefaultConfig(), &bytes.Buffer{})
			if err == nil {
				err = fs.Parse(tt.args)
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := fs.cfg(); got != tt.want {
				t.Errorf("config = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestMainExitCodes(t *testing.T) {
	var stderr bytes.Buffer
	flow := weir.NewDataflow("bad.id")
	if code := main(context.Background(), flow, nil, &stderr, nil); code != 1 {
		t.Errorf("exit code = %d, want 1", code)
	}
	if !strings.Contains(stderr.String(), "bad.id") {
		t.Errorf("stderr = %q, want the build error naming the id", stderr.String())
	}
	stderr.Reset()
	if code := main(context.Background(), weir.NewDataflow("ok"), []string{"-w", "0"}, &stderr, nil); code != 1 {
		t.Errorf("exit code for -w 0 = %d, want 1 (%s)", code, stderr.String())
	}
	if code := main(context.Background(), weir.NewDataflow("ok"), []string{"-nope"}, &stderr, nil); code != 2 {
		t.Errorf("exit code for an unknown flag = %d, want 2", code)
	}
}
