/* Time per jwtgate_validate call on a cached token, from C (release static library).
 * Compare with `cargo run --release -p jwtgate-ffi --example overhead`, which times the
 * Rust core directly on the same token. A measurement, not a test.
 *
 *   overhead CONFIG.json TOKEN_FILE */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jwtgate.h"

enum { CALLS = 2000000, ROUNDS = 7 };

static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) { perror(path); exit(2); }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) { perror(path); exit(2); }
    fclose(f);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r')) n--;
    buf[n] = 0;
    *len = (size_t)n;
    return buf;
}

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s CONFIG.json TOKEN_FILE\n", argv[0]);
        return 2;
    }
    size_t config_len, token_len;
    char *config = slurp(argv[1], &config_len);
    char *token = slurp(argv[2], &token_len);
    jwtgate_validator *v = NULL;
    jwtgate_error *err = NULL;
    if (jwtgate_validator_new((const uint8_t *)config, config_len, &v, &err) != JWTGATE_OK) {
        fprintf(stderr, "config: %s\n", jwtgate_error_message(err));
        return 2;
    }
    double per_call[ROUNDS];
    for (int round = -1; round < ROUNDS; round++) { /* round -1 warms up */
        int calls = round < 0 ? CALLS / 10 : CALLS;
        double start = now_ns();
        for (int i = 0; i < calls; i++) {
            jwtgate_claims *claims = NULL;
            if (jwtgate_validate(v, (const uint8_t *)token, token_len, &claims, NULL) != JWTGATE_OK) {
                fprintf(stderr, "the token was refused\n");
                return 1;
            }
            jwtgate_claims_free(claims);
        }
        if (round >= 0) per_call[round] = (now_ns() - start) / calls;
    }
    qsort(per_call, ROUNDS, sizeof per_call[0], cmp);
    printf("C program: jwtgate_validate+jwtgate_claims_free, cached token, %d calls x %d rounds\n",
           CALLS, ROUNDS);
    printf("C ABI from C                  %8.1f / %8.1f   (median / min ns per call)\n",
           per_call[ROUNDS / 2], per_call[0]);
    jwtgate_validator_free(v);
    free(config);
    free(token);
    return 0;
}
