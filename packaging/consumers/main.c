/* The C consumer check: validate a token with the installed library, as a user writes it after
 * building with `pkg-config --cflags --libs jwtgate`. Usage: check CONFIG.json TOKEN; exit 0
 * when the token is valid, 1 when it is refused, 2 on a usage or config error. */
#include <jwtgate.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *buf = malloc((size_t)n + 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) { fclose(f); free(buf); return NULL; }
    fclose(f);
    *len = (size_t)n;
    return buf;
}

int main(int argc, char **argv) {
    if (argc != 3) return 2;
    size_t config_len = 0;
    char *config = slurp(argv[1], &config_len);
    if (!config) return 2;
    jwtgate_validator *v = NULL;
    jwtgate_error *err = NULL;
    if (jwtgate_validator_new((const uint8_t *)config, config_len, &v, &err) != JWTGATE_OK) {
        fprintf(stderr, "config: %s\n", jwtgate_error_message(err));
        jwtgate_error_free(err);
        return 2;
    }
    free(config);
    jwtgate_claims *claims = NULL;
    int rc = 0;
    if (jwtgate_validate(v, (const uint8_t *)argv[2], strlen(argv[2]), &claims, &err) == JWTGATE_OK) {
        const uint8_t *json;
        size_t json_len;
        jwtgate_claims_json(claims, &json, &json_len);
        printf("valid (jwtgate %s): %.*s\n", jwtgate_version(), (int)json_len, (const char *)json);
        jwtgate_claims_free(claims);
    } else {
        printf("refused: %s (HTTP %u)\n", jwtgate_error_kind(err), (unsigned)jwtgate_error_http_status(err));
        jwtgate_error_free(err);
        rc = 1;
    }
    jwtgate_validator_free(v);
    return rc;
}
