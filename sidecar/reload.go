package sidecar

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// Reload re-reads Options.ConfigPath and applies it. A file that cannot be
// read, does not parse or does not validate is logged, recorded as the
// last reload's status, and leaves the running config in place.
//
// Write a config file that a running sidecar reads by renaming a complete
// file over it (write bulwark.yaml.tmp, then mv bulwark.yaml.tmp
// bulwark.yaml): a rename is atomic, a write in place is not. Polling
// (reload.poll) also waits until the file reads the same twice in a row
// before it applies it.
func (s *Server) Reload() error {
	if s.opts.ConfigPath == "" {
		return errors.New("sidecar: no config file to reload")
	}
	cfg, raw, err := LoadConfig(s.opts.ConfigPath)
	return s.applyLoaded(cfg, raw, err)
}

// applyLoaded applies a config LoadConfig returned, or records its error.
func (s *Server) applyLoaded(cfg *Config, raw []byte, err error) error {
	if err == nil {
		err = s.apply(cfg, raw)
	}
	s.recordReload(err)
	if err != nil {
		s.log.Error("reload failed; keeping the running config", "file", s.opts.ConfigPath, "err", err)
		return err
	}
	s.log.Info("config reloaded", "file", s.opts.ConfigPath, "generation", s.Generation())
	return nil
}

func (s *Server) recordReload(err error) {
	st := &reloadStatus{At: time.Now(), OK: err == nil}
	if err != nil {
		st.Error = err.Error()
	}
	s.lastReload.Store(st)
}

// readConfigFile reads the config file at path, at most MaxConfigBytes+1
// bytes of it: a larger file is reported by ParseConfig. A directory, a
// device or a missing file is an error.
func readConfigFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		if fi.IsDir() {
			return nil, fmt.Errorf("%s: is a directory, not a config file", path)
		}
		return nil, fmt.Errorf("%s: not a regular file (%v)", path, fi.Mode().Type())
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxConfigBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return data, nil
}

// fileStamp is what os.Stat says of a file, to tell cheaply that it did not
// change since it was read.
type fileStamp struct {
	size int64
	mod  time.Time
}

func stampOf(fi os.FileInfo) fileStamp {
	return fileStamp{size: fi.Size(), mod: fi.ModTime()}
}

// poller is the state of polling the config file: what was applied, and a
// change seen once and waiting to be seen again unchanged.
type poller struct {
	handled [sha256.Size]byte // content last applied or refused: not looked at again
	stamp   fileStamp         // the file when last read
	read    [sha256.Size]byte // its content then
	pending bool              // read differs from applied: apply once read again unchanged
	lastErr string            // the last read error reported, not repeated every poll
}

// poll reloads the config file when it changes, every reload.poll.
func (s *Server) poll(ctx context.Context) {
	p := &poller{handled: sha256.Sum256(s.gen.Load().raw)}
	p.read = p.handled
	if fi, err := os.Stat(s.opts.ConfigPath); err == nil {
		p.stamp = stampOf(fi)
	}
	for {
		d := s.Config().Reload.Poll
		active := d > 0
		if !active {
			d = time.Second // look again later: a reload may turn polling on
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		if active {
			s.pollOnce(p)
		}
	}
}

// pollOnce looks at the config file once. It reads the file only when
// os.Stat says it changed (or a change is pending), and applies new content
// only when two reads in a row, one poll apart, return the same bytes: a
// file being written in place is not applied half-written.
func (s *Server) pollOnce(p *poller) {
	path := s.opts.ConfigPath
	fi, err := os.Stat(path)
	if err == nil && fi.IsDir() {
		err = fmt.Errorf("%s: is a directory, not a config file", path)
	}
	if err != nil {
		s.pollError(p, err)
		return
	}
	st := stampOf(fi)
	if st == p.stamp && !p.pending && p.lastErr == "" && time.Since(st.mod) > 2*time.Second {
		// Unchanged since the last read: no read, no allocation. A file
		// modified in the last two seconds is read anyway, as a write in
		// the same clock tick as the last read leaves the stamp alone.
		return
	}
	raw, err := readConfigFile(path)
	if err != nil {
		s.pollError(p, err)
		return
	}
	sum := sha256.Sum256(raw)
	p.stamp = st
	if sum == p.handled {
		p.pending, p.read = false, sum
		if p.lastErr != "" {
			s.log.Info("config file readable again, unchanged", "file", path)
			p.lastErr = ""
			s.recordReload(nil)
		}
		return
	}
	if !p.pending || sum != p.read {
		// First sight of this content: wait for it to read the same again.
		p.pending, p.read = true, sum
		return
	}
	p.pending = false
	cfg, err := ParseConfig(raw)
	if err != nil {
		err = fmt.Errorf("%s: %w", path, err)
	}
	p.lastErr = ""
	p.handled = sum // applied, or refused and reported: once is enough
	s.applyLoaded(cfg, raw, err)
}

// pollError reports a config file that cannot be read, once per distinct
// error, and keeps the running config.
func (s *Server) pollError(p *poller, err error) {
	p.pending = false
	p.stamp = fileStamp{}
	if msg := err.Error(); msg != p.lastErr {
		p.lastErr = msg
		s.recordReload(err)
		s.log.Error("config file unreadable; keeping the running config", "file", s.opts.ConfigPath, "err", err)
	}
}
