/*
 * forge: a sandboxed plugin that writes the sandbox protocol's frames
 * itself, as a hostile plugin can: the child's protocol code shares its
 * address space, and the channel is file descriptors 3-6 (3 host->child
 * calls, 4 child->host calls, 5 host->child async replies, 6 child->host
 * async). Only meaningful in the process sandbox.
 *
 * Frames: u32 body length (little-endian), u8 kind, u8 op, 2 zero, body.
 * Kinds: 7 result, 8 log, 9 event, 12 ident, 13 wake.
 *
 * on_tool_call acts on the tool name:
 *   log_level:N     a log frame with level byte N, "forged level"; returns 0
 *   log_huge        a log frame of 64 KiB + 1 message bytes
 *   bad_header      a log frame whose padding bytes are not zero
 *   result_status   a result frame with status 9
 *   result_code     a refusal result naming signature_invalid
 *   result_ok_rc    a success result that carries rc 3
 *   event           an event frame ("forged.event", {}) on the call channel;
 *                   reads the host's reply from fd 3 and logs
 *                   "reply: <code>"; returns 0
 *   event_len       an event frame whose method length overruns the body
 *   ident_huge      an ident frame with a 300-byte name
 *   wake            a wake-up frame, which only the host may write
 *   late:PATH       starts a thread that opens the FIFO PATH, waits for a
 *                   byte on it (the test writes one once this call
 *                   returned), then writes a log frame and an event frame
 *                   on the async channel (fd 6), and logs nothing more;
 *                   returns 0
 *   ok              returns 0
 *
 * Name "forge", version "1.0.0".
 */
#define _POSIX_C_SOURCE 200809L

#include "clawd_plugin.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void put32(unsigned char *p, uint32_t v) {
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static void write_all(int fd, const unsigned char *b, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, b, n);
        if (w <= 0)
            return;
        b += w;
        n -= (size_t)w;
    }
}

static unsigned char frame[70000];

/* frame_to writes a frame of kind k with body (n bytes) to fd. */
static void frame_to(int fd, int k, const unsigned char *body, uint32_t n, int pad) {
    put32(frame, n);
    frame[4] = (unsigned char)k;
    frame[5] = 0;
    frame[6] = (unsigned char)pad;
    frame[7] = 0;
    memcpy(frame + 8, body, n);
    write_all(fd, frame, 8 + (size_t)n);
}

static void log_frame(int fd, int level, const char *msg, int pad) {
    unsigned char body[256];
    size_t n = strlen(msg);
    body[0] = (unsigned char)level;
    body[1] = body[2] = body[3] = 0;
    memcpy(body + 4, msg, n);
    frame_to(fd, 8, body, (uint32_t)(4 + n), pad);
}

static void event_frame(int fd, uint32_t seq, const char *method, const char *params, uint32_t claimed) {
    unsigned char body[256];
    size_t m = strlen(method), p = strlen(params);
    put32(body, seq);
    put32(body + 4, claimed ? claimed : (uint32_t)m);
    memcpy(body + 8, method, m);
    memcpy(body + 8 + m, params, p);
    frame_to(fd, 9, body, (uint32_t)(8 + m + p), 0);
}

static char late_path[256];

static void *late_thread(void *arg) {
    char c;
    FILE *f;
    (void)arg;
    f = fopen(late_path, "r"); /* blocks until the test opens it to write */
    if (f == NULL)
        return NULL;
    if (fread(&c, 1, 1, f) == 1) {
        log_frame(6, 2, "late line", 0);
        event_frame(6, 77, "forged.late", "{}", 0);
    }
    fclose(f);
    return NULL;
}

static ClawaError on_tool_call(ClawaContext *ctx, const char *session, const char *tool, const char *input) {
    unsigned char body[512];
    int level;
    (void)session;
    (void)input;
    if (sscanf(tool, "log_level:%d", &level) == 1) {
        log_frame(4, level, "forged level", 0);
        return CLAWA_ERROR_NONE;
    }
    if (strcmp(tool, "log_huge") == 0) {
        uint32_t n = 4 + 65536 + 1;
        memset(body, 0, 4);
        put32(frame, n);
        frame[4] = 8;
        frame[5] = frame[6] = frame[7] = 0;
        memset(frame + 8, 'x', n);
        frame[8] = 2;
        frame[9] = frame[10] = frame[11] = 0;
        write_all(4, frame, 8 + (size_t)n);
        return CLAWA_ERROR_NONE;
    }
    if (strcmp(tool, "bad_header") == 0) {
        log_frame(4, 2, "padded", 1);
        return CLAWA_ERROR_NONE;
    }
    if (strcmp(tool, "result_status") == 0) {
        memset(body, 0, 8);
        body[0] = 9;
        frame_to(4, 7, body, 8, 0);
        return CLAWA_ERROR_NONE;
    }
    if (strcmp(tool, "result_code") == 0) {
        const char *code = "signature_invalid";
        size_t n = strlen(code);
        memset(body, 0, 8);
        body[0] = 2;
        put32(body + 8, (uint32_t)n);
        memcpy(body + 12, code, n);
        put32(body + 12 + n, 0);
        put32(body + 16 + n, 0);
        frame_to(4, 7, body, (uint32_t)(20 + n), 0);
        return CLAWA_ERROR_NONE;
    }
    if (strcmp(tool, "result_ok_rc") == 0) {
        memset(body, 0, 8);
        put32(body + 4, 3);
        frame_to(4, 7, body, 8, 0);
        return CLAWA_ERROR_NONE;
    }
    if (strcmp(tool, "event") == 0) {
        unsigned char reply[16];
        size_t got = 0;
        char line[64];
        event_frame(4, 0, "forged.event", "{}", 0);
        while (got < sizeof reply) {
            ssize_t r = read(3, reply + got, sizeof reply - got);
            if (r <= 0)
                break;
            got += (size_t)r;
        }
        snprintf(line, sizeof line, "reply: %u", got == sizeof reply ? (unsigned)reply[12] : 999u);
        ctx->log(ctx, 2, line);
        return CLAWA_ERROR_NONE;
    }
    if (strcmp(tool, "event_len") == 0) {
        event_frame(4, 0, "m", "{}", 1000);
        return CLAWA_ERROR_NONE;
    }
    if (strcmp(tool, "ident_huge") == 0) {
        memset(body, 'n', sizeof body);
        put32(body, 300);
        put32(body + 304, 0);
        frame_to(4, 12, body, 308, 0);
        return CLAWA_ERROR_NONE;
    }
    if (strcmp(tool, "wake") == 0) {
        frame_to(4, 13, body, 0, 0);
        return CLAWA_ERROR_NONE;
    }
    if (strncmp(tool, "late:", 5) == 0) {
        pthread_t t;
        snprintf(late_path, sizeof late_path, "%s", tool + 5);
        if (pthread_create(&t, NULL, late_thread, NULL) != 0)
            return CLAWA_ERROR_DAEMON_ERROR;
        pthread_detach(t);
        return CLAWA_ERROR_NONE;
    }
    if (strcmp(tool, "ok") == 0)
        return CLAWA_ERROR_NONE;
    return CLAWA_ERROR_NOT_FOUND;
}

static ClawaPlugin plugin = {
    CLAWD_PLUGIN_ABI_VERSION, "forge", "1.0.0",
    NULL, NULL, NULL, NULL, on_tool_call, NULL,
    {NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL},
};

CLAWD_PLUGIN_EXPORT ClawaPlugin *clawd_plugin_init(void) { return &plugin; }
