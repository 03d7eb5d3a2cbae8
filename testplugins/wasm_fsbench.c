/*
 * wasm_fsbench: one open, read and close of data.txt per call of the
 * export readone (returns the bytes read, or -1), for the benchmark of
 * the guest's file system. A bare reactor: it imports only WASI.
 */
#include <fcntl.h>
#include <unistd.h>

/* Built natively too (every test plugin is, to catch warnings), where
 * export_name means nothing. */
#ifdef __wasm__
#define EXPORT(name) __attribute__((export_name(name)))
#else
#define EXPORT(name) __attribute__((visibility("default")))
#endif

EXPORT("readone") int readone(void) {
    char buf[256];
    int fd = open("data.txt", O_RDONLY);
    if (fd < 0)
        return -1;
    int n = (int)read(fd, buf, sizeof buf);
    close(fd);
    return n;
}
