package identity

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

// keyPEMType is the PEM block type of a PKCS #8 private key (RFC 7468 §10).
const keyPEMType = "PRIVATE KEY"

// LoadOrCreateKey returns the node key kept at path: an Ed25519 private key in a PEM
// "PRIVATE KEY" block (PKCS #8), the form `openssl genpkey -algorithm ed25519` writes.
// When path does not exist it generates a key and writes it there with mode 0600,
// creating the directory (mode 0700) if needed; the file appears whole or not at all,
// and if another process creates it first, that key is returned.
//
// It refuses a file that is not such a key, and, except on Windows, a key file that
// group or others may read or write: like ssh, it would rather stop than use a key
// others may have seen. Every error names path.
func LoadOrCreateKey(path string) (ed25519.PrivateKey, error) {
	key, err := loadKey(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}
	_, key, err = ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("key file %s: generate: %w", path, err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("key file %s: encode: %w", path, err)
	}
	created, err := writeNewFile(path, pem.EncodeToMemory(&pem.Block{Type: keyPEMType, Bytes: der}))
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	if !created { // another process wrote it first: use that one
		return loadKey(path)
	}
	return key, nil
}

// loadKey reads the key at path; the error matches fs.ErrNotExist when there is none.
func loadKey(path string) (ed25519.PrivateKey, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("key file %s: not a regular file", path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return nil, fmt.Errorf("key file %s: mode %04o lets others read or write it; want 0600 (chmod 600 %s)", path, perm, path)
	}
	const maxKeyFile = 16 << 10 // a PEM Ed25519 key is 119 bytes
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	if len(data) > maxKeyFile {
		return nil, fmt.Errorf("key file %s: larger than %d bytes: not a key", path, maxKeyFile)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("key file %s: no PEM block: want a %q block holding an Ed25519 key", path, keyPEMType)
	}
	if block.Type != keyPEMType {
		return nil, fmt.Errorf("key file %s: PEM block %q, want %q holding an Ed25519 key", path, block.Type, keyPEMType)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("key file %s: not a PKCS #8 key: %w", path, err)
	}
	key, ok := parsed.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("key file %s: %T, want an Ed25519 key", path, parsed)
	}
	return key, nil
}

// writeNewFile writes data to path with mode 0600 through a temporary file in the same
// directory, so that path never holds part of it. created is false, with no error,
// when path appeared meanwhile; it is never overwritten.
func writeNewFile(path string, data []byte) (created bool, err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return false, err
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return false, err
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed, or linked and removed
	if err := tmp.Chmod(0o600); err != nil && runtime.GOOS != "windows" {
		tmp.Close()
		return false, err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return false, err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return false, err
	}
	if err := tmp.Close(); err != nil {
		return false, err
	}
	// A hard link, unlike a rename, fails rather than replace a file that appeared.
	switch err := os.Link(tmp.Name(), path); {
	case err == nil:
	case errors.Is(err, fs.ErrExist):
		return false, nil
	default: // no hard links on this file system
		if err := os.Rename(tmp.Name(), path); err != nil {
			return false, err
		}
	}
	if d, err := os.Open(dir); err == nil { // make the new name durable where supported
		d.Sync()
		d.Close()
	}
	return true, nil
}
