// SPDX-License-Identifier: Apache-2.0

package state

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// Dir is an open, checked state directory. Every file in it is opened
// relative to the directory's descriptor with O_NOFOLLOW, so neither a
// symbolic link planted in it nor a rename of the path after Open redirects a
// write elsewhere. Only regular files with one link are used.
type Dir struct {
	path string
	fd   int
}

// ErrUnsafe matches (errors.Is) every refusal of a state directory, or of a
// file in it, that someone else could have placed or could change.
var ErrUnsafe = errors.New("unsafe state directory")

// unsafeError is a refusal; its message says what is wrong and what to do.
type unsafeError struct{ msg string }

func (e *unsafeError) Error() string        { return e.msg }
func (e *unsafeError) Is(target error) bool { return target == ErrUnsafe }

func unsafef(format string, args ...any) error {
	return &unsafeError{msg: fmt.Sprintf(format, args...)}
}

// Names this library uses in a state directory, checked by OpenDir: each
// must be a regular file if it exists.
func ownName(name string) bool {
	return name == lockFile || strings.HasPrefix(name, sessionFile) || strings.HasPrefix(name, "queue.")
}

// OpenDir opens the state directory path, creating it (and missing parents)
// with mode 0700 if it does not exist. It refuses a directory that is not
// owned by the process's effective user or that the group or others may write
// to, and one that holds a file of ours that is a symbolic link, a device, a
// FIFO, a directory or a file with several hard links. The path itself may be
// a symbolic link to a directory; the checks apply to the directory reached.
func OpenDir(path string) (*Dir, error) {
	if err := os.MkdirAll(path, 0o700); err != nil {
		return nil, err
	}
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	d := &Dir{path: path, fd: fd}
	if err := d.check(); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

func (d *Dir) check() error {
	var st unix.Stat_t
	if err := unix.Fstat(d.fd, &st); err != nil {
		return &os.PathError{Op: "stat", Path: d.path, Err: err}
	}
	if euid := os.Geteuid(); int(st.Uid) != euid {
		return unsafef("state_dir %s is owned by uid %d, not by this process's user (uid %d): use a directory of your own",
			d.path, st.Uid, euid)
	}
	if st.Mode&0o022 != 0 {
		return unsafef("state_dir %s is writable by group or others (mode %04o): chmod 700 %s",
			d.path, st.Mode&0o7777, d.path)
	}
	names, err := d.names()
	if err != nil {
		return err
	}
	for _, name := range names {
		if !ownName(name) {
			continue
		}
		var fst unix.Stat_t
		if err := unix.Fstatat(d.fd, name, &fst, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			if errors.Is(err, unix.ENOENT) {
				continue // removed meanwhile
			}
			return &os.PathError{Op: "stat", Path: d.name(name), Err: err}
		}
		if err := regular(d.name(name), &fst); err != nil {
			return err
		}
	}
	return nil
}

// regular refuses anything but a regular file with a single link.
func regular(path string, st *unix.Stat_t) error {
	switch {
	case st.Mode&unix.S_IFMT == unix.S_IFLNK:
		return unsafef("%s is a symbolic link, not a regular file; remove it", path)
	case st.Mode&unix.S_IFMT != unix.S_IFREG:
		return unsafef("%s is not a regular file (mode %o); remove it", path, st.Mode)
	case st.Nlink > 1:
		return unsafef("%s has %d hard links; a state file must have one", path, st.Nlink)
	}
	return nil
}

// Path is the directory's path as given to OpenDir.
func (d *Dir) Path() string { return d.path }

func (d *Dir) name(name string) string { return d.path + string(os.PathSeparator) + name }

// names lists the directory.
func (d *Dir) names() ([]string, error) {
	fd, err := unix.Openat(d.fd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: d.path, Err: err}
	}
	f := os.NewFile(uintptr(fd), d.path)
	defer f.Close()
	return f.Readdirnames(-1)
}

