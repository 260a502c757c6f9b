/* The C driver of the cross-language micro benchmark (benches/cross/README.md defines the
 * spec and the JSON-lines protocol): jwtgate through its C ABI, with its default result
 * cache (hit) and with cache_max_entries 0 (cold), for RS256, PS256, ES256, EdDSA, HS256.
 * There is no C peer: no C JWT library is packaged here that does the same checks.
 *
 * Build against the release library (from the repository root; `make -C benches/cross/c`
 * runs the same line):
 *
 *   cargo build --release -p jwtgate-ffi
 *   cc -std=c11 -O2 -Wall -Wextra -Werror -I bindings-ffi/include benches/cross/c/driver.c \
 *      target/release/libjwtgate_ffi.a -lcjson -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc \
 *      -o target/cross-driver-c
 *
 * Run: cross-driver-c SPEC.json, then commands on stdin, one JSON object per line. cJSON
 * (libcjson-dev) parses the spec and the commands; it is never used in the timed loop. */
#define _POSIX_C_SOURCE 200809L /* getline, clock_gettime */

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jwtgate.h"

static const char *const ALGS[] = {"RS256", "PS256", "ES256", "EdDSA", "HS256"};
#define N_ALGS (sizeof ALGS / sizeof ALGS[0])
#define N_SUBJECTS (2 * N_ALGS)

typedef struct {
    char id[64];
    const char *alg;
    const char *mode; /* "hit" or "cold" */
    jwtgate_validator *v;
    const char *token; /* borrowed from the spec document, which lives until exit */
    size_t token_len;
    const char *bad;
} subject;

static void fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("cross-driver-c: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0, got;
    char *buf = malloc(cap);
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            char *bigger = realloc(buf, cap *= 2);
            if (!bigger) free(buf);
            buf = bigger;
        }
    }
    fclose(f);
    *len = n;
    return buf;
}

static const char *string_member(const cJSON *obj, const char *name, const char *where) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (!cJSON_IsString(item)) fail("spec: %s has no string \"%s\"", where, name);
    return item->valuestring;
}

/* A validator from the spec's config, with cache_max_entries 0 added for the cold mode. */
static jwtgate_validator *make_validator(const cJSON *config, int cold, const char *id) {
    cJSON *doc = cJSON_Duplicate(config, 1);
    if (!doc) fail("%s: out of memory", id);
    if (cold && !cJSON_AddNumberToObject(doc, "cache_max_entries", 0)) fail("%s: out of memory", id);
    char *text = cJSON_PrintUnformatted(doc);
    cJSON_Delete(doc);
    if (!text) fail("%s: out of memory", id);
    jwtgate_validator *v = NULL;
    jwtgate_error *err = NULL;
    if (jwtgate_validator_new((const uint8_t *)text, strlen(text), &v, &err) != JWTGATE_OK)
        fail("%s: validator: %s: %s", id, jwtgate_error_kind(err), jwtgate_error_message(err));
    cJSON_free(text);
    return v;
}

/* One checked validation outside the timed loop: 0 when the token is refused, 1 when it is
 * accepted with claims whose sub equals want_sub; any other outcome ends the driver. */
static int accepted(const subject *s, const char *token, const char *want_sub) {
    jwtgate_claims *claims = NULL;
    jwtgate_error *err = NULL;
    jwtgate_result r = jwtgate_validate(s->v, (const uint8_t *)token, strlen(token), &claims, &err);
    if (r != JWTGATE_OK) {
        jwtgate_error_free(err);
        return 0;
    }
    const uint8_t *json = NULL;
    size_t json_len = 0;
    if (jwtgate_claims_json(claims, &json, &json_len) != JWTGATE_OK) fail("%s: no claims JSON", s->id);
    cJSON *payload = cJSON_ParseWithLength((const char *)json, json_len);
    const cJSON *sub = cJSON_GetObjectItemCaseSensitive(payload, "sub");
    if (!cJSON_IsString(sub) || strcmp(sub->valuestring, want_sub) != 0)
        fail("%s: sub is not \"%s\"", s->id, want_sub);
    cJSON_Delete(payload);
    jwtgate_claims_free(claims);
    return 1;
}

/* Twice, so that the hit subjects are also checked on the cached answer. */
static void check(const subject *s, const char *want_sub) {
    for (int round = 0; round < 2; round++) {
        if (!accepted(s, s->token, want_sub)) {
            jwtgate_claims *claims = NULL;
            jwtgate_error *err = NULL;
            jwtgate_validate(s->v, (const uint8_t *)s->token, s->token_len, &claims, &err);
            fail("%s: good token refused: %s: %s", s->id, jwtgate_error_kind(err),
                 jwtgate_error_message(err));
        }
        if (accepted(s, s->bad, want_sub)) fail("%s: bad_token accepted", s->id);
    }
}

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The timed loop: per call what a C request handler does — validate (jwtgate_validate: with
 * static keys or a shared secret it never blocks, and it is the call a threaded server
 * makes), check the result, release the claims. A failure ends the driver: an error path
 * must never be what gets timed. */
