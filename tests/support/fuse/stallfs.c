// stallfs: a pass-through FUSE file system over a backing directory that stops answering while a control file
// exists, the way a hung USB stick, SD card or NFS mount behaves under /scratch: every operation (lookup, open, read,
// write, rename, ...) waits until the control file is gone. No caching in the kernel (direct I/O, zero attribute and
// entry timeouts), so every call reaches it. While "<control file>.free" holds a number of bytes, writes behave as on
// a nearly full disk: a write larger than what is left is cut short, and one with nothing left fails with ENOSPC.
// For tests only (tests/support/stallfs.ts builds and mounts it).
//   stallfs <backing dir> <control file> <mount point> [fuse options...]
#define FUSE_USE_VERSION 31
#include <fuse.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

static const char *backing;
static const char *control;
static char freefile[PATH_MAX];

/* Wait while the control file exists: the file system has stopped answering. */
static void gate(void) {
  while (access(control, F_OK) == 0) usleep(20000);
}

static void real(char out[PATH_MAX], const char *path) { snprintf(out, PATH_MAX, "%s%s", backing, path); }

#define REAL(p) char r[PATH_MAX]; gate(); real(r, p)
#define RET(x) return (x) == -1 ? -errno : 0

static void *sf_init(struct fuse_conn_info *conn, struct fuse_config *cfg) {
  (void)conn;
  cfg->use_ino = 1;
  cfg->direct_io = 0; // page-cache I/O, as a disk: direct I/O would hold the reader's mmap lock while it waits
  cfg->kernel_cache = 0;
  cfg->attr_timeout = 0;
  cfg->entry_timeout = 0;
  cfg->negative_timeout = 0;
  return NULL;
}
static int sf_getattr(const char *p, struct stat *st, struct fuse_file_info *fi) {
  gate();
  if (fi) RET(fstat(fi->fh, st));
  char r[PATH_MAX]; real(r, p); RET(lstat(r, st));
}
static int sf_access(const char *p, int mask) { REAL(p); RET(access(r, mask)); }
static int sf_readlink(const char *p, char *buf, size_t size) {
  REAL(p);
  ssize_t n = readlink(r, buf, size - 1);
  if (n == -1) return -errno;
  buf[n] = 0;
  return 0;
}
static int sf_readdir(const char *p, void *buf, fuse_fill_dir_t fill, off_t off, struct fuse_file_info *fi,
                      enum fuse_readdir_flags flags) {
  (void)off; (void)fi; (void)flags;
  REAL(p);
  DIR *d = opendir(r);
  if (!d) return -errno;
  struct dirent *e;
  while ((e = readdir(d))) {
    struct stat st = {0};
    st.st_ino = e->d_ino;
    st.st_mode = e->d_type << 12;
    if (fill(buf, e->d_name, &st, 0, 0)) break;
  }
  closedir(d);
  return 0;
}
static int sf_mknod(const char *p, mode_t mode, dev_t rdev) { REAL(p); RET(mknod(r, mode, rdev)); }
static int sf_mkdir(const char *p, mode_t mode) { REAL(p); RET(mkdir(r, mode)); }
static int sf_unlink(const char *p) { REAL(p); RET(unlink(r)); }
static int sf_rmdir(const char *p) { REAL(p); RET(rmdir(r)); }
static int sf_symlink(const char *from, const char *to) { REAL(to); RET(symlink(from, r)); }
static int sf_rename(const char *from, const char *to, unsigned int flags) {
  if (flags) return -EINVAL;
  REAL(from);
  char t[PATH_MAX]; real(t, to);
  RET(rename(r, t));
}
static int sf_link(const char *from, const char *to) {
  REAL(from);
  char t[PATH_MAX]; real(t, to);
  RET(link(r, t));
}
static int sf_chmod(const char *p, mode_t mode, struct fuse_file_info *fi) {
  gate();
  if (fi) RET(fchmod(fi->fh, mode));
  char r[PATH_MAX]; real(r, p); RET(chmod(r, mode));
}
static int sf_chown(const char *p, uid_t uid, gid_t gid, struct fuse_file_info *fi) {
  gate();
  if (fi) RET(fchown(fi->fh, uid, gid));
  char r[PATH_MAX]; real(r, p); RET(lchown(r, uid, gid));
}
static int sf_truncate(const char *p, off_t size, struct fuse_file_info *fi) {
  gate();
  if (fi) RET(ftruncate(fi->fh, size));
  char r[PATH_MAX]; real(r, p); RET(truncate(r, size));
}
static int sf_utimens(const char *p, const struct timespec tv[2], struct fuse_file_info *fi) {
  gate();
  if (fi) RET(futimens(fi->fh, tv));
  char r[PATH_MAX]; real(r, p); RET(utimensat(AT_FDCWD, r, tv, AT_SYMLINK_NOFOLLOW));
}
static int sf_create(const char *p, mode_t mode, struct fuse_file_info *fi) {
  REAL(p);
  int fd = open(r, fi->flags, mode);
  if (fd == -1) return -errno;
  fi->fh = fd;
  return 0;
}
static int sf_open(const char *p, struct fuse_file_info *fi) {
  REAL(p);
  int fd = open(r, fi->flags);
  if (fd == -1) return -errno;
  fi->fh = fd;
  return 0;
}
static int sf_read(const char *p, char *buf, size_t size, off_t off, struct fuse_file_info *fi) {
  (void)p; gate();
  ssize_t n = pread(fi->fh, buf, size, off);
  return n == -1 ? -errno : (int)n;
}
/* Bytes a write may still take (a nearly full disk), or -1 for no limit. */
static long long bytes_free(void) {
  FILE *f = fopen(freefile, "r");
  if (!f) return -1;
  long long n = -1;
  if (fscanf(f, "%lld", &n) != 1) n = -1;
  fclose(f);
  return n;
}
static void set_free(long long n) {
  FILE *f = fopen(freefile, "w");
  if (f) { fprintf(f, "%lld\n", n); fclose(f); }
}
static int sf_write(const char *p, const char *buf, size_t size, off_t off, struct fuse_file_info *fi) {
  (void)p; gate();
  long long left = bytes_free();
  if (left == 0) return -ENOSPC;
  if (left > 0 && (long long)size > left) size = (size_t)left;
  ssize_t n = pwrite(fi->fh, buf, size, off);
  if (n == -1) return -errno;
  if (left > 0) set_free(left - n);
  return (int)n;
}
static int sf_statfs(const char *p, struct statvfs *st) { REAL(p); RET(statvfs(r, st)); }
static int sf_flush(const char *p, struct fuse_file_info *fi) { (void)p; (void)fi; gate(); return 0; }
static int sf_release(const char *p, struct fuse_file_info *fi) { (void)p; close(fi->fh); return 0; }
static int sf_fsync(const char *p, int datasync, struct fuse_file_info *fi) {
  (void)p; gate();
  RET(datasync ? fdatasync(fi->fh) : fsync(fi->fh));
}
static int sf_opendir(const char *p, struct fuse_file_info *fi) { (void)fi; REAL(p); RET(access(r, R_OK)); }
static int sf_fsyncdir(const char *p, int datasync, struct fuse_file_info *fi) { (void)p; (void)datasync; (void)fi; gate(); return 0; }

