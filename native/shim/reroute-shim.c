// reroute-shim.so: fallbacks for the system calls the agent's Node needs and ESXi's VMkernel may lack (docs/esxi.md,
// "The system-call matrix"). The bundle's launcher preloads it (ld-linux --preload), on every platform; where the
// kernel has the call, each function is one direct call to it, as the function it stands in for would make.
//
// - epoll_pwait: libuv's event loop calls it on every turn and aborts when it fails with anything but EINTR
//   ("uv__io_poll: Assertion `errno == EINTR' failed"); ESXi 7.0 has no epoll_pwait (golang/go#73350). Without a
//   signal mask (libuv passes none) epoll_wait is the same call.
// - getentropy, getrandom: OpenSSL and V8 seed from getentropy (a getrandom call); they do not fall back to
//   /dev/urandom on a kernel that reports itself as 4.8 or later, which ESXi's "7.0.3" does. Read /dev/urandom then.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <unistd.h>

// Once a call has failed with ENOSYS it is not tried again: the kernel will not grow it while the process runs.
static volatile int no_epoll_pwait;
static volatile int no_getrandom;

int epoll_pwait(int epfd, struct epoll_event *events, int maxevents, int timeout, const sigset_t *sigmask) {
  if (!no_epoll_pwait) {
    long r = syscall(SYS_epoll_pwait, epfd, events, maxevents, timeout, sigmask, _NSIG / 8);
    if (r >= 0 || errno != ENOSYS) return (int)r;
    no_epoll_pwait = 1;
  }
  if (sigmask == NULL) return (int)syscall(SYS_epoll_wait, epfd, events, maxevents, timeout);
  // With a mask the swap is not atomic (a signal may land between the mask and the wait); libuv never passes one.
  sigset_t old;
  if (pthread_sigmask(SIG_SETMASK, sigmask, &old) != 0) return -1;
  int r = (int)syscall(SYS_epoll_wait, epfd, events, maxevents, timeout);
  int saved = errno;
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  errno = saved;
  return r;
}

// Fill buf from /dev/urandom; -1 with errno on failure.
static ssize_t from_urandom(void *buf, size_t len) {
  int fd;
  do {
    fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return -1;
  size_t got = 0;
  while (got < len) {
    ssize_t n = read(fd, (char *)buf + got, len - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int saved = n < 0 ? errno : EIO;
      close(fd);
      errno = saved;
      return -1;
    }
    got += (size_t)n;
  }
  close(fd);
  return (ssize_t)got;
}

ssize_t getrandom(void *buf, size_t len, unsigned int flags) {
  if (!no_getrandom) {
    long r = syscall(SYS_getrandom, buf, len, flags);
    if (r >= 0 || errno != ENOSYS) return r;
    no_getrandom = 1;
  }
  return from_urandom(buf, len);
}

int getentropy(void *buf, size_t len) {
  if (len > 256) {
    errno = EIO; // glibc's limit, kept
    return -1;
  }
  size_t got = 0;
  while (got < len) {
    ssize_t n = getrandom((char *)buf + got, len - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -1;
    got += (size_t)n;
  }
  return 0;
}
