package cthread

/*
#include <pthread.h>
#include <stdlib.h>
#include <stdint.h>
#include <unistd.h>
#include <sys/syscall.h>

// A call for tests and self-checks: adds one to a counter, sleeps for the
// given microseconds and records the Linux thread id it ran on.
typedef struct {
	long count;
	long tid;
	unsigned sleep_us;
} roomd_cthread_probe;

void roomd_cthread_probe_fn(void *p) {
	roomd_cthread_probe *pr = p;
	if (pr->sleep_us > 0) {
		usleep(pr->sleep_us);
	}
	pr->count++;
	pr->tid = (long)syscall(SYS_gettid);
}
*/
import "C"

import (
	"time"
	"unsafe"
)

// probe is a C-allocated roomd_cthread_probe, for tests.
type probe struct{ p *C.roomd_cthread_probe }

func newProbe(sleep time.Duration) probe {
	p := (*C.roomd_cthread_probe)(C.calloc(1, C.size_t(unsafe.Sizeof(C.roomd_cthread_probe{}))))
	p.sleep_us = C.unsigned(sleep.Microseconds())
	return probe{p}
}

func (p probe) run(t *Thread) error {
	return t.Call(unsafe.Pointer(C.roomd_cthread_probe_fn), unsafe.Pointer(p.p))
}

func (p probe) count() int { return int(p.p.count) }
func (p probe) tid() int   { return int(p.p.tid) }
func (p probe) free()      { C.free(unsafe.Pointer(p.p)) }
