/* jwtgate-validate: validates bearer tokens against a jwtgate configuration.
 *
 *   jwtgate-validate CONFIG.json TOKEN...
 *   jwtgate-validate CONFIG.json - < tokens.txt      (one token per line)
 *
 * For each token prints "valid <claims JSON>" or "invalid <kind> (<code>, HTTP <status>):
 * <message>". Exit status: 0 when every token is valid, 1 when one is not, 2 on a usage or
 * configuration error. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jwtgate.h"

static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, n = 0, got;
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

/* Returns 1 when the token is valid. */
static int check(const jwtgate_validator *v, const char *token, size_t len) {
    jwtgate_claims *claims = NULL;
    jwtgate_error *err = NULL;
    jwtgate_result r = jwtgate_validate(v, (const uint8_t *)token, len, &claims, &err);
    if (r != JWTGATE_OK) {
        /* The kind is static; the message lives until jwtgate_error_free. */
        printf("invalid %s (%u, HTTP %u): %s\n", jwtgate_error_kind(err), jwtgate_error_code(err),
               jwtgate_error_http_status(err), jwtgate_error_message(err));
        jwtgate_error_free(err);
        return 0;
    }
    const uint8_t *json = NULL;
    size_t json_len = 0;
    /* Borrowed from `claims`: print it before jwtgate_claims_free. */
    if (jwtgate_claims_json(claims, &json, &json_len) == JWTGATE_OK)
        printf("valid %.*s\n", (int)json_len, (const char *)json);
    jwtgate_claims_free(claims);
    return 1;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s CONFIG.json TOKEN... (or - to read tokens from stdin)\n", argv[0]);
        return 2;
    }
    size_t config_len = 0;
    char *config = read_file(argv[1], &config_len);
    if (!config) {
        perror(argv[1]);
        return 2;
    }
    jwtgate_validator *v = NULL;
    jwtgate_error *err = NULL;
    if (jwtgate_validator_new((const uint8_t *)config, config_len, &v, &err) != JWTGATE_OK) {
        fprintf(stderr, "%s: %s: %s\n", argv[1], jwtgate_error_kind(err), jwtgate_error_message(err));
        jwtgate_error_free(err);
        free(config);
        return 2;
    }
    free(config);

    int all_valid = 1;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "-") != 0) {
            all_valid &= check(v, argv[i], strlen(argv[i]));
            continue;
        }
        char *line = NULL;
        size_t cap = 0;
        ssize_t n;
        while ((n = getline(&line, &cap, stdin)) > 0) {
            while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) n--;
            if (n > 0) all_valid &= check(v, line, (size_t)n);
        }
        free(line);
    }
    jwtgate_validator_free(v);
    return all_valid ? 0 : 1;
}