static int64_t run(const subject *s, long iters) {
    const uint8_t *token = (const uint8_t *)s->token;
    size_t len = s->token_len;
    int64_t start = now_ns();
    for (long i = 0; i < iters; i++) {
        jwtgate_claims *claims = NULL;
        jwtgate_error *err = NULL;
        jwtgate_result r = jwtgate_validate(s->v, token, len, &claims, &err);
        if (r != JWTGATE_OK)
            fail("%s: validation failed in the timed loop: %s: %s", s->id, jwtgate_error_kind(err),
                 jwtgate_error_message(err));
        jwtgate_claims_free(claims);
    }
    return now_ns() - start;
}

static void emit(cJSON *obj) {
    char *line = cJSON_PrintUnformatted(obj);
    if (!line) fail("output: out of memory");
    if (puts(line) == EOF || fflush(stdout) != 0) fail("output: write failed");
    cJSON_free(line);
}

int main(int argc, char **argv) {
    if (argc != 2) fail("usage: cross-driver-c SPEC.json");
    size_t len = 0;
    char *text = read_file(argv[1], &len);
    if (!text) fail("spec: cannot read %s", argv[1]);
    cJSON *spec = cJSON_ParseWithLength(text, len);
    free(text);
    if (!spec) fail("spec: not JSON");
    const cJSON *algs = cJSON_GetObjectItemCaseSensitive(spec, "algs");

    static subject subjects[N_SUBJECTS];
    size_t n = 0;
    for (size_t a = 0; a < N_ALGS; a++) {
        const cJSON *entry = cJSON_GetObjectItemCaseSensitive(algs, ALGS[a]);
        if (!cJSON_IsObject(entry)) fail("spec has no %s", ALGS[a]);
        const cJSON *config = cJSON_GetObjectItemCaseSensitive(entry, "config");
        if (!cJSON_IsObject(config)) fail("spec: %s has no config", ALGS[a]);
        const char *sub = string_member(entry, "sub", ALGS[a]);
        for (int cold = 0; cold < 2; cold++) {
            subject *s = &subjects[n++];
            s->alg = ALGS[a];
            s->mode = cold ? "cold" : "hit";
            snprintf(s->id, sizeof s->id, "c/jwtgate/%s/%s", s->alg, s->mode);
            s->token = string_member(entry, "token", ALGS[a]);
            s->token_len = strlen(s->token);
            s->bad = string_member(entry, "bad_token", ALGS[a]);
            s->v = make_validator(config, cold, s->id);
            check(s, sub);
        }
    }

    /* The ready line: {"lang": "c", "versions": {...}, "subjects": [...]}. */
    cJSON *ready = cJSON_CreateObject();
    cJSON_AddStringToObject(ready, "lang", "c");
    cJSON *versions = cJSON_AddObjectToObject(ready, "versions");
    cJSON_AddStringToObject(versions, "cc", __VERSION__);
    cJSON_AddStringToObject(versions, "jwtgate", jwtgate_version());
    cJSON *list = cJSON_AddArrayToObject(ready, "subjects");
    for (size_t i = 0; i < n; i++) {
        cJSON *item = cJSON_CreateObject();
        cJSON_AddStringToObject(item, "id", subjects[i].id);
        cJSON_AddStringToObject(item, "impl", "jwtgate");
        cJSON_AddStringToObject(item, "alg", subjects[i].alg);
        cJSON_AddStringToObject(item, "mode", subjects[i].mode);
        cJSON_AddItemToArray(list, item);
    }
    emit(ready);
    cJSON_Delete(ready);

    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, stdin) != -1) {
        if (line[0] == '\n' || line[0] == 0) continue;
        cJSON *cmd = cJSON_Parse(line);
        if (!cmd) fail("command is not JSON: %s", line);
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cmd, "quit"))) {
            cJSON_Delete(cmd);
            break;
        }
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(cmd, "run");
        const cJSON *iters = cJSON_GetObjectItemCaseSensitive(cmd, "iters");
        if (!cJSON_IsString(id) || !cJSON_IsNumber(iters) || iters->valuedouble < 1)
            fail("command needs \"run\" and a positive \"iters\": %s", line);
        const subject *s = NULL;
        for (size_t i = 0; i < n && !s; i++)
            if (strcmp(subjects[i].id, id->valuestring) == 0) s = &subjects[i];
        if (!s) fail("no such subject: %s", id->valuestring);
        int64_t ns = run(s, (long)iters->valuedouble);
        cJSON_Delete(cmd);
        /* Printed by hand: cJSON numbers are doubles, and the protocol wants an integer. */
        if (printf("{\"ns\": %lld}\n", (long long)ns) < 0 || fflush(stdout) != 0)
            fail("output: write failed");
    }
    free(line);
    for (size_t i = 0; i < n; i++) jwtgate_validator_free(subjects[i].v);
    cJSON_Delete(spec);
    return 0;
}
