/*
 * OpenKit native port hook, loaded into dev servers with LD_PRELOAD when
 * `useNativePortHook` is on. Any program (Python, Go with cgo, Ruby, Java, ...) that
 * binds one of the worktree's known ports gets `port + offset` instead, and connections
 * to a known port on a loopback or any-address are moved the same way, for IPv4 and IPv6.
 *
 * Configuration comes from the environment OpenKit sets:
 *   __WM_PORT_OFFSET__  the offset (decimal)
 *   __WM_KNOWN_PORTS__  a JSON array of ports, e.g. [3000,5173]
 *
 * This is the only unsafe code of OpenKit: it is C, small, and touches nothing but the
 * sockaddr it is handed (copied before it is changed). The configuration is read once,
 * when the library is loaded (before the program's own threads exist); calls are
 * forwarded to the next definition with dlsym(RTLD_NEXT, ...). A port is moved only when
 * the result stays a valid port (<= 65535).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define MAX_KNOWN 64

static int offset = 0;
static int known[MAX_KNOWN];
static int known_count = 0;

/* Runs when the library is loaded: reads the offset and the known ports. */
__attribute__((constructor)) static void load_config(void) {
    const char *o = getenv("__WM_PORT_OFFSET__");
    long value = o ? strtol(o, NULL, 10) : 0;
    offset = (value > 0 && value < 65536) ? (int)value : 0;
    const char *k = getenv("__WM_KNOWN_PORTS__");
    while (k && *k && known_count < MAX_KNOWN) {
        if (*k >= '0' && *k <= '9') {
            char *end;
            long port = strtol(k, &end, 10);
            if (port > 0 && port < 65536) known[known_count++] = (int)port;
            k = end;
        } else {
            k++;
        }
    }
}

static int is_known(int port) {
    for (int i = 0; i < known_count; i++)
        if (known[i] == port) return 1;
    return 0;
}

static int v4_loopback_or_any(const struct in_addr *a) {
    unsigned char first = ((const unsigned char *)&a->s_addr)[0];
    return a->s_addr == htonl(INADDR_ANY) || first == 127;
}

static int v6_loopback_or_any(const struct in6_addr *a) {
    if (IN6_IS_ADDR_LOOPBACK(a) || IN6_IS_ADDR_UNSPECIFIED(a)) return 1;
    if (IN6_IS_ADDR_V4MAPPED(a)) {
        struct in_addr v4;
        memcpy(&v4, &a->s6_addr[12], 4);
        return v4_loopback_or_any(&v4);
    }
    return 0;
}

/* Copies `addr` into `out` with the port moved; returns 1 when it applies. */
static int moved(const struct sockaddr *addr, socklen_t len, struct sockaddr_storage *out, int any_host) {
    if (offset <= 0 || addr == NULL || len > sizeof(*out)) return 0;
    if (addr->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)addr;
        int port = ntohs(in->sin_port);
        if (!is_known(port) || port + offset > 65535) return 0;
        if (!any_host && !v4_loopback_or_any(&in->sin_addr)) return 0;
        memcpy(out, addr, len);
        ((struct sockaddr_in *)out)->sin_port = htons((unsigned short)(port + offset));
        return 1;
    }
    if (addr->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)addr;
        int port = ntohs(in6->sin6_port);
        if (!is_known(port) || port + offset > 65535) return 0;
        if (!any_host && !v6_loopback_or_any(&in6->sin6_addr)) return 0;
        memcpy(out, addr, len);
        ((struct sockaddr_in6 *)out)->sin6_port = htons((unsigned short)(port + offset));
        return 1;
    }
    return 0;
}

int bind(int fd, const struct sockaddr *addr, socklen_t len) {
    static int (*real_bind)(int, const struct sockaddr *, socklen_t) = NULL;
    if (!real_bind) real_bind = (int (*)(int, const struct sockaddr *, socklen_t))dlsym(RTLD_NEXT, "bind");
    struct sockaddr_storage copy;
    if (moved(addr, len, &copy, 1)) return real_bind(fd, (const struct sockaddr *)&copy, len);
    return real_bind(fd, addr, len);
}

int connect(int fd, const struct sockaddr *addr, socklen_t len) {
    static int (*real_connect)(int, const struct sockaddr *, socklen_t) = NULL;
    if (!real_connect) real_connect = (int (*)(int, const struct sockaddr *, socklen_t))dlsym(RTLD_NEXT, "connect");
    struct sockaddr_storage copy;
    if (moved(addr, len, &copy, 0)) return real_connect(fd, (const struct sockaddr *)&copy, len);
    return real_connect(fd, addr, len);
}
