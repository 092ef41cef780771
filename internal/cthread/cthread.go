// Package cthread runs long C calls (a video frame's encode or decode) on a
// POSIX thread of their own instead of on the calling goroutine's thread.
//
// Why: a goroutine inside a cgo call keeps its P in the "syscall" state for
// the whole call, 1–10 ms for a video frame. Whenever other goroutines wait
// meanwhile (packets keep arriving), Go's sysmon takes that P back and hands
// it to another thread, so every frame could cost a thread hand-off. Here
// the goroutine submits the call (a few microseconds of cgo), then parks on
// an eventfd in Go's network poller, which wakes it when the C thread is
// done; to the scheduler it is a goroutine waiting for I/O. The threads are
// named, so the codecs' share of the CPU can be read per thread
// (/proc/PID/task/*/stat; bench-media reports it).
//
// A Thread runs one call at a time; callers queue for it. The C function
// receives the argument it was given and must not call back into Go.
// Arguments that point into Go memory must be pinned (runtime.Pinner) for
// the duration of the call, since the C thread reads them after the cgo
// call that submitted them has returned.
package cthread

/*
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

typedef void (*roomd_cthread_fn)(void *);

typedef struct {
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	roomd_cthread_fn fn;
	void *arg;
	int quit;
	int efd;
} roomd_cthread;

static void *roomd_cthread_loop(void *p) {
	roomd_cthread *t = p;
	for (;;) {
		pthread_mutex_lock(&t->mu);
		while (t->fn == NULL && !t->quit) {
			pthread_cond_wait(&t->cv, &t->mu);
		}
		roomd_cthread_fn fn = t->fn;
		void *arg = t->arg;
		t->fn = NULL;
		t->arg = NULL;
		pthread_mutex_unlock(&t->mu);
		if (fn == NULL) {
			return NULL;
		}
		fn(arg);
		uint64_t one = 1;
		while (write(t->efd, &one, sizeof one) < 0 && errno == EINTR) {
		}
	}
}

// Returns the thread, or NULL with errno's value in *err. name (at most 15
// bytes) shows in /proc/PID/task/TID/comm, top -H and perf.
static roomd_cthread *roomd_cthread_new(const char *name, int *err) {
	roomd_cthread *t = calloc(1, sizeof *t);
	if (t == NULL) {
		*err = ENOMEM;
		return NULL;
	}
	t->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (t->efd < 0) {
		*err = errno;
		free(t);
		return NULL;
	}
	pthread_mutex_init(&t->mu, NULL);
	pthread_cond_init(&t->cv, NULL);
	int rv = pthread_create(&t->th, NULL, roomd_cthread_loop, t);
	if (rv != 0) {
		*err = rv;
		close(t->efd);
		free(t);
		return NULL;
	}
	pthread_setname_np(t->th, name);
	return t;
}

static void roomd_cthread_submit(roomd_cthread *t, void *fn, void *arg) {
	pthread_mutex_lock(&t->mu);
	t->fn = (roomd_cthread_fn)fn;
	t->arg = arg;
	pthread_cond_signal(&t->cv);
	pthread_mutex_unlock(&t->mu);
}

// Stops and joins the thread; the eventfd is the caller's to close.
static void roomd_cthread_stop(roomd_cthread *t) {
	pthread_mutex_lock(&t->mu);
	t->quit = 1;
	pthread_cond_signal(&t->cv);
	pthread_mutex_unlock(&t->mu);
	pthread_join(t->th, NULL);
	pthread_cond_destroy(&t->cv);
	pthread_mutex_destroy(&t->mu);
	free(t);
}
*/
import "C"

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"unsafe"
)

// ErrClosed is returned by Call after Close.
var ErrClosed = errors.New("cthread: closed")

// Thread is one C thread that runs calls submitted by Call.
type Thread struct {
	mu   sync.Mutex // one call at a time; guards t
	t    *C.roomd_cthread
	done *os.File // the eventfd, in Go's poller
}

// New starts a thread named name, cut to 15 bytes (Linux's limit). Name
// codec threads "codec-…": the media benchmark counts their CPU by that
// prefix.
func New(name string) (*Thread, error) {
	if len(name) > 15 {
		name = name[:15]
	}
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	var cerr C.int
	t := C.roomd_cthread_new(cname, &cerr)
	if t == nil {
		return nil, fmt.Errorf("cthread: starting a thread: %w", syscall.Errno(cerr))
	}
	// The eventfd is non-blocking, so os.NewFile puts it in the poller and
	// Read parks the goroutine instead of blocking a thread.
	f := os.NewFile(uintptr(t.efd), "cthread-eventfd")
	return &Thread{t: t, done: f}, nil
}

// Call runs fn(arg) on the thread and returns when it has returned. fn must
// be a C function of type void (*)(void *), such as C.my_func; arg is passed
// as is. The calling goroutine waits without holding an OS thread.
func (t *Thread) Call(fn, arg unsafe.Pointer) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.t == nil {
		return ErrClosed
	}
	C.roomd_cthread_submit(t.t, fn, arg)
	var b [8]byte
	for {
		n, err := t.done.Read(b[:])
		if err != nil {
			// The call is running and will finish; a read error on our
			// own eventfd leaves no safe way to know when, so wait for
			// the thread to be idle by stopping it.
			C.roomd_cthread_stop(t.t)
			t.t = nil
			t.done.Close()
			return fmt.Errorf("cthread: waiting for a call: %w", err)
		}
		if n == 8 {
			return nil
		}
	}
}

// Close stops the thread after the call in progress, if any. It is
// idempotent.
func (t *Thread) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.t == nil {
		return nil
	}
	C.roomd_cthread_stop(t.t)
	t.t = nil
	return t.done.Close()
}
