package identity

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"kad/protocol"
)

func TestLoadOrCreateKeyCreatesAndReloads(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", "sub", "node.key")
	key, err := LoadOrCreateKey(path)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" {
		if perm := fi.Mode().Perm(); perm != 0o600 {
			t.Errorf("key file mode %04o, want 0600", perm)
		}
	}
	again, err := LoadOrCreateKey(path)
	if err != nil {
		t.Fatalf("reload: %v", err)
	}
	if !key.Equal(again) {
		t.Error("reloaded key differs from the one created")
	}
	if IDFromKey(key) != IDFromKey(again) {
		t.Error("reloaded key has another ID")
	}
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the key (no temporary files left)", len(entries))
	}
}

func TestLoadOrCreateKeyConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "node.key")
	keys := make([]ed25519.PrivateKey, 8)
	var wg sync.WaitGroup
	for i := range keys {
		wg.Go(func() {
			k, err := LoadOrCreateKey(path)
			if err != nil {
				t.Error(err)
			}
			keys[i] = k
		})
	}
	wg.Wait()
	for _, k := range keys[1:] {
		if !k.Equal(keys[0]) {
			t.Fatal("concurrent callers got different keys")
		}
	}
}

func TestLoadOrCreateKeyRefuses(t *testing.T) {
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	edDER, err := x509.MarshalPKCS8PrivateKey(edKey)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecDER, err := x509.MarshalPKCS8PrivateKey(ecKey)
	if err != nil {
		t.Fatal(err)
	}
	pemOf := func(typ string, der []byte) []byte { return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}) }

	tests := []struct {
		name string
		data []byte
		mode os.FileMode
		want string
	}{
		{"garbage", []byte("not a key at all\n"), 0o600, "no PEM block"},
		{"empty", nil, 0o600, "no PEM block"},
		{"truncated", pemOf(keyPEMType, edDER[:len(edDER)-5]), 0o600, "not a PKCS #8 key"},
		{"wrong key type", pemOf(keyPEMType, ecDER), 0o600, "want an Ed25519 key"},
		{"wrong PEM type", pemOf("EC PRIVATE KEY", ecDER), 0o600, `"EC PRIVATE KEY"`},
		{"readable by others", pemOf(keyPEMType, edDER), 0o644, "chmod 600"},
		{"huge", make([]byte, 32<<10), 0o600, "not a key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.mode&0o077 != 0 && runtime.GOOS == "windows" {
				t.Skip("no Unix permissions")
			}
			path := filepath.Join(t.TempDir(), "node.key")
			if err := os.WriteFile(path, tt.data, tt.mode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, tt.mode); err != nil { // past the umask
				t.Fatal(err)
			}
			_, err := LoadOrCreateKey(path)
			if err == nil {
				t.Fatal("LoadOrCreateKey accepted it")
			}
			if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want one naming %s and saying %q", err, path, tt.want)
			}
			if data, _ := os.ReadFile(path); string(data) != string(tt.data) {
				t.Error("the refused file was changed")
			}
		})
	}
}

func TestLoadOrCreateKeyDirectory(t *testing.T) {
	path := t.TempDir()
	if _, err := LoadOrCreateKey(path); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("a directory as key file: error %v, want one naming %s", err, path)
	}
}

func TestIDFromKey(t *testing.T) {
	seed := make([]byte, ed25519.SeedSize)
	key := ed25519.NewKeyFromSeed(seed)
	// The public key of the all-zero seed, written out so that the derivation is checked
	// against a fixed value rather than against itself.
	pub, _ := hex.DecodeString("3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29")
	sum := sha256.Sum256(pub)
	want := protocol.ID(sum[:20])
	if got := IDFromKey(key); got != want {
		t.Errorf("IDFromKey %s, want %s", got, want)
	}
	other := ed25519.NewKeyFromSeed(append(seed[:len(seed)-1], 1))
	if IDFromKey(other) == want {
		t.Error("two keys share an ID")
	}
}