static const struct fuse_operations ops = {
  .init = sf_init, .getattr = sf_getattr, .access = sf_access, .readlink = sf_readlink, .readdir = sf_readdir,
  .mknod = sf_mknod, .mkdir = sf_mkdir, .symlink = sf_symlink, .unlink = sf_unlink, .rmdir = sf_rmdir,
  .rename = sf_rename, .link = sf_link, .chmod = sf_chmod, .chown = sf_chown, .truncate = sf_truncate,
  .utimens = sf_utimens, .open = sf_open, .create = sf_create, .read = sf_read, .write = sf_write,
  .statfs = sf_statfs, .flush = sf_flush, .release = sf_release, .fsync = sf_fsync, .opendir = sf_opendir,
  .fsyncdir = sf_fsyncdir,
};

int main(int argc, char *argv[]) {
  if (argc < 4) {
    fprintf(stderr, "usage: stallfs <backing dir> <control file> <mount point> [fuse options...]\n");
    return 2;
  }
  static char b[PATH_MAX];
  if (!realpath(argv[1], b)) { perror(argv[1]); return 2; }
  backing = b;
  control = argv[2];
  snprintf(freefile, sizeof freefile, "%s.free", control);
  // fuse_main sees: prog, mount point, -f (foreground), -o options, then anything else given
  char *fargv[64];
  int fargc = 0;
  fargv[fargc++] = argv[0];
  fargv[fargc++] = argv[3];
  fargv[fargc++] = "-f";
  fargv[fargc++] = "-o";
  fargv[fargc++] = "fsname=stallfs,default_permissions";
  for (int i = 4; i < argc && fargc < 63; i++) fargv[fargc++] = argv[i];
  fargv[fargc] = NULL;
  return fuse_main(fargc, fargv, &ops, NULL);
}