// Names lists the directory's entries whose names start with prefix.
func (d *Dir) Names(prefix string) ([]string, error) {
	all, err := d.names()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, n := range all {
		if strings.HasPrefix(n, prefix) {
			out = append(out, n)
		}
	}
	return out, nil
}

// OpenFile opens name in the directory with flag (os.O_* values), never
// following a symbolic link (ELOOP) and never blocking on a FIFO, and refuses
// anything but a regular file with one link. A file it creates gets mode 0600.
func (d *Dir) OpenFile(name string, flag int) (*os.File, error) {
	fd, err := unix.Openat(d.fd, name, flag|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NONBLOCK, 0o600)
	if err != nil {
		if errors.Is(err, unix.ELOOP) {
			return nil, unsafef("%s is a symbolic link, not a regular file; remove it", d.name(name))
		}
		return nil, &os.PathError{Op: "open", Path: d.name(name), Err: err}
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, &os.PathError{Op: "stat", Path: d.name(name), Err: err}
	}
	if err := regular(d.name(name), &st); err != nil {
		unix.Close(fd)
		return nil, err
	}
	if st.Mode&0o077 != 0 && flag&(os.O_WRONLY|os.O_RDWR) != 0 {
		// A file made readable by others (by hand, or an older version):
		// what libenos writes into it stays private.
		if err := unix.Fchmod(fd, 0o600); err != nil {
			unix.Close(fd)
			return nil, &os.PathError{Op: "chmod", Path: d.name(name), Err: err}
		}
	}
	// O_NONBLOCK only kept open() from waiting on a FIFO; a regular file
	// never blocks, and the os package expects a blocking descriptor here.
	if err := unix.SetNonblock(fd, false); err != nil {
		unix.Close(fd)
		return nil, &os.PathError{Op: "fcntl", Path: d.name(name), Err: err}
	}
	return os.NewFile(uintptr(fd), d.name(name)), nil
}

// Remove removes name; a symbolic link is removed itself, never its target.
// A missing file is not an error.
func (d *Dir) Remove(name string) error {
	if err := unix.Unlinkat(d.fd, name, 0); err != nil && !errors.Is(err, unix.ENOENT) {
		return &os.PathError{Op: "remove", Path: d.name(name), Err: err}
	}
	return nil
}

// WriteAtomic replaces name with data: a fresh temporary file (any stale one
// is unlinked first, never followed; then created O_EXCL, mode 0600), fsync,
// rename over name, fsync of the directory. A crash leaves the old or the new
// content.
func (d *Dir) WriteAtomic(name string, data []byte) error {
	tmp := name + ".tmp"
	if err := d.Remove(tmp); err != nil {
		return err
	}
	f, err := d.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		d.Remove(tmp)
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		d.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		d.Remove(tmp)
		return err
	}
	if err := unix.Renameat(d.fd, tmp, d.fd, name); err != nil {
		d.Remove(tmp)
		return &os.PathError{Op: "rename", Path: d.name(tmp), Err: err}
	}
	return d.Sync()
}

// Sync fsyncs the directory, making creations, renames and removals durable.
func (d *Dir) Sync() error {
	if err := unix.Fsync(d.fd); err != nil {
		return &os.PathError{Op: "fsync", Path: d.path, Err: err}
	}
	return nil
}

// Close releases the directory descriptor.
func (d *Dir) Close() error {
	if d.fd < 0 {
		return nil
	}
	err := unix.Close(d.fd)
	d.fd = -1
	return err
}

// Space returns the bytes an unprivileged process may still write on the
// directory's file system, and its size.
func (d *Dir) Space() (free, total int64, err error) {
	var st unix.Statfs_t
	if err := unix.Fstatfs(d.fd, &st); err != nil {
		return 0, 0, &os.PathError{Op: "statfs", Path: d.path, Err: err}
	}
	return int64(st.Bavail) * int64(st.Bsize), int64(st.Blocks) * int64(st.Bsize), nil
}
