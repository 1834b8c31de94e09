/* A lambda-sim handler in C (handler ABI version 1, docs/abi.md), with no C library: only clang and wasm-ld.
 *
 *   clang --target=wasm32 -O2 -nostdlib -Wl,--no-entry -o hello.wasm hello.c
 *   lambda-sim invoke hello.wasm --payload '{"name":"C"}' --repeat 2
 *
 * It answers {"message":"Hello, <name>!","invocation":<n>}: n counts the invocations this execution environment has
 * served, because memory and globals persist across warm invocations.
 */

/* The ABI version, as a custom section. A top-level asm directive is what makes one with clang; a variable with
 * __attribute__((section(".custom_section.…"))) becomes a data segment instead, and the module is refused. */
__asm__(".section \".custom_section.lambda-sim-abi\",\"\",@\n.ascii \"1\"\n.text\n");

#define LAMBDA(name) __attribute__((import_module("lambda"), import_name(#name)))
LAMBDA(event_len) int event_len(void);
LAMBDA(event_read) int event_read(void *ptr, int len);
LAMBDA(response_write) int response_write(const void *ptr, int len);

/* WASI's write, for the function's log (stdout). */
struct iovec { const void *base; unsigned long len; };
__attribute__((import_module("wasi_snapshot_preview1"), import_name("fd_write")))
int fd_write(int fd, const struct iovec *iovs, int iovs_len, int *written);

static char event[4096];
static char response[256];
static int invocations;

static int length(const char *s) { int n = 0; while (s[n]) n++; return n; }

static void log_line(const char *s) {
    struct iovec iov[2] = {{s, (unsigned long)length(s)}, {"\n", 1}};
    int written;
    fd_write(1, iov, 2, &written);
}

/* Appends s to response at *at, keeping room for the end. */
static void put(int *at, const char *s, int n) {
    for (int i = 0; i < n && *at < (int)sizeof response - 32; i++) response[(*at)++] = s[i];
}

/* The value of "name" in the event, if it is a string without escapes: a sketch, not a JSON parser. */
static int name_in(const char *json, int len, const char **name) {
    static const char key[] = "\"name\"";
    for (int i = 0; i + 6 <= len; i++) {
        int j = 0;
        while (j < 6 && json[i + j] == key[j]) j++;
        if (j < 6) continue;
        int k = i + 6;
        while (k < len && (json[k] == ' ' || json[k] == ':')) k++;
        if (k >= len || json[k] != '"') return 0;
        int start = ++k;
        while (k < len && json[k] != '"' && json[k] != '\\') k++;
        if (k >= len || json[k] != '"') return 0;
        *name = json + start;
        return k - start;
    }
    return 0;
}

/* The Init phase: its log lines come before the first START. */
__attribute__((export_name("init"))) int init(void) {
    log_line("init: C handler ready");
    return 0;
}

__attribute__((export_name("handle"))) int handle(void) {
    int len = event_read(event, sizeof event);
    const char *name = "world";
    int name_len = name_in(event, len, &name);
    if (name_len == 0) name_len = 5;
    invocations++;
    char digits[12];
    int d = 0;
    for (int n = invocations; n > 0 || d == 0; n /= 10) digits[d++] = (char)('0' + n % 10);
    int at = 0;
    put(&at, "{\"message\":\"Hello, ", 19);
    put(&at, name, name_len);
    put(&at, "!\",\"invocation\":", 16);
    while (d > 0) response[at++] = digits[--d];
    response[at++] = '}';
    log_line("handling an invocation");
    response_write(response, at);
    return 0;
}
